import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { EngineUnavailableError } from '../engine/engine.js';
import { ApiError, errorResponse, sendError, sendJson, type PageRoutes } from './http-errors.js';
import type { HeraldMetrics } from './metrics.js';
import type { PushAuthenticator, PushRateLimiter } from './push-auth.js';
import type { ServerApi } from './server-api.js';
import { browserRefusal } from './cross-site.js';
import { acceptBatch, type BatchResult, type PublishPush } from './push-publisher.js';
import { parsePushData, type PushLimits } from './push-request.js';
import { readStats } from './stats.js';
import { stageTiming } from '../util/stage-timing.js';

/** Options of an {@link HttpPushApi}. */
export interface HttpPushApiOptions {
  /** Hand a validated push to the engine (see PublishPush: synchronous when the engine is). */
  publish: PublishPush;
  limits: PushLimits;
  /** Most items in one `POST /v1/push` (413 beyond): `--max-batch-items`. */
  maxBatchItems: number;
  /**
   * Time a request has to send its headers, and then its body (408 beyond):
   * `--push-request-timeout`. A body trickled or left unfinished must not keep its
   * buffered chunks alive (300 such requests held 1.4 MB each).
   */
  requestTimeoutMs: number;
  metrics: HeraldMetrics;
  /** Checks `Authorization: Bearer …` on the push routes; none → open. Health and metrics stay open. */
  auth?: PushAuthenticator;
  /** Requests per second per token; none → unlimited. */
  rateLimiter?: PushRateLimiter;
  /** Readiness for `/readyz`. */
  isReady(): boolean;
  /** Serve HTTPS with this certificate and key (PEM). */
  tls?: { cert: Buffer | string; key: Buffer | string };
  /** Report an unexpected failure (a bug): the request gets 500. */
  onError?(error: unknown): void;
  /** Pages served beside the API (the web console). */
  pages?: PageRoutes;
  /** The server API's routes (`/v1/disconnect`, `/v1/presence`, …), served on this listener. */
  serverApi?: ServerApi;
}

/**
 * The HTTP side of the push API: gpush's `POST /v1/pushData`, Herald's batch
 * `POST /v1/push`, and `GET /healthz`, `/readyz`, `/metrics`, plus the web
 * console (`GET /console`, its assets, and `GET /v1/stats`). Every failure is
 * answered with a status and `{"error":{"code","message"}}`.
 */
export class HttpPushApi {
  readonly server: Server | HttpsServer;
  private readonly options: HttpPushApiOptions;
  private readonly maxBatchItems: number;
  private readonly maxSingleBody: number;
  private readonly maxBatchBody: number;
  private readonly requestTimeoutMs: number;

  constructor(options: HttpPushApiOptions) {
    this.options = options;
    this.maxBatchItems = options.maxBatchItems;
    // Base64 inflates by 4/3; leave room for the JSON around it.
    this.maxSingleBody = Math.ceil((options.limits.maxPushBytes * 4) / 3) + 4096;
    this.maxBatchBody = this.maxSingleBody * 8;
    const timeout = (this.requestTimeoutMs = options.requestTimeoutMs);
    const handler = (req: IncomingMessage, res: ServerResponse): void => {
      this.route(req, res).catch((error: unknown) => this.failed(res, error));
    };
    // Node enforces these only when it checks its connections (every 30 s by default, which let unfinished
    // requests live ~56 s): check every second. The body has its own deadline (readJson), answered with
    // our JSON 408; requestTimeout is the backstop for anything that escapes it (Node's bare 408).
    const timeouts = {
      headersTimeout: timeout,
      requestTimeout: 2 * timeout + 1_000,
      connectionsCheckingInterval: Math.min(1_000, timeout),
    };
    this.server = options.tls === undefined ? createServer(timeouts, handler) : createHttpsServer({ ...options.tls, ...timeouts }, handler);
    this.server.on('clientError', answerClientError);
    // Node hands CONNECT (a tunnel request, RFC 9110 §9.3.6) to this event and, without a listener, drops
    // the connection unanswered; no route here is a tunnel.
    this.server.on('connect', (_req: IncomingMessage, socket: Duplex) => {
      socket.end(errorResponse(new ApiError(405, 'METHOD_NOT_ALLOWED', 'CONNECT is not served here')), () => socket.destroy());
    });
  }

  listen(port: number, host: string): Promise<AddressInfo> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.off('error', reject);
        resolve(this.server.address() as AddressInfo);
      });
    });
  }

  /** Replace the HTTPS certificate for new connections (SIGHUP reload). */
  setSecureContext(pair: { cert: Buffer | string; key: Buffer | string }): void {
    if ('setSecureContext' in this.server) this.server.setSecureContext(pair);
  }

  /**
   * Stop accepting, let requests in progress finish for up to `graceMs`, then
   * cut every connection (a keep-alive client polling /v1/stats would otherwise
   * keep a stopped node's API alive).
   */
  close(graceMs = 500): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => this.server.closeAllConnections(), graceMs);
      timer.unref();
      this.server.close(() => {
        clearTimeout(timer);
        resolve();
      });
      this.server.closeIdleConnections();
    });
  }

  private async route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?', 1)[0];
    const refusal = this.options.auth === undefined || this.options.auth.open ? browserRefusal(req) : undefined;
    if (refusal !== undefined) {
      req.resume();
      return sendError(res, new ApiError(403, 'FORBIDDEN_ORIGIN', refusal));
    }
    switch (path) {
      case '/v1/pushData':
        return this.post(req, res, () => this.pushData(req, res));
      case '/v1/push':
        return this.post(req, res, () => this.pushBatch(req, res));
      case '/healthz':
        return this.get(req, res, () => sendJson(res, 200, { status: 'ok' }));
      case '/readyz':
        return this.get(req, res, () =>
          this.options.isReady() ? sendJson(res, 200, { status: 'ready' }) : sendJson(res, 503, { status: 'not ready' }),
        );
      case '/metrics':
        return this.get(req, res, async () => {
          const text = await this.options.metrics.render();
          res.writeHead(200, { 'Content-Type': this.options.metrics.contentType });
          res.end(text);
        });
      case '/v1/stats':
        return this.get(req, res, async () => sendJson(res, 200, await readStats(this.options.metrics), { 'Cache-Control': 'no-store' }));
      default:
        if (this.options.serverApi?.handles(path) === true) return this.options.serverApi.serve(req, res, path);
        if (this.options.pages?.matches(path) === true) {
          const pages = this.options.pages;
          return this.get(req, res, () => pages.serve(path, res, { pushAuth: this.options.auth?.open === false }));
        }
        req.resume();
        return sendError(res, new ApiError(404, 'NOT_FOUND', `no route ${path}`));
    }
  }

  private async post(req: IncomingMessage, res: ServerResponse, handle: () => Promise<void>): Promise<void> {
    if (req.method !== 'POST') {
      req.resume();
      return sendError(res, new ApiError(405, 'METHOD_NOT_ALLOWED', 'use POST'));
    }
    const key = this.options.auth === undefined ? -1 : this.options.auth.identifyAuthorization(req.headers.authorization);
    if (key === undefined) {
      req.resume();
      this.options.metrics.pushesTotal.inc({ api: 'http', result: 'unauthenticated' });
      // RFC 6750 §3: a 401 names the scheme in WWW-Authenticate.
      return sendError(res, new ApiError(401, 'UNAUTHENTICATED', 'missing or invalid bearer token'), {
        'WWW-Authenticate': 'Bearer realm="herald"',
      });
    }
    if (this.options.rateLimiter !== undefined && !this.options.rateLimiter.take(key)) {
      req.resume();
      this.options.metrics.pushesTotal.inc({ api: 'http', result: 'rate_limited' });
      return sendError(res, new ApiError(429, 'RATE_LIMITED', 'too many push requests for this token'), { 'Retry-After': '1' });
    }
    try {
      await handle();
    } catch (error) {
      if (error instanceof ApiError) return sendError(res, error);
      throw error;
    }
  }

  private async get(req: IncomingMessage, res: ServerResponse, handle: () => void | Promise<void>): Promise<void> {
    req.resume();
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      return sendError(res, new ApiError(405, 'METHOD_NOT_ALLOWED', 'use GET'));
    }
    await handle();
  }

  private async pushData(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const sample = stageTiming === null ? null : stageTiming.begin();
    const body = await readJson(req, this.maxSingleBody, this.requestTimeoutMs);
    const publication = parsePushData(body, this.options.limits);
    try {
      if (sample === null) {
        await this.options.publish(publication);
      } else {
        // Stage timing (util/stage-timing.ts): the memory engine fans out within this call, stamped as `current`.
        const timing = stageTiming as NonNullable<typeof stageTiming>;
        timing.parsed(sample, publication.data);
        timing.current = sample;
        let published: Promise<void> | undefined;
        try {
          published = this.options.publish(publication);
        } finally {
          timing.current = null;
        }
        await published;
      }
    } catch (error) {
      this.options.metrics.pushesTotal.inc({ api: 'http', result: 'unavailable' });
      throw unavailable(error);
    }
    this.options.metrics.pushesTotal.inc({ api: 'http', result: 'ok' });
    sendJson(res, 200, {});
    if (sample !== null) stageTiming?.answered(sample);
  }

  private async pushBatch(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await readJson(req, this.maxBatchBody, this.requestTimeoutMs);
    if (!Array.isArray(body)) throw new ApiError(400, 'BAD_REQUEST', 'body must be a JSON array of pushes');
    if (body.length > this.maxBatchItems) {
      throw new ApiError(413, 'TOO_MANY_ITEMS', `a batch holds at most ${this.maxBatchItems} items`);
    }
    const accepting = acceptBatch(body, this.options.limits, this.options.publish);
    const outcome = accepting instanceof Promise ? await accepting : accepting;
    const metrics = this.options.metrics.pushesTotal;
    if (outcome.accepted > 0) metrics.inc({ api: 'http_batch', result: 'ok' }, outcome.accepted);
    if (outcome.failed > 0) metrics.inc({ api: 'http_batch', result: 'failed' }, outcome.failed);
    if (outcome.failed === 0) sendAllAccepted(res, outcome.accepted);
    else if (outcome.accepted === 0 && outcome.results.every(isUnavailable)) {
      // Nothing was taken because the engine is down: a status a backend can act on (retry later), as
      // /v1/pushData answers, with the usual error object beside the per-item results.
      const first = outcome.results[0] as Extract<BatchResult, { ok: false }>;
      sendJson(res, 503, { error: { code: 'UNAVAILABLE', message: first.error.message }, ...outcome }, { 'Retry-After': '1' });
    } else sendJson(res, 200, outcome);
  }

  private failed(res: ServerResponse, error: unknown): void {
    this.options.onError?.(error);
    if (res.headersSent) {
      res.destroy();
      return;
    }
    sendError(res, new ApiError(500, 'INTERNAL', 'internal error'));
  }
}

/**
 * A request Node's HTTP parser refused before any handler saw it — an invalid or repeated
 * Content-Length, Content-Length with Transfer-Encoding (a smuggling shape, RFC 9112 §6.1), a bad
 * chunk size, a control character in a header, headers over the size limit or late — answered with
 * the same JSON error body as every other refusal, where Node would send a bare status line. As
 * Node does, nothing is written once a response on this connection has started (it would corrupt
 * it) or when the peer is gone; the connection is then closed.
 */
function answerClientError(error: Error & { code?: string }, socket: Duplex): void {
  const inFlight = (socket as Duplex & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
  if (error.code !== 'ECONNRESET' && socket.writable && inFlight?.headersSent !== true) {
    const [status, code, message] = clientErrorAnswer(error);
    socket.write(errorResponse(new ApiError(status, code, message)));
  }
  socket.destroy();
}

function clientErrorAnswer(error: Error & { code?: string }): [number, string, string] {
  switch (error.code) {
    case 'HPE_HEADER_OVERFLOW':
      return [431, 'HEADERS_TOO_LARGE', 'request headers are too large'];
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return [408, 'REQUEST_TIMEOUT', 'request headers not received in time'];
    default: {
      // llhttp names what it refused ("Invalid character in Content-Length", "Content-Length can't be present with Transfer-Encoding").
      const reason = (error as { reason?: unknown }).reason;
      return [400, 'BAD_REQUEST', `malformed HTTP request${typeof reason === 'string' ? `: ${reason}` : ''}`];
    }
  }
}

/** The answer to a batch of n items all accepted, by n (at most --max-batch-items entries): the same bytes every time. */
const allAccepted = new Map<number, Buffer>();

/** `{"accepted":n,"failed":0,"results":[{"ok":true},…]}`, serialised once per batch size, not per request. */
function sendAllAccepted(res: ServerResponse, n: number): void {
  let body = allAccepted.get(n);
  if (body === undefined) {
    body = Buffer.from(JSON.stringify({ accepted: n, failed: 0, results: new Array(n).fill({ ok: true }) }));
    if (allAccepted.size < 4096) allAccepted.set(n, body);
  }
  res.writeHead(200, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': body.length });
  res.end(body);
}

function unavailable(error: unknown): ApiError {
  if (error instanceof EngineUnavailableError) return new ApiError(503, 'UNAVAILABLE', error.message);
  throw error;
}

/**
 * Read a JSON body of at most `limit` bytes within `timeoutMs`: 413 beyond the
 * size (from Content-Length when given, before anything is buffered), 408
 * past the time, 400 if not JSON. On a refusal or an aborted request the
 * chunks read so far are let go at once, not when the socket finally closes.
 */
export function readJson(req: IncomingMessage, limit: number, timeoutMs: number): Promise<unknown> {
  const tooLarge = () => new ApiError(413, 'BODY_TOO_LARGE', `request body exceeds ${limit} bytes`);
  if (Number(req.headers['content-length']) > limit) {
    req.resume();
    return Promise.reject(tooLarge());
  }
  return new Promise((resolve, reject) => {
    let chunks: Buffer[] = [];
    let size = 0;
    /** Stop buffering and answer `error`; what is still sent is drained unread (the 413/408 closes the connection). */
    const refuse = (error: ApiError): void => {
      clearTimeout(timer);
      chunks = [];
      req.off('data', onData);
      req.off('end', onEnd);
      req.resume();
      reject(error);
    };
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size <= limit) chunks.push(chunk);
      else refuse(tooLarge());
    };
    const onEnd = (): void => {
      clearTimeout(timer);
      const body = Buffer.concat(chunks, size);
      chunks = [];
      try {
        resolve(JSON.parse(body.toString('utf8')));
      } catch {
        reject(new ApiError(400, 'INVALID_JSON', 'request body is not valid JSON'));
      }
    };
    const timer = setTimeout(() => refuse(new ApiError(408, 'REQUEST_TIMEOUT', `request body not received within ${timeoutMs} ms`)), timeoutMs);
    req.on('data', onData);
    req.on('end', onEnd);
    // The client went away mid-body: nobody is left to answer, but the chunks must not wait for the GC of the socket.
    req.once('close', () => {
      if (req.complete) return;
      refuse(new ApiError(400, 'ABORTED', 'request aborted by the client'));
    });
    req.once('error', () => undefined);
  });
}

function isUnavailable(result: BatchResult): boolean {
  return !result.ok && result.error.code === 'UNAVAILABLE';
}
