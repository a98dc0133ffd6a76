import { HandshakeError } from '../protocol/errors.js';
import type { HttpStreamRequest } from '../gateway/http-stream.js';
import { parseSince, type ResumePosition } from './resume.js';

/** One subscription an HTTP stream asks for. */
export interface StreamSubscription {
  readonly topic: string;
  readonly isPrivate: boolean;
  /** Resume from here (NDJSON's `since`, SSE's cursor entry); undefined: live from now. */
  readonly since: ResumePosition | undefined;
}

/** A validated `GET /v1/sse` or `POST /v1/stream`. */
export interface ParsedStreamRequest {
  readonly token: string | undefined;
  /** In the cursor's canonical order: public topics as given, then private ones (each once). */
  readonly subscriptions: StreamSubscription[];
  /** SSE: the request named a cursor (Last-Event-ID / lastEventId). */
  readonly resumed: boolean;
}

const SSE_PARAMETERS = new Set(['topic', 'private', 'token', 'lastEventId']);
/** A cursor entry: `<seq>:<epoch>` (PROTOCOL.md); epochs are base64url with dots. */
const CURSOR_ENTRY = /^(\d{1,15}):([A-Za-z0-9._~-]{1,64})$/;

function bad(code: string, message: string, status = 400): HandshakeError {
  return new HandshakeError(status, code, message);
}

/** The bearer token of an `Authorization` header, if any (RFC 6750 §2.1). */
function bearerOf(request: HttpStreamRequest): string | undefined {
  const header = request.headers.get('authorization');
  const match = header === undefined ? null : /^Bearer +(\S+)$/i.exec(header);
  return match === null ? undefined : match[1];
}

/** Check `GET /v1/sse`'s query and cursor; a HandshakeError says what to answer. */
export function parseSseRequest(request: HttpStreamRequest, maxSubscriptions: number): ParsedStreamRequest | HandshakeError {
  let params: URLSearchParams;
  try {
    params = new URLSearchParams(request.query);
  } catch {
    return bad('BAD_REQUEST', 'malformed query string');
  }
  for (const name of params.keys()) {
    if (!SSE_PARAMETERS.has(name)) return bad('BAD_REQUEST', `unknown query parameter ${JSON.stringify(name)}`);
  }
  const topics = [...new Set(params.getAll('topic'))];
  const privates = [...new Set(params.getAll('private'))];
  const total = topics.length + privates.length;
  if (total === 0) return bad('NO_TOPIC', 'name at least one topic (?topic=…) or private topic (?private=…)');
  if (total > maxSubscriptions) return bad('TOO_MANY_TOPICS', `at most ${maxSubscriptions} topics per connection`);
  if (params.getAll('token').length > 1) return bad('BAD_REQUEST', 'token given twice');
  const token = bearerOf(request) ?? params.get('token') ?? undefined;
  if (privates.length > 0 && token === undefined) {
    return bad('TOKEN_REQUIRED', 'private topics need a token (?token=… or Authorization: Bearer …)', 401);
  }
  const cursor = request.headers.get('last-event-id') ?? params.get('lastEventId') ?? undefined;
  const positions = cursor === undefined || cursor === '' ? undefined : parseCursor(cursor, total);
  if (positions === null) {
    return bad('BAD_LAST_EVENT_ID', `the cursor must hold ${total} entries "<seq>:<epoch>" (or empty) joined by ","`);
  }
  const subscriptions: StreamSubscription[] = [];
  topics.forEach((topic, i) => subscriptions.push({ topic, isPrivate: false, since: positions?.[i] }));
  privates.forEach((topic, i) => subscriptions.push({ topic, isPrivate: true, since: positions?.[topics.length + i] }));
  return { token, subscriptions, resumed: positions !== undefined };
}

/** One position per stream, undefined for an empty entry; null when malformed. */
function parseCursor(cursor: string, streams: number): (ResumePosition | undefined)[] | null {
  const entries = cursor.split(',');
  if (entries.length !== streams) return null;
  const positions: (ResumePosition | undefined)[] = [];
  for (const entry of entries) {
    if (entry === '') {
      positions.push(undefined);
      continue;
    }
    const match = CURSOR_ENTRY.exec(entry);
    if (match === null || !Number.isSafeInteger(Number(match[1]))) return null;
    positions.push({ seq: Number(match[1]), epoch: match[2] });
  }
  return positions;
}

const BODY_FIELDS = new Set(['token', 'subscriptions']);
const SUBSCRIPTION_FIELDS = new Set(['topic', 'private', 'since']);

/** Check `POST /v1/stream`'s JSON body; a HandshakeError says what to answer. */
export function parseStreamBody(request: HttpStreamRequest, maxSubscriptions: number): ParsedStreamRequest | HandshakeError {
  let body: unknown;
  try {
    body = JSON.parse(request.body.toString('utf8'));
  } catch {
    return bad('BAD_BODY', 'the body is not JSON');
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return bad('BAD_BODY', 'the body must be a JSON object');
  for (const key of Object.keys(body)) if (!BODY_FIELDS.has(key)) return bad('BAD_BODY', `unknown field ${JSON.stringify(key)}`);
  const { token, subscriptions } = body as { token?: unknown; subscriptions?: unknown };
  if (token !== undefined && (typeof token !== 'string' || token === '')) return bad('BAD_BODY', 'token must be a non-empty string');
  if (!Array.isArray(subscriptions) || subscriptions.length === 0) return bad('BAD_BODY', 'subscriptions must be a non-empty array');
  if (subscriptions.length > maxSubscriptions) return bad('TOO_MANY_TOPICS', `at most ${maxSubscriptions} subscriptions per connection`);
  const parsed: StreamSubscription[] = [];
  for (const [i, entry] of subscriptions.entries()) {
    const problem = checkSubscription(entry);
    if (problem !== undefined) return bad('BAD_BODY', `subscriptions[${i}]: ${problem}`);
    const { topic, private: isPrivate, since } = entry as { topic: string; private?: boolean; since?: unknown };
    parsed.push({ topic, isPrivate: isPrivate === true, since: parseSince(since) ?? undefined });
  }
  return { token: (token as string | undefined) ?? bearerOf(request), subscriptions: parsed, resumed: false };
}

function checkSubscription(entry: unknown): string | undefined {
  if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) return 'must be an object';
  for (const key of Object.keys(entry)) if (!SUBSCRIPTION_FIELDS.has(key)) return `unknown field ${JSON.stringify(key)}`;
  const { topic, private: isPrivate, since } = entry as Record<string, unknown>;
  if (typeof topic !== 'string') return 'topic must be a string';
  if (isPrivate !== undefined && typeof isPrivate !== 'boolean') return 'private must be a boolean';
  if (parseSince(since) === null) return 'since must be {"seq": <integer ≥ 0>, "epoch": "<string>"}';
  return undefined;
}
