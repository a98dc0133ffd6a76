import { HeraldCloseCode, ReplyCode, isReconnectableClose } from '../codes.js';
import { backoffDelay } from './backoff.js';
import { resolveClientOptions, type ResolvedClientOptions } from './client-options.js';
import { decodeInbound, expiredNotice, serverNotice, toPresenceInfo, toPresenceStats, type Inbound, type Reply } from './decode-inbound.js';
import { HeraldConnectionError, HeraldError } from './errors.js';
import { Heartbeat } from './heartbeat.js';
import { Link } from './link.js';
import { LoginFlow } from './login-flow.js';
import type { SubscriptionHandle } from './stream-state.js';
import { StreamSession } from './stream-session.js';
import { SubscriptionBook } from './subscription-book.js';
import { TransportFallback, WebSocketTries } from './transport-fallback.js';
import { TypedEmitter } from './typed-emitter.js';
import { HERALD_V1, Op, ignoreConnectionLoss, noop, safeClose } from './wire.js';
import type {
  ClientEventMap,
  ClientStatus,
  ClientTransport,
  GapInfo,
  HeraldClientOptions,
  JoinLeaveInfo,
  Message,
  PresenceInfo,
  PresenceStats,
  ServerSubscriptionInfo,
  SubscribeOptions,
  Subscription,
  WebSocketLike,
} from './types.js';

/**
 * A Herald client for browsers and Node ≥ 20, with no dependencies: it
 * subscribes, logs in, keeps the connection alive with text `ping`s and, when
 * the connection drops, reconnects with backoff and restores its login and
 * subscriptions. In `herald.v1` mode (the default) each subscription resumes
 * from the last position it saw, so within the server's history window
 * nothing is lost or duplicated; when the history no longer reaches back the
 * `gap` event says so.
 *
 * Guarantees: per stream, handlers see deliveries in order and (herald.v1)
 * at most once per seq of an epoch. Listeners and handlers run synchronously
 * while a frame is handled; one that throws is reported as an `error` event.
 * `error` events with no listener are dropped (unlike Node's EventEmitter).
 *
 * When WebSocket upgrades keep failing (a proxy that breaks them), the
 * client receives over HTTP streaming instead (`options.fallback`,
 * `transport`, the `transport` event) and moves back once a WebSocket opens.
 *
 * This file is the public API and the connection's lifecycle; the login and
 * its refresh are in login-flow.ts, the subscriptions (and their tokens) in
 * subscription-book.ts, the stream requests in stream-session.ts and when to
 * fall back in transport-fallback.ts.
 */
export class HeraldClient {
  private readonly options: ResolvedClientOptions;
  private readonly heartbeat: Heartbeat;
  private readonly events = new TypedEmitter<ClientEventMap>((error, event) => this.listenerFailed(error, event));
  private readonly link: Link;
  private readonly loginFlow: LoginFlow;
  private readonly book: SubscriptionBook;
  private statusValue: ClientStatus = 'closed';
  private attempt = 0;
  private retryTimer: ReturnType<typeof setTimeout> | undefined = undefined;
  private readonly fallback: TransportFallback;
  private transportValue: ClientTransport = 'websocket';
  /** Whether the current socket opened (a close before it is a failed upgrade). */
  private socketOpened = false;
  /** The HTTP stream request while on the stream (null between requests). */
  private streamSession: StreamSession | null = null;
  /** On the stream: nothing for two ticks (not even a keep-alive line) marks it dead. */
  private readonly streamWatch: Heartbeat;
  private streamRestartQueued = false;
  /** The stream request under way (or the last) got its response: the server is reachable over HTTP. */
  private streamReached = false;
  /** On the stream: WebSocket tries beside it. */
  private readonly webSocketTries: WebSocketTries;

  /** Validates `options` (TypeError/RangeError); does not connect: call {@link connect}. */
  constructor(options: HeraldClientOptions) {
    this.options = resolveClientOptions(options);
    this.link = new Link(this.options);
    this.heartbeat = new Heartbeat(this.options.heartbeatMs, () => this.link.sendText('ping'), () => this.heartbeatFailed());
    const emit = <K extends keyof ClientEventMap>(event: K, payload: ClientEventMap[K]): void => this.events.emit(event, payload);
    this.loginFlow = new LoginFlow(
      this.link,
      {
        settled: () => this.book.subscribeAll(),
        userChanged: () => this.book.userChanged(),
        refused: (error) => this.book.refusePrivate(error),
        report: (error) => this.report(error),
      },
      this.options.token,
    );
    this.book = new SubscriptionBook(this.link, this.loginFlow, this.options.getSubscriptionToken, emit);
    this.book.onStreamsChanged = () => this.restartStreamSoon();
    this.fallback = new TransportFallback(this.options.fallback);
    this.webSocketTries = new WebSocketTries(
      this.fallback,
      () => new this.options.Socket(this.options.url, HERALD_V1),
      (socket) => this.moveToWebSocket(socket),
    );
    // The server's keep-alive lines come every half --heartbeat-timeout (30 s by default): ticks of at least 20 s.
    const watchMs = this.options.heartbeatMs === 0 ? 0 : Math.max(this.options.heartbeatMs, STREAM_WATCH_MIN_MS);
    this.streamWatch = new Heartbeat(watchMs, noop, () => this.streamDead());
  }

  get status(): ClientStatus {
    return this.statusValue;
  }

  /**
   * `websocket`, or `stream` while the client has fallen back to HTTP
   * streaming (see `options.fallback`); the `transport` event tells of changes.
   */
  get transport(): ClientTransport {
    return this.transportValue;
  }

  /**
   * Open the connection (status `connecting`). While `reconnecting` it skips
   * the backoff wait; while `connecting` or `open` it does nothing. After a
   * terminal close it starts over, with the subscriptions and login kept.
   */
  connect(): void {
    if (this.statusValue === 'reconnecting') {
      if (this.retryTimer === undefined) return;
      clearTimeout(this.retryTimer);
      this.retryTimer = undefined;
      this.reconnectNow();
      return;
    }
    if (this.statusValue !== 'closed') return;
    this.attempt = 0;
    this.fallback.restartCounts();
    this.setTransport('websocket');
    this.setStatus('connecting');
    this.openSocket();
  }

  /**
   * Close for good: no reconnect, pending requests fail with a
   * {@link HeraldConnectionError}, the login refresh timer is cleared.
   * Subscriptions and the login are kept for a later `connect()`.
   */
  close(): void {
    this.clearRetry();
    this.leaveStream();
    const error = new HeraldConnectionError('the client was closed', 1000);
    const socket = this.teardown(error);
    if (socket !== null) safeClose(socket, 1000, 'client closed');
    this.loginFlow.rejectWaiters(error);
    this.setStatus('closed');
  }

  /**
   * Deliver `topic`'s pushes to `handler`, now and after every reconnect.
   * `private: true` subscribes to the logged-in user's private topic (op 5);
   * it is sent once a login succeeds. While a login is pending, every
   * subscribe waits for its answer. Several handlers may share a stream;
   * the server is asked once. In `gpush` mode deliveries carry no topic, so
   * handlers are never called: read the `message` event. `joinLeave: true`
   * (herald.v1) also asks for the topic's `join`/`leave` events, for as long
   * as the stream is subscribed. `token` is a subscription token sent with
   * the subscribe (and again after reconnects while it is fresh; then, and
   * when the server refuses a subscribe for a missing or expired token, the
   * `getSubscriptionToken` option is asked for a new one).
   */
  subscribe(topic: string, handler: (message: Message) => void, opts: SubscribeOptions = {}): Subscription {
    if (typeof topic !== 'string') throw new TypeError('topic must be a string');
    if (typeof handler !== 'function') throw new TypeError('handler must be a function');
    if (opts.token !== undefined && (typeof opts.token !== 'string' || opts.token === '')) {
      throw new TypeError('opts.token must be a non-empty string');
    }
    return this.book.subscribe(topic, handler, opts);
  }

  /**
   * Log in (op 3) with `token`, which is remembered and sent again after
   * every reconnect (replacing `options.token`). Resolves with the user id
   * once a login with it succeeds — now, or on the next connection when not
   * open; rejects with a {@link HeraldError} 30003 when refused, or a
   * {@link HeraldTimeoutError} after `requestTimeoutMs`.
   */
  login(token: string): Promise<{ uid: string }> {
    if (typeof token !== 'string') throw new TypeError('token must be a string');
    const result = this.loginFlow.login(token);
    // On the stream the login goes with the request: a new request for it.
    this.restartStreamSoon();
    return result;
  }

  /**
   * Log out (op 4) and forget the credential. The server drops every private
   * subscription; the client keeps them and subscribes them again after the
   * next successful login (from scratch: their positions are forgotten).
   */
  logout(): Promise<void> {
    const wasLoggedIn = this.loginFlow.forget();
    this.book.resetPrivate(true);
    this.restartStreamSoon();
    if (!this.link.isOpen || !wasLoggedIn) return Promise.resolve();
    const done = this.link.ask('logout', { code: Op.Logout });
    // Public subscriptions made while a login was pending waited for it.
    this.book.subscribeAll();
    return done.then(noop, (error: unknown) => {
      // 30002: the pending login failed, so there is nothing to log out of.
      if (error instanceof HeraldError && error.code === ReplyCode.NotLoggedIn) return;
      return ignoreConnectionLoss(error);
    });
  }

  /**
   * Publish `data` (any JSON value) to `topic` from this client (op 9,
   * herald.v1): subscribers receive it as if the backend had pushed that
   * JSON text. Resolves when the server answers 20009; rejects with a
   * {@link HeraldError} whose `code` is 30008 and `detail` the reason when
   * the topic's namespace does not allow it (`publish: true` is needed, and
   * the connection must be subscribed to the topic unless anyone may
   * subscribe there), 30004 for a bad topic, a {@link HeraldConnectionError}
   * when not connected (publishes are not queued across reconnects).
   */
  publish(topic: string, data: unknown): Promise<void> {
    if (typeof topic !== 'string') throw new TypeError('topic must be a string');
    let json: string | undefined;
    try {
      json = JSON.stringify(data);
    } catch (error) {
      throw new TypeError('data must be serializable as JSON', { cause: error });
    }
    if (json === undefined) throw new TypeError('data must be a JSON value (not undefined or a function)');
    // gpush matches replies by order and has no op 9.
    if (!this.options.enveloped) return Promise.reject(new Error('publish needs the herald.v1 protocol'));
    if (this.transportValue === 'stream') return Promise.reject(needsWebSocket('publish'));
    return this.link.ask('publish', { code: Op.Publish, topic, data: JSON.parse(json) as unknown }).then(noop);
  }

  /**
   * Who is subscribed to `topic` across the cluster (op 7, herald.v1). The
   * connection must be subscribed to it and the server must allow it
   * (`--client-presence`): otherwise rejects with a {@link HeraldError} 30008.
   */
  presence(topic: string): Promise<PresenceInfo> {
    return this.askPresence(Op.Presence, topic).then(toPresenceInfo);
  }

  /** How many connections and distinct users are subscribed to `topic` (op 8); as {@link presence} for the rules. */
  presenceStats(topic: string): Promise<PresenceStats> {
    return this.askPresence(Op.PresenceStats, topic).then(toPresenceStats);
  }

  private askPresence(code: number, topic: string): Promise<Reply> {
    if (typeof topic !== 'string') throw new TypeError('topic must be a string');
    // gpush matches replies by order, and presence answers asynchronously: herald.v1 only.
    if (!this.options.enveloped) return Promise.reject(new Error('presence needs the herald.v1 protocol'));
    if (this.transportValue === 'stream') return Promise.reject(needsWebSocket('presence'));
    return this.link.ask(code === Op.Presence ? 'presence' : 'presenceStats', { code, topic });
  }

  /** Status changes: connecting → open → reconnecting → open … → closed. */
  on(event: 'status', listener: (status: ClientStatus) => void): () => void;
  /** Every delivery, topic-bound or not (user pushes, broadcasts; all of them in gpush mode). */
  on(event: 'message', listener: (message: Message) => void): () => void;
  /** Failures nobody else hears of: refused (re)subscriptions, replayed logins, terminal closes, 30006, throwing handlers. */
  on(event: 'error', listener: (error: Error) => void): () => void;
  /** A resume was answered `recovered: false`: messages may have been missed on that stream. */
  on(event: 'gap', listener: (info: GapInfo) => void): () => void;
  /** A connection joined / left a topic subscribed with `joinLeave: true` (herald.v1). */
  on(event: 'join' | 'leave', listener: (info: JoinLeaveInfo) => void): () => void;
  /** The backend subscribed / unsubscribed this connection (20005/20006); such a topic's pushes reach `message`. */
  on(event: 'serverSubscribe' | 'serverUnsubscribe', listener: (info: ServerSubscriptionInfo) => void): () => void;
  /** The client fell back to HTTP streaming (`stream`) or moved back to a WebSocket (`websocket`). */
  on(event: 'transport', listener: (transport: ClientTransport) => void): () => void;
  on<K extends keyof ClientEventMap>(event: K, listener: (payload: ClientEventMap[K]) => void): () => void {
    if (typeof listener !== 'function') throw new TypeError('listener must be a function');
    return this.events.on(event, listener);
  }

  private setStatus(status: ClientStatus): void {
    if (this.statusValue === status) return;
    this.statusValue = status;
    this.events.emit('status', status);
  }

  private setTransport(transport: ClientTransport): void {
    if (this.transportValue === transport) return;
    this.transportValue = transport;
    this.events.emit('transport', transport);
  }

  private openSocket(): void {
    let socket: WebSocketLike;
    try {
      const { Socket, url, enveloped } = this.options;
      socket = enveloped ? new Socket(url, HERALD_V1) : new Socket(url);
    } catch (error) {
      // A malformed URL: retrying cannot help.
      return this.fail(new HeraldConnectionError(`cannot open ${this.options.url}`, undefined, undefined, { cause: error }));
    }
    socket.binaryType = 'arraybuffer';
    this.socketOpened = false;
    const generation = this.attach(socket);
    socket.onopen = () => generation === this.link.generation && this.opened();
  }

  /** Make `socket` the client's: its frames and close are handled (its open too, by the caller). Returns its generation. */
  private attach(socket: WebSocketLike): number {
    const generation = ++this.link.generation;
    socket.onmessage = (event) => generation === this.link.generation && this.received(event.data);
    socket.onclose = (event) => generation === this.link.generation && this.dropped(event.code, event.reason);
    // WHATWG WebSockets: an error event is always followed by a close event, which is handled.
    socket.onerror = noop;
    this.link.socket = socket;
    return generation;
  }

  private opened(): void {
    this.socketOpened = true;
    this.fallback.restartCounts();
    if (this.options.enveloped && this.link.socket?.protocol !== HERALD_V1) {
      return this.fail(new HeraldConnectionError("the server did not select the herald.v1 subprotocol (use protocol: 'gpush')"));
    }
    this.attempt = 0;
    this.link.opened();
    this.loginFlow.session = 'out';
    this.heartbeat.start();
    const generation = this.link.generation;
    // With a credential the subscriptions wait for the login's answer (see SubscriptionBook.sendSubscribe).
    if (this.loginFlow.credential !== undefined) this.loginFlow.logIn();
    this.book.subscribeAll();
    if (generation === this.link.generation) this.setStatus('open');
  }

  private received(data: unknown): void {
    this.heartbeat.alive();
    const inbound = decodeInbound(data, this.options.enveloped);
    if (inbound === undefined) return this.report(new TypeError('received a frame of an unexpected type (binaryType not honoured?)'));
    this.handle(inbound);
  }

  /** A frame of the WebSocket, or a line of the HTTP stream. */
  private handle(inbound: Inbound): void {
    if (inbound.kind === 'delivery') return this.book.deliver(inbound.message, this.callHandler);
    if (inbound.kind === 'reply') return this.replied(inbound.reply, inbound.text);
    if (inbound.kind !== 'pong') this.events.emit(inbound.kind, inbound.event);
  }

  private replied(reply: Reply, text: string): void {
    if (reply.code === ReplyCode.Connected && reply.id === undefined) return;
    if (reply.code === ReplyCode.SessionExpired && reply.id === undefined) return this.sessionExpired();
    // 30009 is never a command's answer, on either protocol: a subscription's token (or grant) expired.
    const expired = expiredNotice(reply);
    // On the stream, a subscription is renewed by a new request (resuming from its position).
    if (expired !== undefined && this.transportValue === 'stream') return this.restartStreamSoon();
    if (expired !== undefined) return this.book.expired(expired.topic, expired.private);
    const notice = serverNotice(reply);
    if (notice !== undefined) return this.events.emit(notice.event, notice.info);
    const requests = this.link.requests;
    if (requests === null) return;
    // gpush: with no request waiting, a JSON text with a `code` is a push that happens to look like a reply.
    if (!this.options.enveloped && !requests.awaitingInOrder) return this.book.deliver({ data: text }, this.callHandler);
    requests.settle(reply);
  }

  private readonly callHandler = (handle: SubscriptionHandle, message: Message): void => {
    try {
      handle.handler(message);
    } catch (error) {
      this.report(new Error(`the handler of a subscription to "${handle.topic}" threw`, { cause: error }));
    }
  };

  private dropped(code: number, reason: string): void {
    this.teardown(new HeraldConnectionError(`the connection closed (${code})`, code, reason));
    if (this.statusValue === 'closed') return;
    if (!isReconnectableClose(code)) {
      const why = reason === '' ? '' : ` (${reason})`;
      return this.fail(new HeraldConnectionError(`the server closed the connection with ${code}${why}: not reconnecting`, code, reason));
    }
    // The upgrade failed (the socket never opened) too often in a row: receive over HTTP streaming.
    if (!this.socketOpened && this.fallback.upgradeFailed()) return this.fallBack();
    this.scheduleReconnect(code);
  }

  private scheduleReconnect(closeCode: number): void {
    if (this.attempt >= this.options.maxAttempts) {
      return this.fail(new HeraldConnectionError(`gave up after ${this.attempt} reconnect attempts`, closeCode));
    }
    const delay = backoffDelay(this.attempt++, this.options.baseMs, this.options.maxMs);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.reconnectNow();
    }, delay);
    this.setStatus('reconnecting');
  }

  /** A terminal failure: status `closed`, no reconnect, `error` event. */
  private fail(error: Error): void {
    this.clearRetry();
    this.leaveStream();
    const socket = this.teardown(error);
    if (socket !== null) safeClose(socket, 1000, '');
    this.loginFlow.rejectWaiters(error);
    this.setStatus('closed');
    this.report(error);
  }

  /** Detach from the current socket (returned, for closing) and fail its requests with `error`. */
  private teardown(error: Error): WebSocketLike | null {
    this.heartbeat.stop();
    this.loginFlow.dropped();
    return this.link.detach(error);
  }

  private clearRetry(): void {
    if (this.retryTimer === undefined) return;
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
  }

  /** Two heartbeat intervals passed with nothing received: drop the connection and reconnect. */
  private heartbeatFailed(): void {
    const code = HeraldCloseCode.HeartbeatTimeout;
    const socket = this.teardown(new HeraldConnectionError('no pong within two heartbeat intervals', code));
    if (socket !== null) safeClose(socket, code, 'heartbeat timeout');
    this.scheduleReconnect(code);
  }

  /** 30006, unprompted: the server dropped the private subscriptions. A token function is asked for a new token. */
  private sessionExpired(): void {
    this.loginFlow.session = 'out';
    this.book.resetPrivate(false);
    this.report(new HeraldError(ReplyCode.SessionExpired));
    this.loginFlow.expired();
    // On the stream: a new request, with a fresh token from a token function.
    this.restartStreamSoon();
  }

  /** The backoff wait is over (or skipped): the next attempt, on the current transport. */
  private reconnectNow(): void {
    if (this.transportValue === 'stream') this.startStream();
    else this.openSocket();
  }

  /** Leave WebSocket for the HTTP stream, and plan the first WebSocket try. */
  private fallBack(): void {
    // `attempt` carries on (the stream's opening restarts it): an outage that fails both transports in
    // turn still meets reconnect.maxAttempts and backs off.
    this.setTransport('stream');
    this.setStatus('reconnecting');
    this.startStream();
    this.webSocketTries.schedule();
  }

  /** A new stream request with the current subscriptions, positions and login (ending the one open). */
  private startStream(): void {
    this.stopStream();
    this.clearRetry();
    this.streamReached = false;
    const generation = ++this.link.generation;
    const current = (): boolean => generation === this.link.generation;
    const session = new StreamSession(this.options.fallback as NonNullable<ResolvedClientOptions['fallback']>, this.book, this.loginFlow, () => this.link.generation, {
      opened: () => current() && this.streamOpened(),
      alive: () => this.streamWatch.alive(),
      inbound: (inbound) => current() && this.handle(inbound),
      idle: () => {
        // No subscription to ask for: the next subscribe opens a stream.
        if (current()) this.streamSession = null;
      },
      ended: (code, reason, status, error) => current() && this.streamEnded(code, reason, status, error),
    });
    this.streamSession = session;
    session.start();
  }

  private streamOpened(): void {
    this.streamReached = true;
    this.attempt = 0;
    this.streamWatch.start();
    this.setStatus('open');
  }

  private streamEnded(code: number, reason: string, status: number, error: Error | undefined): void {
    this.stopStream();
    if (this.statusValue === 'closed') return;
    if (!this.streamReached && status === 0 && error !== undefined) {
      // Not even the stream reached the server (the request itself failed): the server is down or
      // unreachable, not WebSocket blocked. Back to WebSocket attempts, counted afresh, so a client is
      // not left on the stream for retryWebSocketMs after a mere outage.
      this.webSocketTries.stop();
      this.fallback.restartCounts();
      this.setTransport('websocket');
      return this.scheduleReconnect(code);
    }
    if (status !== 0) {
      // Refused before it started (an origin, a limit, a draining node): said, then tried again with backoff.
      this.report(new HeraldConnectionError(`the stream request was refused: ${status} ${reason}`, undefined, reason, { cause: error }));
    }
    if (!isReconnectableClose(code)) {
      const why = reason === '' ? '' : ` (${reason})`;
      return this.fail(new HeraldConnectionError(`the server ended the stream with ${code}${why}: not reconnecting`, code, reason));
    }
    this.scheduleReconnect(code);
  }

  /** Nothing arrived on the stream for two watch ticks (not even a keep-alive line): a new request. */
  private streamDead(): void {
    this.stopStream();
    this.scheduleReconnect(HeraldCloseCode.HeartbeatTimeout);
  }

  /**
   * On the stream, the set of subscriptions or the login changed: a new
   * request with the new set, once per turn however many changes (a request
   * and a history read per stream is the cost of each change).
   */
  private restartStreamSoon(): void {
    if (this.transportValue !== 'stream' || this.statusValue === 'closed' || this.streamRestartQueued) return;
    // Waiting for a backoff: that attempt takes the new set.
    if (this.retryTimer !== undefined) return;
    this.streamRestartQueued = true;
    queueMicrotask(() => {
      this.streamRestartQueued = false;
      if (this.transportValue === 'stream' && this.statusValue !== 'closed' && this.retryTimer === undefined) this.startStream();
    });
  }

  /** End the stream request, if any (no reconnect is planned here). */
  private stopStream(): void {
    this.streamWatch.stop();
    const session = this.streamSession;
    if (session === null) return;
    this.streamSession = null;
    session.stop();
    this.loginFlow.dropped();
  }

  /** Off the stream for good (close, a terminal failure): the request and the WebSocket tries end. */
  private leaveStream(): void {
    this.stopStream();
    this.webSocketTries.stop();
  }

  /**
   * A WebSocket opened while on the stream: end the stream and carry on over
   * the socket. Every subscription is sent again with its position as
   * `since`, so what the stream did not deliver is replayed and what it did
   * is not delivered twice (the duplicate filter drops any overlap).
   */
  private moveToWebSocket(socket: WebSocketLike): void {
    this.stopStream();
    this.clearRetry();
    this.setTransport('websocket');
    this.attach(socket);
    this.opened();
  }

  private report(error: Error): void {
    this.events.emit('error', error);
  }

  private listenerFailed(error: unknown, event: keyof ClientEventMap): void {
    // A throwing 'error' listener has nowhere left to report to.
    if (event === 'error') return;
    this.report(new Error(`a '${String(event)}' listener threw`, { cause: error }));
  }
}

/** Shortest tick of the stream's watch, in ms: two silent ticks outlast the server's keep-alive (every 30 s by default). */
const STREAM_WATCH_MIN_MS = 20_000;

function needsWebSocket(operation: string): HeraldConnectionError {
  return new HeraldConnectionError(`${operation} needs a WebSocket: the client is on the HTTP stream fallback (it moves back when a WebSocket opens)`);
}
