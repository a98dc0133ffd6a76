/**
 * The backend's answers (PROTOCOL.md, "Backend proxies"), read strictly: anything not in the
 * documented shape is a {@link BackendAnswerError} (logged; the call counts as "backend
 * unavailable"), never a guess that lets a connection in.
 */
import type { ConnectVerdict, SubscribeVerdict } from '../session/proxy-hooks.js';
import { checkUid } from '../util/topic-rules.js';
import { BackendAnswerError } from './http-transport.js';

/** The refusal's reason prefix (proxy-hooks.ts). */
export const REFUSED = 'refused by the backend';

/**
 * A backend reason is quoted into a 30008 detail or a close frame's reason (at most 123 bytes,
 * RFC 6455 §5.5): kept to this many UTF-8 bytes after the prefix.
 */
const MAX_REASON_BYTES = 96;

/** Below this, an `expireAt` is taken for epoch seconds (2001 in ms), a mistake to report, not a time. */
const MIN_EPOCH_MS = 1e12;

/** Most initial subscriptions one connect answer may carry. */
export const MAX_INITIAL_SUBSCRIPTIONS = 1000;

type Json = Record<string, unknown>;

/** `{"result":{"expireAt"?}}` → allowed; `{"error":{"code","message"}}` → refused. */
export function parseSubscribeAnswer(answer: unknown): SubscribeVerdict {
  const body = object(answer, 'answer');
  const refusal = refusalOf(body, false);
  if (refusal !== undefined) return { allowed: false, reason: refusal };
  const result = object(body.result, 'result');
  const expiresAt = expiry(result.expireAt);
  return expiresAt === undefined ? { allowed: true } : { allowed: true, expiresAt };
}

/**
 * `{"result":{"uid"?,"expireAt"?,"subscriptions"?}}` → allowed; `{"error":…}` or
 * `{"disconnect":{"code","reason"}}` → refused (close 4500).
 */
export function parseConnectAnswer(answer: unknown): ConnectVerdict {
  const body = object(answer, 'answer');
  const refusal = refusalOf(body, true);
  if (refusal !== undefined) return { allowed: false, unavailable: false, reason: refusal };
  const result = object(body.result, 'result');
  const verdict: { allowed: true; uid?: string; expiresAt?: number; subscriptions?: { topic: string; private: boolean }[] } = {
    allowed: true,
  };
  if (result.uid !== undefined && result.uid !== null && result.uid !== '') {
    const problem = checkUid(result.uid);
    if (problem !== undefined) throw new BackendAnswerError(`result.uid: ${problem}`);
    verdict.uid = result.uid as string;
  }
  const expiresAt = expiry(result.expireAt);
  if (expiresAt !== undefined) verdict.expiresAt = expiresAt;
  if (result.subscriptions !== undefined && result.subscriptions !== null) {
    verdict.subscriptions = subscriptions(result.subscriptions);
    if (verdict.subscriptions.some((s) => s.private) && verdict.uid === undefined) {
      throw new BackendAnswerError('result.subscriptions: a private subscription needs result.uid');
    }
  }
  return verdict;
}

/** The refusal's reason when the answer refuses, undefined when it does not. */
function refusalOf(body: Json, disconnectAllowed: boolean): string | undefined {
  if (body.error !== undefined && body.error !== null) {
    const error = object(body.error, 'error');
    return refusedReason(error.message, 'error.message');
  }
  if (disconnectAllowed && body.disconnect !== undefined && body.disconnect !== null) {
    const disconnect = object(body.disconnect, 'disconnect');
    return refusedReason(disconnect.reason, 'disconnect.reason');
  }
  return undefined;
}

function refusedReason(message: unknown, where: string): string {
  if (message === undefined || message === null || message === '') return REFUSED;
  if (typeof message !== 'string') throw new BackendAnswerError(`${where} must be a string`);
  return `${REFUSED}: ${truncateUtf8(message, MAX_REASON_BYTES)}`;
}

function subscriptions(value: unknown): { topic: string; private: boolean }[] {
  if (!Array.isArray(value)) throw new BackendAnswerError('result.subscriptions must be an array');
  if (value.length > MAX_INITIAL_SUBSCRIPTIONS) {
    throw new BackendAnswerError(`result.subscriptions has more than ${MAX_INITIAL_SUBSCRIPTIONS} entries`);
  }
  return value.map((item, i) => {
    const entry = object(item, `result.subscriptions[${i}]`);
    if (typeof entry.topic !== 'string' || entry.topic === '') {
      throw new BackendAnswerError(`result.subscriptions[${i}].topic must be a non-empty string`);
    }
    if (entry.private !== undefined && entry.private !== null && typeof entry.private !== 'boolean') {
      throw new BackendAnswerError(`result.subscriptions[${i}].private must be a boolean`);
    }
    return { topic: entry.topic, private: entry.private === true };
  });
}

function expiry(value: unknown): number | undefined {
  if (value === undefined || value === null || value === 0) return undefined;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < MIN_EPOCH_MS) {
    throw new BackendAnswerError(`result.expireAt must be epoch milliseconds, got ${JSON.stringify(value)}`);
  }
  return value;
}

function object(value: unknown, where: string): Json {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new BackendAnswerError(`${where} must be an object, got ${describe(value)}`);
  }
  return value as Json;
}

function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 80 ? `${text.slice(0, 80)}…` : text;
}

/** The longest prefix of `text` within `maxBytes` UTF-8 bytes, cut between code points. */
export function truncateUtf8(text: string, maxBytes: number): string {
  if (Buffer.byteLength(text) <= maxBytes) return text;
  let bytes = 0;
  let end = 0;
  for (const char of text) {
    const size = Buffer.byteLength(char);
    if (bytes + size > maxBytes - 3) break;
    bytes += size;
    end += char.length;
  }
  return `${text.slice(0, end)}…`;
}
