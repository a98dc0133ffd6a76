import { HeraldCloseCode, ReplyCode, isReconnectableClose } from '../codes.js';
import { backoffDelay } from './backoff.js';
import { resolveClientOptions, type ResolvedClientOptions } from './client-options.js';
import { decodeInbound, serverNotice, toPresenceInfo, toPresenceStats, type Reply } from './decode-inbound.js';
import { HeraldConnectionError, HeraldError, HeraldTimeoutError } from './errors.js';
import { Heartbeat } from './heartbeat.js';
import { RequestTable, type ReplyCallback } from './request-table.js';
import { StreamState, SubscriptionHandle, streamKey } from './stream-state.js';
import { TypedEmitter } from './typed-emitter.js';
import { FIRST_SINCE, HERALD_V1, Op, ignoreConnectionLoss, noop, safeClose, type LoginWaiter } from './wire.js';
import type {
  ClientEventMap,
  ClientStatus,
  GapInfo,
  HeraldClientOptions,
  JoinLeaveInfo,
  Message,
  PresenceInfo,
  PresenceStats,
  ServerSubscriptionInfo,
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
 */
export class HeraldClient {
  private readonly options: ResolvedClientOptions;
  private readonly heartbeat: Heartbeat;
  private readonly events = new TypedEmitter<ClientEventMap>((error, event) => this.listenerFailed(error, event));
  private readonly streams = new Map<string, StreamState>();
  private statusValue: ClientStatus = 'closed';
  private socket: WebSocketLike | null = null;
  /** Requests of the open connection; null while not open. */
  private requests: RequestTable | null = null;
  /** Bumped for every socket: callbacks and replies of an older one are ignored. */
  private generation = 0;
  private attempt = 0;
  private retryTimer: ReturnType<typeof setTimeout> | undefined = undefined;
  private credential: HeraldClientOptions['token'];
  /** Login state of the open connection. */
  private session: 'out' | 'pending' | 'in' = 'out';
  /** Bumped by every login attempt and by logout: only the latest attempt's answer counts. */
  private loginSeq = 0;
  /** The user last logged in as; private positions are dropped when it changes. */
  private uid: string | undefined = undefined;
  private loginWaiters: LoginWaiter[] = [];
  /** Why the last login on this connection failed; cleared by the next attempt. */
  private loginError: Error | undefined = undefined;

  /** Validates `options` (TypeError/RangeError); does not connect: call {@link connect}. */
  constructor(options: HeraldClientOptions) {
    this.options = resolveClientOptions(options);
    this.credential = this.options.token;
    this.heartbeat = new Heartbeat(this.options.heartbeatMs, () => this.sendText('ping'), () => this.heartbeatFailed());
  }

  get status(): ClientStatus {
    return this.statusValue;
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
      this.openSocket();
      return;
    }
    if (this.statusValue !== 'closed') return;
    this.attempt = 0;
    this.setStatus('connecting');
    this.openSocket();
  }

  /**
   * Close for good: no reconnect, pending requests fail with a
   * {@link HeraldConnectionError}. Subscriptions and the login are kept for
   * a later `connect()`.
   */
  close(): void {
    this.clearRetry();
    const error = new HeraldConnectionError('the client was closed', 1000);
    const socket = this.teardown(error);
    if (socket !== null) safeClose(socket, 1000, 'client closed');
    this.rejectLoginWaiters(error);
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
   * as the stream is subscribed.
   */
  subscribe(topic: string, handler: (message: Message) => void, opts: { private?: boolean; joinLeave?: boolean } = {}): Subscription {
    if (typeof topic !== 'string') throw new TypeError('topic must be a string');
    if (typeof handler !== 'function') throw new TypeError('handler must be a function');
    const isPrivate = opts.private === true;
    const key = streamKey(topic, isPrivate);
    let stream = this.streams.get(key);
    if (stream === undefined) {
      stream = new StreamState(topic, isPrivate);
      this.streams.set(key, stream);
    }
    const handle = new SubscriptionHandle(stream, handler, (h) => this.unsubscribeHandle(h));
    stream.handles.add(handle);
    if (opts.joinLeave === true && !stream.joinLeave) {
      stream.joinLeave = true;
      // Already subscribed without it: a plain subscribe (no `since`) of a held topic only adds the watch.
      const command = { code: isPrivate ? Op.SubscribePrivate : Op.Subscribe, topic, joinLeave: true };
      if (stream.sentOn === this.generation && this.options.enveloped) this.ask('subscribe', command).catch(this.reportUnlessLost);
    }
    if (this.requests !== null && stream.confirmedOn === this.generation) handle.confirm();
    else if (stream.sentOn !== this.generation) this.sendSubscribe(stream);
    return handle;
  }

  private unsubscribeHandle(handle: SubscriptionHandle): Promise<void> {
    const stream = handle.stream;
    if (!stream.handles.delete(handle) || stream.handles.size > 0) return Promise.resolve();
    if (this.streams.get(stream.key) === stream) this.streams.delete(stream.key);
    const onServer =
      this.requests !== null && stream.sentOn === this.generation && (!stream.isPrivate || this.session !== 'out');
    if (!onServer) return Promise.resolve();
    const op = stream.isPrivate ? Op.UnsubscribePrivate : Op.Unsubscribe;
    return this.ask('unsubscribe', { code: op, topic: stream.topic }).then(noop, ignoreConnectionLoss);
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
    this.credential = token;
    const result = new Promise<{ uid: string }>((resolve, reject) => {
      const waiter: LoginWaiter = { resolve, reject, timer: undefined as unknown as ReturnType<typeof setTimeout> };
      waiter.timer = setTimeout(() => {
        this.loginWaiters = this.loginWaiters.filter((w) => w !== waiter);
        reject(new HeraldTimeoutError('login', this.options.requestTimeoutMs));
      }, this.options.requestTimeoutMs);
      this.loginWaiters.push(waiter);
    });
    if (this.requests !== null) this.logIn();
    return result;
  }

  /**
   * Log out (op 4) and forget the credential. The server drops every private
   * subscription; the client keeps them and subscribes them again after the
   * next successful login (from scratch: their positions are forgotten).
   */
  logout(): Promise<void> {
    this.credential = undefined;
    this.loginSeq++;
    this.uid = undefined;
    this.rejectLoginWaiters(new Error('logout() was called before the login completed'));
    for (const stream of this.streams.values()) {
      if (!stream.isPrivate) continue;
      stream.reset();
      stream.sentOn = stream.confirmedOn = 0;
    }
    const wasLoggedIn = this.session !== 'out';
    this.session = 'out';
    if (this.requests === null || !wasLoggedIn) return Promise.resolve();
    const done = this.ask('logout', { code: Op.Logout });
    // Public subscriptions made while a login was pending waited for it.
    this.subscribeAll();
    return done.then(noop, (error: unknown) => {
      // 30002: the pending login failed, so there is nothing to log out of.
      if (error instanceof HeraldError && error.code === ReplyCode.NotLoggedIn) return;
      return ignoreConnectionLoss(error);
    });
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
    return this.ask(code === Op.Presence ? 'presence' : 'presenceStats', { code, topic });
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
  on<K extends keyof ClientEventMap>(event: K, listener: (payload: ClientEventMap[K]) => void): () => void {
    if (typeof listener !== 'function') throw new TypeError('listener must be a function');
    return this.events.on(event, listener);
  }

  private setStatus(status: ClientStatus): void {
    if (this.statusValue === status) return;
    this.statusValue = status;
    this.events.emit('status', status);
  }

  private openSocket(): void {
    const generation = ++this.generation;
    let socket: WebSocketLike;
    try {
      const { Socket, url, enveloped } = this.options;
      socket = enveloped ? new Socket(url, HERALD_V1) : new Socket(url);
    } catch (error) {
      // A malformed URL: retrying cannot help.
      return this.fail(new HeraldConnectionError(`cannot open ${this.options.url}`, undefined, undefined, { cause: error }));
    }
    socket.binaryType = 'arraybuffer';
    socket.onopen = () => generation === this.generation && this.opened();
    socket.onmessage = (event) => generation === this.generation && this.received(event.data);
    socket.onclose = (event) => generation === this.generation && this.dropped(event.code, event.reason);
    // WHATWG WebSockets: an error event is always followed by a close event, which is handled.
    socket.onerror = noop;
    this.socket = socket;
  }

  private opened(): void {
    if (this.options.enveloped && this.socket?.protocol !== HERALD_V1) {
      return this.fail(new HeraldConnectionError("the server did not select the herald.v1 subprotocol (use protocol: 'gpush')"));
    }
    this.attempt = 0;
    this.requests = new RequestTable(this.options.enveloped, this.options.requestTimeoutMs);
    this.session = 'out';
    this.heartbeat.start();
    const generation = this.generation;
    // With a credential the subscriptions wait for the login's answer (see sendSubscribe).
    if (this.credential !== undefined) this.logIn();
    this.subscribeAll();
    if (generation === this.generation) this.setStatus('open');
  }

  private received(data: unknown): void {
    this.heartbeat.alive();
    const inbound = decodeInbound(data, this.options.enveloped);
    if (inbound === undefined) return this.report(new TypeError('received a frame of an unexpected type (binaryType not honoured?)'));
    if (inbound.kind === 'delivery') return this.deliver(inbound.message);
    if (inbound.kind === 'reply') return this.replied(inbound.reply, inbound.text);
    if (inbound.kind !== 'pong') this.events.emit(inbound.kind, inbound.event);
  }

  private replied(reply: Reply, text: string): void {
    if (reply.code === ReplyCode.Connected && reply.id === undefined) return;
    if (reply.code === ReplyCode.SessionExpired && reply.id === undefined) return this.sessionExpired();
    const notice = serverNotice(reply);
    if (notice !== undefined) return this.events.emit(notice.event, notice.info);
    const requests = this.requests;
    if (requests === null) return;
    // gpush: with no request waiting, a JSON text with a `code` is a push that happens to look like a reply.
    if (!this.options.enveloped && !requests.awaitingInOrder) return this.deliver({ data: text });
    requests.settle(reply);
  }

  private deliver(message: Message): void {
    if (message.topic !== undefined) {
      const stream = this.streams.get(streamKey(message.topic, message.private === true));
      if (stream !== undefined) {
        if (message.seq !== undefined && !stream.accept(message.seq, message.epoch as string)) return;
        for (const handle of [...stream.handles]) {
          if (stream.handles.has(handle)) this.callHandler(handle, message);
        }
      }
    }
    this.events.emit('message', message);
  }

  private callHandler(handle: SubscriptionHandle, message: Message): void {
    try {
      handle.handler(message);
    } catch (error) {
      this.report(new Error(`the handler of a subscription to "${handle.topic}" threw`, { cause: error }));
    }
  }

  private dropped(code: number, reason: string): void {
    this.teardown(new HeraldConnectionError(`the connection closed (${code})`, code, reason));
    if (this.statusValue === 'closed') return;
    if (!isReconnectableClose(code)) {
      const why = reason === '' ? '' : ` (${reason})`;
      return this.fail(new HeraldConnectionError(`the server closed the connection with ${code}${why}: not reconnecting`, code, reason));
    }
    this.scheduleReconnect(code);
  }

  private scheduleReconnect(closeCode: number): void {
    if (this.attempt >= this.options.maxAttempts) {
      return this.fail(new HeraldConnectionError(`gave up after ${this.attempt} reconnect attempts`, closeCode));
    }
    const delay = backoffDelay(this.attempt++, this.options.baseMs, this.options.maxMs);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.openSocket();
    }, delay);
    this.setStatus('reconnecting');
  }

  /** A terminal failure: status `closed`, no reconnect, `error` event. */
  private fail(error: Error): void {
    this.clearRetry();
    const socket = this.teardown(error);
    if (socket !== null) safeClose(socket, 1000, '');
    this.rejectLoginWaiters(error);
    this.setStatus('closed');
    this.report(error);
  }

  /** Detach from the current socket (returned, for closing) and fail its requests with `error`. */
  private teardown(error: Error): WebSocketLike | null {
    this.heartbeat.stop();
    const socket = this.socket;
    this.socket = null;
    this.generation++;
    if (socket !== null) {
      // No-ops rather than null: `ws` throws an 'error' event that has no listener.
      socket.onopen = socket.onmessage = socket.onclose = socket.onerror = noop;
    }
    const requests = this.requests;
    this.requests = null;
    this.session = 'out';
    requests?.rejectAll(error);
    return socket;
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

  private sendText(text: string): boolean {
    try {
      this.socket?.send(text);
      return this.socket !== null;
    } catch {
      // Closing meanwhile: the close event follows.
      return false;
    }
  }

  /** Send a command as a request; `done` runs synchronously with its reply or failure. */
  private send(operation: string, command: Record<string, unknown>, done: ReplyCallback): void {
    const requests = this.requests;
    if (requests === null) return done(new HeraldConnectionError('not connected'), undefined);
    const id = requests.add(operation, done);
    if (id !== undefined) command.id = id;
    try {
      (this.socket as WebSocketLike).send(JSON.stringify(command));
    } catch (error) {
      requests.forget(id, new HeraldConnectionError(`${operation}: the command could not be sent`, undefined, undefined, { cause: error }));
    }
  }

  private ask(operation: string, command: Record<string, unknown>): Promise<Reply> {
    return new Promise((resolve, reject) => {
      this.send(operation, command, (error, reply) => (error === undefined ? resolve(reply as Reply) : reject(error)));
    });
  }

  /** Send every subscription not yet sent on this connection (those that may go now). */
  private subscribeAll(): void {
    for (const stream of this.streams.values()) if (stream.sentOn !== this.generation) this.sendSubscribe(stream);
  }

  /**
   * Subscribe `stream` on this connection, resuming from its position. Not
   * while a login is pending: the server holds commands behind a login and
   * refuses (30001) those past 32, so everything waits for its answer
   * (subscribeAll). Private streams need a successful login.
   */
  private sendSubscribe(stream: StreamState): void {
    if (this.requests !== null && stream.isPrivate && this.session === 'out' && this.loginMissing() !== undefined) {
      return this.checkLoginLater(stream);
    }
    if (this.requests === null || this.session === 'pending' || (stream.isPrivate && this.session !== 'in')) return;
    const generation = this.generation;
    stream.sentOn = generation;
    const command: Record<string, unknown> = { code: stream.isPrivate ? Op.SubscribePrivate : Op.Subscribe, topic: stream.topic };
    const position = stream.position;
    const resuming = this.options.enveloped && position !== undefined && position.epoch !== '';
    if (this.options.enveloped) command.since = resuming ? { seq: position.seq, epoch: position.epoch } : FIRST_SINCE;
    if (this.options.enveloped && stream.joinLeave) command.joinLeave = true;
    this.send('subscribe', command, (error, reply) => {
      if (this.streams.get(stream.key) !== stream || generation !== this.generation) return;
      if (error === undefined) this.subscribed(stream, reply as Reply, resuming);
      else this.subscribeFailed(stream, error);
    });
  }

  private subscribed(stream: StreamState, reply: Reply, resuming: boolean): void {
    stream.confirmedOn = this.generation;
    if (this.options.enveloped) {
      stream.resumed(reply.recovered, reply.position);
      if (resuming && reply.recovered === false && reply.position !== undefined) {
        this.events.emit('gap', { topic: stream.topic, private: stream.isPrivate, position: { ...reply.position } });
      }
    }
    for (const handle of stream.handles) handle.confirm();
  }

  private subscribeFailed(stream: StreamState, error: Error): void {
    // A lost connection is not a refusal: the next connection subscribes again.
    if (error instanceof HeraldConnectionError) return;
    // Refused for good: drop it. Others (30001, 30002 after a logout race) stay for the next connection or login.
    if (error instanceof HeraldError && (error.code === ReplyCode.InvalidTopic || error.code === ReplyCode.TooManySubscriptions)) {
      this.streams.delete(stream.key);
      for (const handle of stream.handles) handle.confirm(error);
      stream.handles.clear();
    }
    this.report(error);
    // No answer: ask again (subscribing is idempotent, and `since` keeps a resend from duplicating).
    if (error instanceof HeraldTimeoutError) this.sendSubscribe(stream);
  }

  /** Send op 3 with the current credential (calling it when it is a function). */
  private logIn(): void {
    const credential = this.credential;
    if (credential === undefined) return;
    const seq = ++this.loginSeq;
    const generation = this.generation;
    this.session = 'pending';
    this.loginError = undefined;
    let token: string | Promise<string>;
    try {
      token = typeof credential === 'function' ? credential() : credential;
    } catch (error) {
      return this.loginFailed(seq, new Error('the token function threw', { cause: error }));
    }
    if (typeof token === 'string') return this.sendLogin(seq, generation, token);
    Promise.resolve(token).then(
      (value) => this.sendLogin(seq, generation, value),
      (error: unknown) => this.loginFailed(seq, new Error('the token function rejected', { cause: error })),
    );
  }

  private sendLogin(seq: number, generation: number, token: unknown): void {
    if (seq !== this.loginSeq || generation !== this.generation) return;
    if (typeof token !== 'string') return this.loginFailed(seq, new TypeError('the token function must return a string'));
    this.send('login', { code: Op.Login, data: token }, (error, reply) => {
      // A lost connection: the next one logs in again.
      if (seq !== this.loginSeq || error instanceof HeraldConnectionError) return;
      if (error === undefined) return this.loggedIn(reply as Reply);
      this.loginFailed(seq, error);
      // No answer (e.g. a slow auth service): try again on this connection.
      if (error instanceof HeraldTimeoutError && seq === this.loginSeq && generation === this.generation) this.logIn();
    });
  }

  private loggedIn(reply: Reply): void {
    const detail = reply.detail as { uid?: unknown } | undefined;
    const uid = typeof detail?.uid === 'string' ? detail.uid : '';
    const sameUser = uid === this.uid;
    this.uid = uid;
    this.session = 'in';
    const waiters = this.loginWaiters.splice(0);
    for (const waiter of waiters) {
      clearTimeout(waiter.timer);
      waiter.resolve({ uid });
    }
    if (!sameUser) {
      for (const stream of this.streams.values()) {
        if (!stream.isPrivate) continue;
        // Another user's private topic is another stream: its position means nothing here.
        stream.reset();
        stream.sentOn = 0;
      }
    }
    this.subscribeAll();
  }

  /**
   * A private subscription on an open connection with no credential at all
   * can never be sent. Checked a microtask later, so `subscribe(…, { private:
   * true })` followed at once by `login()` is not refused.
   */
  private checkLoginLater(stream: StreamState): void {
    const generation = this.generation;
    queueMicrotask(() => {
      if (generation !== this.generation || this.session !== 'out' || this.streams.get(stream.key) !== stream) return;
      const error = this.loginMissing();
      if (error !== undefined) this.refusePrivate(error, stream);
    });
  }

  /** Why a private subscription cannot be sent on this connection: no credential, or its login failed; undefined if one may still come. */
  private loginMissing(): Error | undefined {
    if (this.credential === undefined) {
      return new HeraldError(ReplyCode.NotLoggedIn, 'a private subscription needs a login: pass options.token or call login()');
    }
    return this.loginError;
  }

  /**
   * Reject the `ready` of private subscriptions not yet confirmed (of `only`,
   * or of every private stream) and emit `error` once if any was waiting. The
   * subscriptions are kept: a later successful login sends them.
   */
  private refusePrivate(error: Error, only?: StreamState): void {
    let waiting = false;
    for (const stream of only === undefined ? this.streams.values() : [only]) {
      if (!stream.isPrivate || stream.confirmedOn === this.generation) continue;
      for (const handle of stream.handles) waiting = handle.confirm(error) || waiting;
    }
    if (waiting || only === undefined) this.report(error);
  }

  private loginFailed(seq: number, error: Error): void {
    if (seq !== this.loginSeq) return;
    if (this.session === 'pending') this.session = 'out';
    this.loginError = error;
    this.rejectLoginWaiters(error);
    // Said even when login() was awaited: the private subscriptions waited for this login too.
    this.refusePrivate(error);
    // The public subscriptions waited for the login's answer.
    this.subscribeAll();
  }

  private rejectLoginWaiters(error: Error): void {
    for (const waiter of this.loginWaiters.splice(0)) {
      clearTimeout(waiter.timer);
      waiter.reject(error);
    }
  }

  /** 30006, unprompted: the server dropped the private subscriptions. A token function is asked for a new token. */
  private sessionExpired(): void {
    this.session = 'out';
    for (const stream of this.streams.values()) if (stream.isPrivate) stream.sentOn = stream.confirmedOn = 0;
    this.report(new HeraldError(ReplyCode.SessionExpired));
    if (typeof this.credential === 'function' && this.requests !== null) this.logIn();
  }

  private report(error: Error): void {
    this.events.emit('error', error);
  }

  private readonly reportUnlessLost = (error: unknown): void => {
    if (!(error instanceof HeraldConnectionError)) this.report(error as Error);
  };

  private listenerFailed(error: unknown, event: keyof ClientEventMap): void {
    // A throwing 'error' listener has nowhere left to report to.
    if (event === 'error') return;
    this.report(new Error(`a '${String(event)}' listener threw`, { cause: error }));
  }
}
