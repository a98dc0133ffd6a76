/**
 * Types of the client SDK (`herald/client`). Nothing here depends on Node or
 * on the DOM: the SDK talks to any object shaped like {@link WebSocketLike}.
 */

/**
 * Where a client stands. `connecting` only for the first attempt after
 * `connect()`; every later attempt (after a drop) is `reconnecting`; `closed`
 * before `connect()`, after `close()`, and after a terminal close or giving up.
 */
export type ClientStatus = 'connecting' | 'open' | 'reconnecting' | 'closed';

/** A place in a stream: `seq` counts the stream's publications from 1, `epoch` names its incarnation. */
export interface StreamPosition {
  seq: number;
  epoch: string;
}

/**
 * A handler type checked bivariantly (as methods are), so that both the DOM's
 * `WebSocket` and the `ws` package's class, whose event types are richer than
 * what the SDK reads, are assignable to {@link WebSocketLike}.
 */
type EventHandler<E> = { bivarianceHack(event: E): void }['bivarianceHack'];

/**
 * The part of the WebSocket API (WHATWG) the SDK uses: the browser's
 * `WebSocket` and the `ws` package's class both fit.
 */
export interface WebSocketLike {
  readonly readyState: number;
  /** The subprotocol the server selected ('' for none). */
  readonly protocol: string;
  /** The SDK sets `'arraybuffer'`. */
  binaryType: string;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: EventHandler<unknown> | null;
  /** `data` is a string for text frames, an ArrayBuffer for binary ones. */
  onmessage: EventHandler<{ readonly data: unknown }> | null;
  onclose: EventHandler<{ readonly code: number; readonly reason: string }> | null;
  onerror: EventHandler<unknown> | null;
}

/** A WebSocket class: `globalThis.WebSocket` in browsers, `ws`'s default export in Node. */
export type WebSocketConstructor = new (url: string, protocols?: string | string[]) => WebSocketLike;

/** Options of a {@link HeraldClient}. */
export interface HeraldClientOptions {
  /** `ws://host:port/ws` or `wss://…`. */
  url: string;
  /**
   * `herald.v1` (default): enveloped deliveries with topic and position,
   * request ids, resume after reconnect. `gpush`: the plain gpush protocol —
   * raw deliveries with no topic (they reach the `message` event only),
   * replies matched in order, no resume.
   */
  protocol?: 'herald.v1' | 'gpush';
  /**
   * Login credential (op 3), sent after every (re)connect. A function is
   * called each time, so it can hand out a fresh token; it is also called
   * again when the server reports the session expired (30006), and before
   * that: when the login's JWT (or the 20003 reply's `detail.expiresAt`)
   * says it expires, the client logs in again in place at 85 % of its
   * lifetime (at least 5 s before expiry), keeping every subscription.
   */
  token?: string | (() => string | Promise<string>);
  /**
   * The WebSocket class; default `globalThis.WebSocket`. Node 20 has none:
   * pass `ws`'s (`import WebSocket from 'ws'`).
   */
  WebSocket?: WebSocketConstructor;
  /**
   * Interval of text `ping` heartbeats in ms, default 25,000 (the server
   * closes a connection silent for 60 s by default). Two intervals without
   * anything received mark the connection dead. 0 disables the heartbeat.
   */
  heartbeatMs?: number;
  /**
   * Reconnect backoff: attempt n waits a uniformly random delay in
   * [0, min(maxMs, baseMs·2^n)) ms ("full jitter"); n restarts at 0 after
   * each successful open. Defaults: baseMs 500, maxMs 30,000, maxAttempts
   * Infinity (consecutive failed attempts before giving up).
   */
  reconnect?: { baseMs?: number; maxMs?: number; maxAttempts?: number };
  /** How long a request (subscribe, login, …) waits for its reply, in ms; default 10,000. */
  requestTimeoutMs?: number;
  /**
   * Gives a subscription token (a JWT with `sub`, `channel`/`channel_glob`
   * and `exp`, from the app's backend) for a topic whose namespace says
   * `subscribe: "token"`. Called when the server refuses a subscribe with
   * 30003 "subscription token missing" or "subscription token expired" (the
   * subscribe is then sent once more with the new token; refused again, it
   * fails), when a subscription ended with 30009 (its token expired; it is
   * subscribed again, resuming so nothing is lost), and on a reconnect when
   * the token held is past 85 % of its lifetime. The client does not ask for
   * topics that never needed a token. A callback that throws or rejects
   * fails the subscription like a refusal (`ready` rejects, `error` event).
   */
  getSubscriptionToken?: (topic: string, info: { private: boolean }) => string | Promise<string>;
  /**
   * Fall back to HTTP streaming when WebSocket upgrades keep failing (see
   * {@link FallbackOptions}); on by default in `herald.v1` mode where a
   * `fetch` exists. `false` turns it off.
   */
  fallback?: FallbackOptions | false;
}

/**
 * The part of the Fetch API the HTTP-stream fallback uses: `globalThis.fetch`
 * in browsers and Node ≥ 18 fits. The response body must be a readable
 * stream (read chunk by chunk as it arrives).
 */
export type FetchLike = (
  url: string,
  init: { method: string; headers: Record<string, string>; body: string; signal: AbortSignal },
) => Promise<{
  readonly status: number;
  readonly body: { getReader(): { read(): Promise<{ done: boolean; value?: Uint8Array }> } } | null;
  text(): Promise<string>;
}>;

/** Which way a client is connected: a WebSocket, or the HTTP stream it falls back to. */
export type ClientTransport = 'websocket' | 'stream';

/**
 * The HTTP-stream fallback (`herald.v1` only; PROTOCOL.md, "POST /v1/stream"
 * and "The SDK's fallback"). When `afterFailures` WebSocket upgrades fail in
 * a row (the connection never opened: an HTTP error status, refused, closed
 * before open), the client receives over `POST /v1/stream` instead, with its
 * subscriptions, their positions and its login, and tries a WebSocket again
 * after `retryWebSocketMs` (doubling per failed try, up to
 * `retryWebSocketMaxMs`); once one opens it moves back, resuming every
 * subscription, and ends the stream.
 */
export interface FallbackOptions {
  /** Failed upgrades in a row before falling back; default 3. */
  afterFailures?: number;
  /** The stream endpoint; default the WebSocket URL's host as http(s)://host/v1/stream. */
  url?: string;
  /** First wait before trying a WebSocket again while on the stream, in ms; default 60,000. */
  retryWebSocketMs?: number;
  /** Longest wait between two WebSocket tries while on the stream, in ms; default 600,000. */
  retryWebSocketMaxMs?: number;
  /** The fetch function; default `globalThis.fetch`. */
  fetch?: FetchLike;
}

/** Options of `subscribe()`. */
export interface SubscribeOptions {
  /** The user's private topic (op 5): needs a login. */
  private?: boolean;
  /** herald.v1: also receive the topic's `join`/`leave` events. */
  joinLeave?: boolean;
  /**
   * A subscription token for this topic, sent with its subscribes (again on
   * reconnects; once it is stale, `getSubscriptionToken` gives the next).
   */
  token?: string;
}

/**
 * One delivery. In `herald.v1` it comes from an envelope: `topic` (absent
 * for a push to the user or to everyone), `private` for the user's private
 * topic, `user` for a push to the user, `all` for a broadcast, and the
 * stream position `seq`/`epoch`. In `gpush` mode only `data` is known.
 * `data` is a string for UTF-8 payloads, bytes otherwise.
 */
export interface Message {
  topic?: string;
  private?: boolean;
  user?: boolean;
  all?: boolean;
  data: string | Uint8Array;
  seq?: number;
  epoch?: string;
}

/** What `subscribe()` returns. */
export interface Subscription {
  readonly topic: string;
  readonly private: boolean;
  /**
   * The last position seen on this stream (from its deliveries and subscribe
   * replies; `herald.v1` only): where a resume starts.
   */
  readonly position?: StreamPosition;
  /**
   * Resolves when the server first confirms the subscription (20001);
   * rejects with a {@link HeraldError} when it refuses it (30004, 30005,
   * 30008, or 30003 for a subscription token even after a fresh one), after
   * which the subscription is dropped. A subscribe left unanswered for
   * `requestTimeoutMs` is reported (`error` event) and sent again, so `ready`
   * stays pending meanwhile. A private subscription's `ready` rejects (and
   * `error` is emitted) when the login it waits for fails, or when the client
   * is connected with no token at all (30002); the subscription is kept and
   * sent after a later successful `login()`. Awaiting it is optional.
   */
  readonly ready: Promise<void>;
  /** Stop delivery to this handler; resolves once the server confirms (or at once when offline). */
  unsubscribe(): Promise<void>;
}

/** The `gap` event: a resume was answered `recovered: false`; messages may have been missed. */
export interface GapInfo {
  topic: string;
  private: boolean;
  /** The stream's position now; delivery continues live from here. */
  position: StreamPosition;
}

/** One connection subscribed to a topic, anywhere in the cluster (presence, join/leave). */
export interface PresenceClient {
  /** The connection's id, unique in the cluster. */
  client: string;
  /** Its user, or '' for an anonymous connection. */
  uid: string;
  /** The node holding it. */
  node: string;
  /** When it subscribed (ms since the epoch). */
  connectedAt: number;
}

/** What `presence(topic)` resolves with. */
export interface PresenceInfo {
  clients: PresenceClient[];
  /** The server listed only the first of more subscribers (it lists at most 1,000). */
  truncated: boolean;
}

/** What `presenceStats(topic)` resolves with. */
export interface PresenceStats {
  /** Connections subscribed to the topic. */
  clients: number;
  /** Distinct logged-in users among them. */
  users: number;
}

/** The `join`/`leave` events: a connection subscribed to / left a topic this client watches. */
export interface JoinLeaveInfo extends PresenceClient {
  topic: string;
}

/** The `serverSubscribe`/`serverUnsubscribe` events: the backend changed a subscription of this connection. */
export interface ServerSubscriptionInfo {
  topic: string;
  private: boolean;
}

/** Events of a {@link HeraldClient} and their payloads. */
export interface ClientEventMap {
  status: ClientStatus;
  message: Message;
  error: Error;
  gap: GapInfo;
  join: JoinLeaveInfo;
  leave: JoinLeaveInfo;
  serverSubscribe: ServerSubscriptionInfo;
  serverUnsubscribe: ServerSubscriptionInfo;
  transport: ClientTransport;
}
