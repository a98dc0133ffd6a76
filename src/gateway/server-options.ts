/**
 * What a {@link WebSocketServer} is given: the application's callbacks and
 * the server's options (sizes in bytes, times in milliseconds).
 */
import type { HandshakeError } from '../protocol/errors.js';
import type { PerMessageDeflateOptions } from '../protocol/permessage-deflate.js';
import type { UpgradeRequest } from '../protocol/upgrade-request.js';
import type { ConnectionLimitOptions } from './connection-limits.js';
import type { WebSocketConnection } from './connection.js';
import type { HttpStreamRequest } from './http-stream.js';
import type { TransportMode } from './transport-choice.js';

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
  /**
   * `GET /v1/sse` or `POST /v1/stream` arrived on this listener (checked like an upgrade: method,
   * Host, Origin, limits; body read): validate it, then `conn.openStream(…)` or
   * `conn.refuseStream(error)`. Without this callback those paths are treated as upgrade requests.
   */
  onHttpStream?(conn: WebSocketConnection, request: HttpStreamRequest): void;
  /** An application callback threw. */
  onError?(error: unknown, conn: WebSocketConnection | undefined): void;
}

/**
 * What a standalone {@link WebSocketServer} uses for the options left out.
 * Each is also a Herald option, and equals the option table's default
 * (checked by test/config/node-defaults.test.ts; the gateway may not import
 * the config layer). HeraldNode passes every one of them itself.
 */
export const WEBSOCKET_SERVER_DEFAULTS = {
  maxRequestBytes: 8 * 1024,
  handshakeTimeoutMs: 5_000,
  closeTimeoutMs: 3_000,
  maxMessageSize: 64 * 1024,
  maxBufferedBytes: 1024 * 1024,
  slowConsumerPolicy: 'close',
  mergeWindowMs: 0,
  transport: 'auto',
} as const;

/** Options of a {@link WebSocketServer}. Sizes in bytes, times in milliseconds. */
export interface WebSocketServerOptions {
  handler: ConnectionHandler;
  /** Only this path is upgraded (others get 404); default: any path. */
  path?: string;
  /** Largest request head accepted; 431 beyond. Default 8 KiB (`--max-request-bytes`), as most HTTP servers. */
  maxRequestBytes?: number;
  /** Time allowed to send a complete request head; default 5000. */
  handshakeTimeoutMs?: number;
  /** Time a closing connection may take to end the TCP connection before it is destroyed; default 3000. */
  closeTimeoutMs?: number;
  /** Largest incoming message (1009 beyond); default 64 KiB (`--max-message-bytes`). */
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
