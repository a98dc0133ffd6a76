import type { IncomingMessage, Server as HttpServer } from 'node:http';
import { createServer, type AddressInfo, type Server as NetServer, type Socket } from 'node:net';
import { createServer as createTlsServer, type Server as TlsServer } from 'node:tls';
import type { Duplex } from 'node:stream';
import { CloseCode } from '../protocol/constants.js';
import { HandshakeError } from '../protocol/errors.js';
import { negotiatePerMessageDeflate, type PerMessageDeflateOptions } from '../protocol/permessage-deflate.js';
import {
  buildRejectionResponse,
  buildUpgradeResponse,
  findHeadEnd,
  parseRequestHead,
  validateUpgrade,
  type RequestHead,
  type UpgradeRequest,
} from '../protocol/upgrade-request.js';
import { ConnectionLimiter, OriginPolicy, type ConnectionLimitOptions } from './connection-limits.js';
import { ConnectionState, HANDSHAKE_FLUSH, NEVER_FLUSHED, type ConnectionOwner, type WebSocketConnection } from './connection.js';
import { forgetFrameMemo } from './frame-run.js';
import { checkOpenConnection, messageStarted, type LivenessPolicy } from './liveness.js';
import { NetSocketConnection } from './net-socket-connection.js';
import { PartialHead } from './partial-head.js';
import { listenOnRawHandle, listenRawTcp, type RawTcpListener, type TcpHandle } from './raw-tcp.js';
import { RawTcpConnection } from './raw-tcp-connection.js';
import { chooseTransport, type TransportMode } from './transport-choice.js';
import { TimingWheel } from '../util/timing-wheel.js';

/**
 * Application callbacks. One handler object serves every connection, so no
 * closure is created per connection. Callbacks must not throw; a throw is
 * caught, reported to `onError`, and the connection is closed with 1011.
 */
export interface ConnectionHandler {
  /** The handshake completed; `conn` can send. */
  onOpen?(conn: WebSocketConnection, request: UpgradeRequest): void;
  /** A complete message; `data` is a view valid for the duration of the call unless copied. */
  onMessage?(conn: WebSocketConnection, data: Buffer, isText: boolean): void;
  /** Exactly once per opened connection, when its socket has closed. */
  onClose?(conn: WebSocketConnection, code: number, reason: string): void;
  /** An upgrade was answered with an HTTP error (`error.status`); the socket closes next. */
  onRefused?(conn: WebSocketConnection, error: HandshakeError): void;
  /** An application callback threw. */
  onError?(error: unknown, conn: WebSocketConnection | undefined): void;
}

/** Options of a {@link WebSocketServer}. Sizes in bytes, times in milliseconds. */
export interface WebSocketServerOptions {
  handler: ConnectionHandler;
  /** Only this path is upgraded (others get 404); default: any path. */
  path?: string;
  /** Largest request head accepted; 431 beyond. Default 8 KiB, as most HTTP servers. */
  maxRequestBytes?: number;
  /** Time allowed to send a complete request head; default 5000. */
  handshakeTimeoutMs?: number;
  /** Time a closing connection may take to end the TCP connection before it is destroyed; default 3000. */
  closeTimeoutMs?: number;
  /** Largest incoming message (1009 beyond); default 1 MiB. */
  maxMessageSize?: number;
  /**
   * Bound on a connection's unflushed bytes — queued this turn plus what the
   * kernel has not accepted yet; default 1 MiB. A send that would pass it is
   * refused ('dropped') and the slow-consumer policy applies; sends report
   * 'backpressure' past half of it.
   */
  maxBufferedBytes?: number;
  /**
   * What happens to a connection whose sends pass `maxBufferedBytes`: 'close'
   * (default) closes it with `slowConsumerCloseCode` so the client reconnects
   * and resynchronises; 'drop' drops the messages that do not fit and keeps it.
   */
  slowConsumerPolicy?: 'close' | 'drop';
  /** Close code for the 'close' policy; default 1008 (policy violation). */
  slowConsumerCloseCode?: number;
  /**
   * The heartbeat timeout; default: none. A connection from which nothing
   * (no frame, no byte) arrived for half of it is sent a ping (§5.5.2), and
   * closed if still silent after all of it. Checked on the shared wheel, so it
   * fires at most two wheel ticks late and never early (see liveness.ts).
   */
  idleTimeoutMs?: number;
  /** Close code for an idle timeout; default 1001. */
  idleCloseCode?: number;
  /**
   * Time a message may take to arrive once its first byte did (a partial
   * frame, or a fragmented message, in progress); 1008 beyond. Default: none.
   */
  messageTimeoutMs?: number;
  /**
   * Merge window in ms; default 0 (off). When set, a connection is written at
   * most about once per window: what is queued on a connection that was
   * written less than a window ago is held until the window has passed and
   * then goes out in one write with everything queued meanwhile. A
   * connection that has been quiet for a window is written at once, so the
   * window adds no latency at low rates and at most one window under load,
   * where it turns many small writes into few larger ones (less CPU per
   * message at both ends). Replies and pongs wait too; close frames never do.
   */
  mergeWindowMs?: number;
  /** Resolution of the shared deadline wheel; default 250. */
  timerResolutionMs?: number;
  /** Choose a subprotocol among those offered (§4.2.2 item 5.4); undefined selects none. */
  selectProtocol?(offered: readonly string[], request: UpgradeRequest): string | undefined;
  /** Limits on new connections (total, per IP, rate per IP), answered 503/429 before the upgrade. */
  limits?: ConnectionLimitOptions;
  /**
   * Origins browsers may connect from (`https://app.example.com`,
   * `https://*.example.com`, or `*`); others get 403. Default: any. Clients
   * that send no Origin header (not browsers) are not affected.
   */
  allowedOrigins?: readonly string[];
  /** Accept or refuse an upgrade before it completes: throw a HandshakeError to refuse. */
  verifyUpgrade?(request: UpgradeRequest, conn: WebSocketConnection): void;
  /**
   * How `listen` accepts connections: 'raw' serves them straight on libuv TCP
   * handles (about a kilobyte less per connection and faster accepts than
   * `net.Socket`), 'net' through `net.Server`. Both run a loopback self-check
   * of the raw handles first (once per process, transport-choice.ts): 'auto'
   * (default) falls back to 'net' when it fails (`transportFallbackReason`
   * says why), 'raw' rejects with a TransportError. Attach mode and TLS always
   * use `net`/`tls` sockets.
   */
  transport?: TransportMode;
  /** @internal replaces the raw-handle self-check (tests inject a failing one). */
  rawTcpCheck?: () => Promise<string | undefined>;
  /**
   * Serve wss:// with this certificate and key (PEM). TLS connections run on
   * `tls.TLSSocket`s (the 'net' transport): each costs the TLS state on top.
   */
  tls?: { cert: Buffer | string; key: Buffer | string };
  /**
   * permessage-deflate (RFC 7692), off unless `enabled`. Always negotiated with
   * `server_no_context_takeover`, so one compressed frame per message serves
   * every subscriber, and by default `client_no_context_takeover`, so no
   * connection keeps an inflate window.
   */
  perMessageDeflate?: PerMessageDeflateOptions;
  /** Pending-connection queue length for `listen` (the kernel caps it at somaxconn); default 511. */
  backlog?: number;
}

/**
 * A WebSocket server over a plain `net.Server` that parses the upgrade request
 * itself (no `http.IncomingMessage` per connection), or attached to an existing
 * `http.Server`'s 'upgrade' event. Deadlines (handshake, closing) live on one
 * timing wheel; writes queued during a turn are flushed once per connection at
 * the end of the turn.
 */
export class WebSocketServer implements ConnectionOwner {
  readonly maxBufferedBytes: number;
  /** Connections closed, or sends refused, by the slow-consumer policy. */
  slowConsumerEvents = 0;
  /** Connections refused by a connection limit (503/429). */
  limitRejections = 0;
  private readonly handler: ConnectionHandler;
  private readonly path: string | undefined;
  private readonly maxRequestBytes: number;
  private readonly handshakeTimeoutMs: number;
  private readonly closeTimeoutMs: number;
  readonly maxMessageSize: number;
  private readonly mergeWindowMs: number;
  private readonly idleTimeoutMs: number | undefined;
  private readonly liveness: LivenessPolicy;
  private readonly options: WebSocketServerOptions;
  private readonly wheel: TimingWheel<WebSocketConnection>;
  /** Every admitted socket, in any state (handshake, open, closing). */
  private readonly connections = new Set<WebSocketConnection>();
  /** Sockets refused at accept (limits, shutdown), until they close. */
  private readonly refused = new Set<WebSocketConnection>();
  private openCount = 0;
  /** Connections to write at the end of this event-loop turn. */
  private dirty: WebSocketConnection[] = [];
  private flushScheduled = false;
  /** Connections held by the merge window, written when its one shared timer fires. */
  private held: WebSocketConnection[] = [];
  private heldScheduled = false;
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
    this.maxRequestBytes = positive(options.maxRequestBytes, 8192, 'maxRequestBytes');
    this.handshakeTimeoutMs = positive(options.handshakeTimeoutMs, 5000, 'handshakeTimeoutMs');
    this.closeTimeoutMs = positive(options.closeTimeoutMs, 3000, 'closeTimeoutMs');
    this.maxMessageSize = positive(options.maxMessageSize, 1024 * 1024, 'maxMessageSize');
    this.maxBufferedBytes = positive(options.maxBufferedBytes, 1024 * 1024, 'maxBufferedBytes');
    this.mergeWindowMs = options.mergeWindowMs === undefined || options.mergeWindowMs === 0 ? 0 : positive(options.mergeWindowMs, 0, 'mergeWindowMs');
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
    const choice = await chooseTransport(this.options.transport ?? 'auto', this.options.rawTcpCheck);
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
    if (!this.admitted(conn)) return;
    this.wheel.scheduleIn(conn, this.handshakeTimeoutMs);
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
    this.upgrade(conn, head, buf.subarray(end));
  }

  private upgrade(conn: WebSocketConnection, head: RequestHead, rest: Buffer): void {
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
      return this.reject(conn, asHandshakeError(error));
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
    // Queued, not written: what onOpen sends (a greeting) goes out in the same write as the 101.
    conn.queueHandshakeResponse(Buffer.from(buildUpgradeResponse(request.key, protocol, deflate?.response), 'latin1'));
    conn.state = ConnectionState.Open;
    conn.protocol = protocol;
    conn.opened = true;
    this.openCount++;
    if (this.handler.onOpen !== undefined) {
      try {
        this.handler.onOpen(conn, request);
      } catch (error) {
        this.callbackFailed(error, conn);
      }
    }
    // A client may pipeline its first frames right behind the request (§4.1).
    if (rest.length > 0) conn.onData(rest);
  }

  private selectProtocol(request: UpgradeRequest): string | undefined {
    if (this.options.selectProtocol === undefined || request.protocols.length === 0) return undefined;
    const chosen = this.options.selectProtocol(request.protocols, request);
    // §4.2.2: the server may only select one of the values the client offered.
    return chosen !== undefined && request.protocols.includes(chosen) ? chosen : undefined;
  }

  /** Answer with an HTTP error and end; the socket is destroyed if the peer lingers past `lingerMs`. */
  private reject(conn: WebSocketConnection, error: HandshakeError, lingerMs = this.closeTimeoutMs): void {
    conn.state = ConnectionState.Closing;
    conn.writeLatin1(buildRejectionResponse(error));
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
    if (this.handler.onClose === undefined) return;
    try {
      this.handler.onClose(conn, conn.closeCode, conn.closeReason);
    } catch (error) {
      this.reportError(error, conn);
    }
  }

  /** @internal */
  markDirty(conn: WebSocketConnection): void {
    const window = this.mergeWindowMs;
    if (window > 0) {
      const last = conn.lastFlushMs;
      const sinceFlush = (clockMs() - last) & CLOCK_MASK;
      if (last >= 0 && sinceFlush < window) {
        this.held.push(conn);
        if (!this.heldScheduled) {
          this.heldScheduled = true;
          setTimeout(flushHeld, window - sinceFlush, this);
        }
        return;
      }
    }
    this.dirty.push(conn);
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      // setImmediate runs after every I/O callback of this loop iteration, so
      // everything queued on a connection during the turn goes out in one write.
      setImmediate(flushDirty, this);
    }
  }

  /** @internal write the connections queued this turn. */
  flushDirty(): void {
    this.flushScheduled = false;
    const dirty = this.dirty;
    this.dirty = [];
    this.flushList(dirty);
  }

  /** @internal write the connections the merge window held. */
  flushHeld(): void {
    this.heldScheduled = false;
    const held = this.held;
    this.held = [];
    this.flushList(held);
  }

  /**
   * Write `list` from `start`, at most FLUSH_SLICE connections per turn: one
   * write costs several microseconds of syscall, so a large audience is
   * written over several turns and the loop keeps serving reads (push
   * requests, heartbeats) in between.
   */
  flushList(list: WebSocketConnection[], start = 0): void {
    const stamp = this.mergeWindowMs > 0 ? clockMs() : 0;
    const end = Math.min(list.length, start + FLUSH_SLICE);
    for (let i = start; i < end; i++) {
      const conn = list[i];
      conn.lastFlushMs = conn.lastFlushMs === HANDSHAKE_FLUSH ? NEVER_FLUSHED : stamp;
      conn.flush();
    }
    forgetFrameMemo();
    if (end < list.length) setImmediate(flushRest, this, list, end);
  }

  /** @internal */
  onSlowConsumer(conn: WebSocketConnection): void {
    this.slowConsumerEvents++;
    if (this.options.slowConsumerPolicy !== 'drop') {
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
      return this.reject(conn, new HandshakeError(408, 'REQUEST_TIMEOUT', 'request head not received in time'), Math.min(this.closeTimeoutMs, 1000));
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
    for (const conn of this.connections) {
      if (conn.isOpen) conn.close(code, reason);
      else if (conn.state === ConnectionState.Handshake) conn.terminate();
    }
    this.flushDirty();
    this.flushHeld();
    const deadline = Date.now() + timeoutMs;
    while (this.connections.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    for (const conn of this.connections) conn.terminate();
    for (const conn of this.refused) conn.terminate();
    this.wheel.clear();
    await stopped;
  }
}

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

function flushDirty(server: WebSocketServer): void {
  server.flushDirty();
}

function flushHeld(server: WebSocketServer): void {
  server.flushHeld();
}

function flushRest(server: WebSocketServer, list: WebSocketConnection[], start: number): void {
  server.flushList(list, start);
}

/** Connections written per event-loop turn by a flush (see flushList). */
const FLUSH_SLICE = 256;

/** Merge-window clock: whole ms, kept in 30 bits so it stays a small integer (compared modulo 2^30). */
const CLOCK_MASK = 0x3fffffff;
function clockMs(): number {
  return Math.floor(performance.now()) & CLOCK_MASK;
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
