import type { IncomingMessage, ServerResponse } from 'node:http';
import { EngineUnavailableError, type StreamPosition } from '../engine/engine.js';
import { ApiError, sendError, sendJson } from './http-errors.js';
import type { PushAuthenticator, PushRateLimiter } from './push-auth.js';
import type { ServerOperations } from './server-operations.js';

/** Options of a {@link ServerApi}. */
export interface ServerApiOptions {
  /** The operations; undefined → every route answers 501 (an embedder's PushApis built without a control plane). */
  operations: ServerOperations | undefined;
  /** The push APIs' bearer-token check; none → open. */
  auth?: PushAuthenticator;
  /** The push APIs' per-token rate limit (shared with them). */
  rateLimiter?: PushRateLimiter;
  /** Read a JSON body of at most `limit` bytes (the push API's reader: 413, 408, 400 INVALID_JSON). */
  readJson(req: IncomingMessage, limit: number): Promise<unknown>;
}

type Method = 'GET' | 'POST';
interface Route {
  method: Method;
  /** Accepted body fields (POST) or query parameters (GET); anything else is a 400. */
  fields: readonly string[];
  handle(ops: ServerOperations, input: Record<string, unknown>, res: ServerResponse): Promise<void>;
}

/** A JSON body of the server API is a few fields: uid (≤ 1024 characters), topic, reason. */
const MAX_BODY_BYTES = 64 * 1024;

/**
 * The HTTP server API (PROTOCOL.md, "Server API"), on the push API's listener
 * with its bearer tokens and rate limit: disconnect, server-side
 * subscribe/unsubscribe, presence, presence stats, channels, history, history
 * removal, info. Every input is checked before anything is done: a bad one is
 * a 400 with `{"error":{"code","message"}}` and touches nothing.
 */
export class ServerApi {
  private readonly options: ServerApiOptions;
  private readonly routes: ReadonlyMap<string, Route>;

  constructor(options: ServerApiOptions) {
    this.options = options;
    this.routes = new Map<string, Route>([
      ['/v1/disconnect', post(['uid', 'code', 'reason', 'client'], async (ops, input, res) => {
        sendJson(res, 200, { disconnected: await ops.disconnect(input as { uid: unknown }) });
      })],
      ['/v1/subscribe', post(['uid', 'topic', 'private'], async (ops, input, res) => {
        sendJson(res, 200, { subscribed: await ops.subscription('subscribe', input as { uid: unknown; topic: unknown }) });
      })],
      ['/v1/unsubscribe', post(['uid', 'topic', 'private'], async (ops, input, res) => {
        sendJson(res, 200, { unsubscribed: await ops.subscription('unsubscribe', input as { uid: unknown; topic: unknown }) });
      })],
      ['/v1/history-remove', post(['topic', 'uid'], async (ops, input, res) => {
        await ops.removeHistory(input as { topic: unknown });
        sendJson(res, 200, {});
      })],
      ['/v1/presence', get(['topic', 'limit'], async (ops, input, res) => {
        sendJson(res, 200, { clients: await ops.presence(input.topic, queryInteger(input.limit, 'limit')) });
      })],
      ['/v1/presence-stats', get(['topic'], async (ops, input, res) => {
        sendJson(res, 200, await ops.presenceStats(input.topic));
      })],
      ['/v1/channels', get(['pattern', 'cursor', 'limit'], async (ops, input, res) => {
        sendJson(res, 200, await ops.channels(input.pattern, input.cursor, queryInteger(input.limit, 'limit')));
      })],
      ['/v1/history', get(['topic', 'uid', 'since', 'limit'], async (ops, input, res) => {
        const since = parseSince(input.since);
        const reply = await ops.history({ topic: input.topic, uid: input.uid, since, limit: queryInteger(input.limit, 'limit') });
        const publications = reply.publications.map(({ bytes: _bytes, ...rest }) => rest);
        sendJson(res, 200, { publications, position: reply.position, recovered: reply.recovered });
      })],
      ['/v1/info', get([], async (ops, _input, res) => {
        sendJson(res, 200, { nodes: await ops.info() });
      })],
    ]);
  }

  /** Whether `path` is a server API route. */
  handles(path: string): boolean {
    return this.routes.has(path);
  }

  /** Serve a request for a path {@link handles} accepted; failures are ApiErrors sent as JSON. */
  async serve(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
    const route = this.routes.get(path) as Route;
    try {
      await this.run(route, req, res);
    } catch (error) {
      // The control plane or the engine cannot answer now (Redis down): the caller may retry.
      const refusal = error instanceof EngineUnavailableError ? new ApiError(503, 'UNAVAILABLE', error.message) : error;
      if (!(refusal instanceof ApiError)) throw error;
      req.resume();
      sendError(res, refusal);
    }
  }

  private async run(route: Route, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const method = req.method === 'HEAD' ? 'GET' : req.method;
    if (method !== route.method) {
      throw new ApiError(405, 'METHOD_NOT_ALLOWED', `use ${route.method}`);
    }
    const key = this.options.auth === undefined ? -1 : this.options.auth.identifyAuthorization(req.headers.authorization);
    if (key === undefined) {
      req.resume();
      // RFC 6750 §3: a 401 names the scheme in WWW-Authenticate.
      return sendError(res, new ApiError(401, 'UNAUTHENTICATED', 'missing or invalid bearer token'), {
        'WWW-Authenticate': 'Bearer realm="herald"',
      });
    }
    if (this.options.rateLimiter !== undefined && !this.options.rateLimiter.take(key)) {
      req.resume();
      return sendError(res, new ApiError(429, 'RATE_LIMITED', 'too many requests for this token'), { 'Retry-After': '1' });
    }
    const ops = this.options.operations;
    if (ops === undefined) {
      throw new ApiError(501, 'NOT_IMPLEMENTED', 'the server API is not available here (no control plane was configured)');
    }
    const input = route.method === 'POST' ? await this.body(req, route.fields) : query(req.url ?? '', route.fields);
    await route.handle(ops, input, res);
  }

  private async body(req: IncomingMessage, fields: readonly string[]): Promise<Record<string, unknown>> {
    const body = await this.options.readJson(req, MAX_BODY_BYTES);
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      throw new ApiError(400, 'BAD_REQUEST', 'body must be a JSON object');
    }
    for (const name of Object.keys(body)) {
      // A misspelt field ("privat") must not silently mean its default.
      if (!fields.includes(name)) throw new ApiError(400, 'BAD_REQUEST', `unknown field "${name}" (accepted: ${fields.join(', ')})`);
    }
    return body as Record<string, unknown>;
  }
}

function post(fields: readonly string[], handle: Route['handle']): Route {
  return { method: 'POST', fields, handle };
}
function get(fields: readonly string[], handle: Route['handle']): Route {
  return { method: 'GET', fields, handle };
}

/** The query parameters of `url` as strings; unknown or repeated ones are a 400. */
function query(url: string, fields: readonly string[]): Record<string, unknown> {
  const at = url.indexOf('?');
  const params = new URLSearchParams(at < 0 ? '' : url.slice(at + 1));
  const input: Record<string, unknown> = {};
  for (const [name, value] of params) {
    if (!fields.includes(name)) {
      throw new ApiError(400, 'BAD_REQUEST', `unknown parameter "${name}"${fields.length > 0 ? ` (accepted: ${fields.join(', ')})` : ''}`);
    }
    if (name in input) throw new ApiError(400, 'BAD_REQUEST', `parameter "${name}" given more than once`);
    input[name] = value;
  }
  return input;
}

/** A decimal integer query parameter (the operation checks its range); undefined when absent. */
function queryInteger(value: unknown, name: string): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || !/^[0-9]{1,9}$/.test(value)) {
    throw new ApiError(400, name === 'limit' ? 'INVALID_LIMIT' : 'BAD_REQUEST', `${name} must be a decimal integer`);
  }
  return Number(value);
}

/** `since=<seq>:<epoch>` (a stream position, as herald.v1 envelopes carry it); undefined when absent. */
function parseSince(value: unknown): StreamPosition | undefined {
  if (value === undefined) return undefined;
  const match = typeof value === 'string' ? /^([0-9]{1,16}):([A-Za-z0-9_.-]{1,64})$/.exec(value) : null;
  const seq = match === null ? NaN : Number(match[1]);
  if (match === null || !Number.isSafeInteger(seq)) {
    throw new ApiError(400, 'INVALID_SINCE', 'since must be <seq>:<epoch>, a position from a delivery or a previous history reply');
  }
  return { seq, epoch: match[2] };
}
