import type { IncomingMessage, Server as HttpServer } from 'node:http';
import { createServer, type AddressInfo, type Server as NetServer, type Socket } from 'node:net';
import { createServer as createTlsServer, type Server as TlsServer } from 'node:tls';
import type { Duplex } from 'node:stream';
import { CloseCode } from '../protocol/constants.js';
import { HandshakeError } from '../protocol/errors.js';
import { negotiatePerMessageDeflate } from '../protocol/permessage-deflate.js';
import {
  buildRejectionResponse,
  buildUpgradeResponse,
  findHeadEnd,
  parseRequestHead,
  validateUpgrade,
  type RequestHead,
  type UpgradeRequest,
} from '../protocol/upgrade-request.js';
import { ConnectionLimiter, OriginPolicy } from './connection-limits.js';
import { ConnectionState, type ConnectionOwner, type WebSocketConnection } from './connection.js';
import { FlushScheduler } from './flush-scheduler.js';
import { HttpStream, Wire, type HttpStreamRequest, type WireTotals } from './http-stream.js';
import { checkStreamRequest, streamMethodOf, streamWireOf } from './http-stream-request.js';
import { preflightResponse, type CorsOrigin } from '../protocol/event-stream.js';
import { stageTiming } from '../util/stage-timing.js';
import { checkOpenConnection, messageStarted, type LivenessPolicy } from './liveness.js';
import { NetSocketConnection } from './net-socket-connection.js';
import { PartialHead } from './partial-head.js';
import { listenOnRawHandle, listenRawTcp, type RawTcpListener, type TcpHandle } from './raw-tcp.js';
import { RawTcpConnection } from './raw-tcp-connection.js';
import { WEBSOCKET_SERVER_DEFAULTS, type ConnectionHandler, type WebSocketServerOptions } from './server-options.js';
import { chooseTransport } from './transport-choice.js';
import { TimingWheel } from '../util/timing-wheel.js';
import { LinkedSet } from './connection-list.js';

export type { ConnectionHandler, WebSocketServerOptions } from './server-options.js';

/**
 * A WebSocket server on raw TCP handles or a plain `net.Server` that parses
 * the upgrade request itself (no `http.IncomingMessage` per connection), or
 * attached to an existing `http.Server`'s 'upgrade' event. It accepts,
 * upgrades, admits, dispatches and shuts down. Deadlines (handshake, closing)
 * live on one timing wheel; when queued frames are written (once per
 * connection per turn, the merge window) is the FlushScheduler's business.
 */
export class WebSocketServer implements ConnectionOwner {
  readonly maxBufferedBytes: number;
  /** Connections closed, or sends refused, by the slow-consumer policy. */
  slowConsumerEvents = 0;
  /** Connections refused by a connection limit (503/429). */
  limitRejections = 0;
  /** Plain-HTTP streams by wire (`GET /v1/sse`, `POST /v1/stream`); WebSocket's are the rest. */
  readonly streamTotals: { readonly sse: WireTotals; readonly stream: WireTotals } = {
    sse: { open: 0, opened: 0, messages: 0, bytes: 0, hubBytes: 0 },
    stream: { open: 0, opened: 0, messages: 0, bytes: 0, hubBytes: 0 },
  };
  /** WebSocket upgrades completed. */
  websocketsOpened = 0;
  private readonly handler: ConnectionHandler;
  private readonly path: string | undefined;
  private readonly maxRequestBytes: number;
  private readonly handshakeTimeoutMs: number;
  private readonly closeTimeoutMs: number;
  readonly maxMessageSize: number;
  private readonly idleTimeoutMs: number | undefined;
  private readonly liveness: LivenessPolicy;
  private readonly options: WebSocketServerOptions;
  private readonly wheel: TimingWheel<WebSocketConnection>;
  /** Every admitted socket, in any state (handshake, open, closing). */
  private readonly connections = new LinkedSet<WebSocketConnection>();
  /** Sockets refused at accept (limits, shutdown), until they close. */
  private readonly refused = new Set<WebSocketConnection>();
  private openCount = 0;
  /** When queued frames are written (per-turn flush, slices, merge window): flush-scheduler.ts. */
  private readonly flushes: FlushScheduler;
  private readonly limiter: ConnectionLimiter;
  private readonly originPolicy: OriginPolicy | undefined;
  private netServer: NetServer | TlsServer | null = null;
  private rawListener: RawTcpListener | null = null;
  private closing = false;
  /** Why 'auto' serves on `net`: the raw-handle self-check's failure; undefined otherwise. */
  transportFallbackReason: string | undefined;

  constructor(options: WebSocketServerOptions) {
    this.options = options;
    this.handler = options.handler;
    this.path = options.path;
    const defaults = WEBSOCKET_SERVER_DEFAULTS;
    this.maxRequestBytes = positive(options.maxRequestBytes, defaults.maxRequestBytes, 'maxRequestBytes');
    this.handshakeTimeoutMs = positive(options.handshakeTimeoutMs, defaults.handshakeTimeoutMs, 'handshakeTimeoutMs');
    this.closeTimeoutMs = positive(options.closeTimeoutMs, defaults.closeTimeoutMs, 'closeTimeoutMs');
    this.maxMessageSize = positive(options.maxMessageSize, defaults.maxMessageSize, 'maxMessageSize');
    this.maxBufferedBytes = positive(options.maxBufferedBytes, defaults.maxBufferedBytes, 'maxBufferedBytes');
    const mergeWindowMs = options.mergeWindowMs ?? defaults.mergeWindowMs;
    this.flushes = new FlushScheduler(mergeWindowMs === 0 ? 0 : positive(mergeWindowMs, 0, 'mergeWindowMs'));
    this.idleTimeoutMs = options.idleTimeoutMs === undefined ? undefined : positive(options.idleTimeoutMs, 0, 'idleTimeoutMs');
    this.liveness = {
      idleTimeoutMs: this.idleTimeoutMs,
      idleCloseCode: options.idleCloseCode ?? CloseCode.GoingAway,
      messageTimeoutMs: options.messageTimeoutMs === undefined ? undefined : positive(options.messageTimeoutMs, 0, 'messageTimeoutMs'),
    };
    this.limiter = new ConnectionLimiter(options.limits ?? {});
    this.originPolicy = options.allowedOrigins === undefined ? undefined : new OriginPolicy(options.allowedOrigins);
    this.wheel = new TimingWheel(expireConnection, positive(options.timerResolutionMs, 250, 'timerResolutionMs'));
  }

  /** @internal stamp for received bytes: the tick after the current one, so an idle close is never early. */
  get activityTick(): number {
    return this.wheel.tick + 1;
  }

  /** Connections past their handshake and not yet closed. */
  get connectionCount(): number {
    return this.openCount;
  }

  /** The transport connections are served on: known once listening ('net' for TLS and attach mode). */
  get transport(): 'raw' | 'net' {
    return this.rawListener !== null ? 'raw' : 'net';
  }

  /** Listen on `port` (0 for any) and `host`; resolves with the bound address. */
  async listen(port: number, host = '0.0.0.0'): Promise<AddressInfo> {
    if (this.netServer !== null || this.rawListener !== null) throw new Error('already listening');
    const backlog = this.options.backlog ?? 511;
    const tlsOptions = this.options.tls;
    if (tlsOptions !== undefined) {
      const server = createTlsServer(
        // allowHalfOpen: a peer's FIN must not end our side before what is queued is written (see NetSocketConnection).
        { cert: tlsOptions.cert, key: tlsOptions.key, handshakeTimeout: this.handshakeTimeoutMs, allowHalfOpen: true },
        (socket) => {
          socket.setNoDelay(true);
          this.accept(socket);
        },
      );
      // A failed TLS handshake destroys its socket; nothing else to do, but it must not be an unhandled 'error'.
      server.on('tlsClientError', () => {});
      this.netServer = server;
      return listenNet(server, port, host, backlog);
    }
    const choice = await chooseTransport(this.options.transport ?? WEBSOCKET_SERVER_DEFAULTS.transport, this.options.rawTcpCheck);
    this.transportFallbackReason = choice.fallbackReason;
    if (choice.transport === 'raw') {
      const listener = listenRawTcp(host, port, backlog, (handle) => this.acceptRaw(handle));
      this.rawListener = listener;
      return { address: listener.address, port: listener.port, family: listener.family };
    }
    const server = createServer({ noDelay: true, allowHalfOpen: true }, (socket) => this.accept(socket));
    this.netServer = server;
    return listenNet(server, port, host, backlog);
  }

  /** Replace the wss:// certificate for new connections (SIGHUP reload). */
  setSecureContext(pair: { cert: Buffer | string; key: Buffer | string }): void {
    if (this.netServer !== null && 'setSecureContext' in this.netServer) this.netServer.setSecureContext(pair);
  }

  /**
   * Accept connections on a TCP handle bound elsewhere — the cluster primary
   * binds the port once and every worker listens on the shared handle.
   */
  listenOnHandle(handle: TcpHandle): AddressInfo {
    if (this.netServer !== null || this.rawListener !== null) throw new Error('already listening');
    const listener = listenOnRawHandle(handle, this.options.backlog ?? 511, (client) => this.acceptRaw(client));
    this.rawListener = listener;
    return { address: listener.address, port: listener.port, family: listener.family };
  }

  /** Serve upgrades arriving on an existing HTTP server. */
  attach(httpServer: HttpServer): this {
    httpServer.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => this.handleUpgrade(req, socket, head));
    return this;
  }

  /** Complete (or reject) an upgrade that an `http.Server` has already parsed. */
  handleUpgrade(req: IncomingMessage, duplex: Duplex, head: Buffer): void {
    const socket = duplex as Socket;
    socket.setTimeout(0);
    socket.setNoDelay(true);
    const conn = new NetSocketConnection(socket, this);
    if (!this.admitted(conn)) return;
    const headers = new Map<string, string>();
    for (const [name, value] of Object.entries(req.headers)) {
      if (value !== undefined) headers.set(name, Array.isArray(value) ? value.join(', ') : value);
    }
    const requestHead: RequestHead = {
      method: req.method ?? '',
      target: req.url ?? '',
      httpVersion: req.httpVersion,
      headers,
      hostCount: req.headers.host === undefined ? 0 : 1, originCount: req.headersDistinct.origin?.length ?? 0,
    };
    this.upgrade(conn, requestHead, head);
  }

  private accept(socket: Socket): void {
    this.admit(new NetSocketConnection(socket, this));
  }

  private acceptRaw(handle: TcpHandle): void {
    this.admit(new RawTcpConnection(handle, this));
  }

  private admit(conn: WebSocketConnection): void {
    this.flushes.noteAccept();
    if (!this.admitted(conn)) return;
    this.wheel.scheduleIn(conn, this.handshakeTimeoutMs);
    if (stageTiming !== null) stageTiming.accepted(conn);
  }

  /** Track `conn`, or answer it 503/429 at once if a limit refuses it. */
  private admitted(conn: WebSocketConnection): boolean {
    if (this.closing) {
      this.refuse(conn, new HandshakeError(503, 'SHUTTING_DOWN', 'server is shutting down'));
      return false;
    }
    const ip = this.limiter.tracksIps ? conn.remoteAddress : undefined;
    // Only admitted connections count: refused ones still lingering must not crowd out others.
    const refusal = this.limiter.admit(ip, this.connections.size);
    if (refusal !== undefined) {
      this.limitRejections++;
      this.refuse(conn, refusal);
      return false;
    }
    this.connections.add(conn);
    conn.ip = ip;
    return true;
  }

  /** Answer a connection refused at accept, and let it linger at most a second for the peer to read it. */
  private refuse(conn: WebSocketConnection, error: HandshakeError): void {
    this.refused.add(conn);
    this.reject(conn, error, Math.min(this.closeTimeoutMs, 1000));
  }

  /** @internal bytes of a request head, possibly in many small pieces (kept in one growing buffer). */
  onHandshakeData(conn: WebSocketConnection, chunk: Buffer): void {
    if (conn.stream !== null) return this.onStreamBody(conn, conn.stream, chunk);
    const partial = conn.head;
    const end = partial === null ? findHeadEnd(chunk) : partial.append(chunk);
    const buf = partial === null ? chunk : partial.bytes;
    if (end === -1 ? buf.length > this.maxRequestBytes : end > this.maxRequestBytes) {
      conn.head = null;
      return this.reject(conn, new HandshakeError(431, 'REQUEST_TOO_LARGE', `request head exceeds ${this.maxRequestBytes} bytes`));
    }
    if (end === -1) {
      if (partial === null) conn.head = new PartialHead(chunk, this.maxRequestBytes);
      return;
    }
    conn.head = null;
    let head: RequestHead;
    try {
      head = parseRequestHead(buf.subarray(0, end));
    } catch (error) {
      return this.reject(conn, asHandshakeError(error));
    }
    this.upgrade(conn, head, buf.subarray(end), end);
  }

  private upgrade(conn: WebSocketConnection, head: RequestHead, rest: Buffer, headBytes = 0): void {
    if (this.handler.onHttpStream !== undefined) {
      const wire = streamWireOf(head.target);
      if (wire !== undefined) return this.streamRequest(conn, head, rest, wire, headBytes);
    }
    let request: UpgradeRequest;
    let protocol: string | undefined;
    try {
      request = validateUpgrade(head, { path: this.path });
      if (this.originPolicy !== undefined && !this.originPolicy.allows(request.origin)) {
        throw new HandshakeError(403, 'FORBIDDEN_ORIGIN', 'this origin may not connect');
      }
      this.options.verifyUpgrade?.(request, conn);
      protocol = this.selectProtocol(request);
    } catch (error) {
      // A hook that throws something other than a HandshakeError is a bug: report it, answer 400.
      if (!(error instanceof HandshakeError)) this.reportError(error, undefined);
      return this.reject(conn, asHandshakeError(error), undefined, head.method !== 'HEAD');
    }
    if (this.idleTimeoutMs === undefined) {
      this.wheel.cancel(conn);
    } else {
      // First look at half the timeout: the ping goes out then if the client stays silent (liveness.ts).
      this.wheel.scheduleIn(conn, this.idleTimeoutMs / 2);
      conn.lastActivityTick = this.activityTick;
    }
    const deflate = this.options.perMessageDeflate?.enabled
      ? negotiatePerMessageDeflate(request.extensions, this.options.perMessageDeflate)
      : undefined;
    if (deflate !== undefined) conn.deflate = { params: deflate.params, inflater: null };
    // Queued, not written yet: what onOpen sends (a greeting) goes out in the same write as the 101 (writeHandshake below).
    conn.queueHandshakeResponse(Buffer.from(buildUpgradeResponse(request.key, protocol, deflate?.response), 'latin1'));
    conn.state = ConnectionState.Open;
    conn.protocol = protocol;
    conn.opened = true;
    this.openCount++;
    this.websocketsOpened++;
    if (this.handler.onOpen !== undefined) {
      try {
        this.handler.onOpen(conn, request);
      } catch (error) {
        this.callbackFailed(error, conn);
      }
    }
    // A client may pipeline its first frames right behind the request (§4.1).
    if (rest.length > 0) conn.onData(rest);
    conn.writeHandshake();
    if (stageTiming !== null) stageTiming.upgraded(conn);
  }

  /**
   * What a stream response may tell a page on another origin (see CorsOrigin):
   * credentials only for an origin `--allowed-origins` names, so without that
   * list no page can read a stream opened with a user's cookies.
   */
  private corsOrigin(head: RequestHead): CorsOrigin {
    const origin = head.headers.get('origin');
    if (origin === undefined) return undefined;
    return this.originPolicy === undefined || this.originPolicy.any ? '*' : origin;
  }

  /** `GET /v1/sse` or `POST /v1/stream`: checked as an upgrade is, then its body read (bounded, within the handshake deadline). */
  private streamRequest(conn: WebSocketConnection, head: RequestHead, rest: Buffer, wire: Wire, headBytes: number): void {
    let bodyLength: number;
    try {
      bodyLength = checkStreamRequest(head, wire, this.originPolicy, this.maxMessageSize);
    } catch (error) {
      return this.reject(conn, asHandshakeError(error), undefined, head.method !== 'HEAD');
    }
    if (head.method === 'OPTIONS') {
      // A CORS preflight (origin already checked): answered here, nothing is opened.
      conn.state = ConnectionState.Closing;
      conn.writeLatin1(preflightResponse(this.corsOrigin(head), streamMethodOf(wire)));
      conn.end();
      this.wheel.scheduleIn(conn, this.closeTimeoutMs);
      return;
    }
    const q = head.target.indexOf('?');
    const request: HttpStreamRequest = {
      wire,
      method: head.method,
      path: q === -1 ? head.target : head.target.slice(0, q),
      query: q === -1 ? '' : head.target.slice(q + 1),
      headers: head.headers,
      origin: this.corsOrigin(head),
      body: EMPTY_BODY,
      headBytes,
      maxHeadBytes: this.maxRequestBytes,
    };
    const stream = (conn.stream = new HttpStream(wire, request, wire === Wire.Sse ? this.streamTotals.sse : this.streamTotals.stream));
    if (bodyLength === 0) return this.streamRequestComplete(conn, stream);
    stream.body = Buffer.allocUnsafe(bodyLength);
    stream.bodyExpected = bodyLength;
    // RFC 9110 §10.1.1: a client that sent `Expect: 100-continue` waits for this before its body (curl a
    // whole second); the head has passed every check, so it is invited. Never to HTTP/1.0 (§10.1.1 too).
    if (rest.length < bodyLength && head.httpVersion !== '1.0' && /(?:^|,)\s*100-continue\s*(?:,|$)/i.test(head.headers.get('expect') ?? '')) {
      conn.writeLatin1(CONTINUE);
    }
    if (rest.length > 0) this.onStreamBody(conn, stream, rest);
  }

  private onStreamBody(conn: WebSocketConnection, stream: HttpStream, chunk: Buffer): void {
    const body = stream.body;
    if (body === null) return;
    const take = Math.min(chunk.length, stream.bodyExpected - stream.bodyLength);
    chunk.copy(body, stream.bodyLength, 0, take);
    stream.bodyLength += take;
    if (stream.bodyLength < stream.bodyExpected) return;
    stream.body = null;
    (stream.request as { body: Buffer }).body = body;
    this.streamRequestComplete(conn, stream);
  }

  /** Hand the request to the application, which opens the stream (conn.openStream) or refuses it (conn.refuseStream). */
  private streamRequestComplete(conn: WebSocketConnection, stream: HttpStream): void {
    try {
      this.handler.onHttpStream?.(conn, stream.request as HttpStreamRequest);
    } catch (error) {
      this.reportError(error, conn);
      if (conn.state === ConnectionState.Handshake) this.reject(conn, new HandshakeError(500, 'INTERNAL_ERROR', 'internal error'));
      else conn.close(CloseCode.InternalError, 'internal error');
    }
  }

  /** @internal */
  onStreamOpened(conn: WebSocketConnection): void {
    const stream = conn.stream as HttpStream;
    // The stream is driven by the session as a herald.v1 connection: its envelopes, ids and resume.
    conn.protocol = 'herald.v1';
    conn.state = ConnectionState.Open;
    conn.opened = true;
    this.openCount++;
    stream.totals.open++;
    stream.totals.opened++;
    // Keep-alives on the wheel (liveness.ts): first look at half the heartbeat.
    if (this.idleTimeoutMs === undefined) {
      this.wheel.cancel(conn);
    } else {
      conn.lastActivityTick = this.activityTick;
      this.wheel.scheduleIn(conn, this.idleTimeoutMs / 2);
    }
  }

  /** @internal */
  refuseStream(conn: WebSocketConnection, error: HandshakeError): void {
    if (conn.state === ConnectionState.Handshake) this.reject(conn, error);
  }

  private selectProtocol(request: UpgradeRequest): string | undefined {
    if (this.options.selectProtocol === undefined || request.protocols.length === 0) return undefined;
    const chosen = this.options.selectProtocol(request.protocols, request);
    // §4.2.2: the server may only select one of the values the client offered.
    return chosen !== undefined && request.protocols.includes(chosen) ? chosen : undefined;
  }

  /**
   * Answer with an HTTP error and end; the socket is destroyed if the peer lingers past `lingerMs`.
   * `withContent` false for a HEAD request: its answer has no content (RFC 9110 §9.3.2).
   */
  private reject(conn: WebSocketConnection, error: HandshakeError, lingerMs = this.closeTimeoutMs, withContent = true): void {
    conn.state = ConnectionState.Closing;
    conn.writeLatin1(buildRejectionResponse(error, withContent));
    conn.end();
    this.wheel.scheduleIn(conn, lingerMs);
    try {
      this.handler.onRefused?.(conn, error);
    } catch (failure) {
      this.reportError(failure, conn);
    }
  }

  /** @internal */
  onConnectionMessage(conn: WebSocketConnection, data: Buffer, isText: boolean): void {
    if (this.handler.onMessage === undefined) return;
    try {
      this.handler.onMessage(conn, data, isText);
    } catch (error) {
      this.callbackFailed(error, conn);
    }
  }

  /** @internal */
  onConnectionClosed(conn: WebSocketConnection): void {
    this.wheel.cancel(conn);
    if (this.refused.delete(conn)) return;
    if (!this.connections.delete(conn)) return;
    this.limiter.release(conn.ip);
    if (!conn.wasOpened) return;
    this.openCount--;
    if (conn.stream !== null) conn.stream.totals.open--;
    if (this.handler.onClose === undefined) return;
    try {
      this.handler.onClose(conn, conn.closeCode, conn.closeReason);
    } catch (error) {
      this.reportError(error, conn);
    }
  }

  /** @internal see FlushScheduler.markDirty. */
  markDirty(conn: WebSocketConnection): void {
    this.flushes.markDirty(conn);
  }

  /** @internal */
  onSlowConsumer(conn: WebSocketConnection): void {
    this.slowConsumerEvents++;
    if ((this.options.slowConsumerPolicy ?? WEBSOCKET_SERVER_DEFAULTS.slowConsumerPolicy) === 'close') {
      conn.close(this.options.slowConsumerCloseCode ?? CloseCode.PolicyViolation, 'slow consumer');
    }
  }

  /** @internal */
  scheduleCloseTimeout(conn: WebSocketConnection): void {
    this.wheel.scheduleIn(conn, this.closeTimeoutMs);
  }

  /** @internal */
  onMessageStarted(conn: WebSocketConnection): void {
    messageStarted(conn, this.wheel, this.liveness);
  }

  /** @internal a wheel deadline passed: a stalled handshake, an open connection's liveness check, or a close that never finished. */
  expire(conn: WebSocketConnection): void {
    if (conn.state === ConnectionState.Handshake) {
      conn.head = null;
      // A stream request's head was read already when its body is what is late.
      const what = conn.stream === null ? 'request head' : 'request body';
      return this.reject(conn, new HandshakeError(408, 'REQUEST_TIMEOUT', `${what} not received in time`), Math.min(this.closeTimeoutMs, 1000));
    }
    if (conn.state === ConnectionState.Open) return checkOpenConnection(conn, this.wheel, this.liveness);
    conn.terminate();
  }

  private callbackFailed(error: unknown, conn: WebSocketConnection): void {
    this.reportError(error, conn);
    conn.close(CloseCode.InternalError, 'internal error');
  }

  private reportError(error: unknown, conn: WebSocketConnection | undefined): void {
    try {
      this.handler.onError?.(error, conn);
    } catch {
      // An error reporter that throws must not take the listener down.
    }
  }

  /**
   * Stop accepting, close every connection with `code` (default 1001 Going Away),
   * and resolve once all have ended or `timeoutMs` (default: the close timeout) passed.
   */
  async close(code: number = CloseCode.GoingAway, reason = 'server shutting down', timeoutMs = this.closeTimeoutMs): Promise<void> {
    this.closing = true;
    const server = this.netServer;
    const stopped =
      server !== null
        ? new Promise<void>((resolve) => server.close(() => resolve()))
        : this.rawListener !== null
          ? this.rawListener.close()
          : Promise.resolve();
    for (const conn of this.connections.values()) {
      if (conn.isOpen) conn.close(code, reason);
      else if (conn.state === ConnectionState.Handshake) conn.terminate();
    }
    this.flushes.flushNow();
    const deadline = Date.now() + timeoutMs;
    while (this.connections.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    for (const conn of this.connections.values()) conn.terminate();
    for (const conn of this.refused) conn.terminate();
    this.wheel.clear();
    await stopped;
  }
}

/** The interim answer to `Expect: 100-continue`. */
const CONTINUE = 'HTTP/1.1 100 Continue\r\n\r\n';
const EMPTY_BODY = Buffer.alloc(0);

function listenNet(server: NetServer, port: number, host: string, backlog: number): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port, host, backlog }, () => {
      server.off('error', reject);
      resolve(server.address() as AddressInfo);
    });
  });
}

function expireConnection(conn: WebSocketConnection): void {
  (conn.owner as WebSocketServer).expire(conn);
}

function asHandshakeError(error: unknown): HandshakeError {
  if (error instanceof HandshakeError) return error;
  return new HandshakeError(400, 'BAD_REQUEST', 'request refused');
}

function positive(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (!(typeof value === 'number' && value > 0 && Number.isFinite(value))) {
    throw new RangeError(`${name} must be a positive number, got ${String(value)}`);
  }
  return value;
}
