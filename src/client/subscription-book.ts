import { ReplyCode } from '../codes.js';
import type { Reply } from './decode-inbound.js';
import { HeraldConnectionError, HeraldError, HeraldTimeoutError } from './errors.js';
import type { Link } from './link.js';
import type { LoginFlow } from './login-flow.js';
import { tokenRefreshAt } from './refresh-schedule.js';
import { StreamState, SubscriptionHandle, streamKey } from './stream-state.js';
import { isTokenRetry, subscriptionToken, type SubscriptionTokenCallback } from './token-source.js';
import type { ClientEventMap, Message, StreamPosition, Subscription } from './types.js';
import { FIRST_SINCE, Op, ignoreConnectionLoss, noop } from './wire.js';

/** Refusals after which a subscription is dropped: asking again unchanged cannot help. */
const FINAL_REFUSALS: ReadonlySet<number> = new Set([
  ReplyCode.AuthFailed, // a subscription token refused (after one retry with a fresh token)
  ReplyCode.InvalidTopic,
  ReplyCode.TooManySubscriptions, // also "namespace full"
  ReplyCode.Forbidden, // the backend said no (subscribe proxy), or joinLeave not allowed there
]);

/** One subscription of an HTTP stream request (the fallback, stream-session.ts). */
export interface StreamEntry {
  readonly stream: StreamState;
  /** Its entry in the request body. */
  readonly wire: { topic: string; private?: true; since: StreamPosition };
  /** `since` is a position the client held (not {@link FIRST_SINCE}): a `recovered: false` answer is a gap. */
  readonly resuming: boolean;
}

/**
 * The client's subscribed streams and their handlers: what is sent on each
 * connection (resuming from each stream's position), the replies, the
 * deliveries, and the subscription tokens of namespaces that need them.
 */
export class SubscriptionBook {
  private readonly streams = new Map<string, StreamState>();
  /** Called when a stream is added or removed by the application (the HTTP stream then reopens with the new set). */
  onStreamsChanged: () => void = noop;

  constructor(
    private readonly link: Link,
    private readonly login: LoginFlow,
    private readonly getToken: SubscriptionTokenCallback | undefined,
    private readonly emit: <K extends keyof ClientEventMap>(event: K, payload: ClientEventMap[K]) => void,
  ) {}

  private get enveloped(): boolean {
    return this.link.options.enveloped;
  }

  subscribe(topic: string, handler: (message: Message) => void, opts: { private?: boolean; joinLeave?: boolean; token?: string }): Subscription {
    const isPrivate = opts.private === true;
    const key = streamKey(topic, isPrivate);
    let stream = this.streams.get(key);
    if (stream === undefined) {
      stream = new StreamState(topic, isPrivate);
      this.streams.set(key, stream);
      this.onStreamsChanged();
    }
    const handle = new SubscriptionHandle(stream, handler, (h) => this.unsubscribeHandle(h));
    stream.handles.add(handle);
    if (opts.token !== undefined) {
      // Used from the next subscribe of the stream on (a held subscription keeps the one it was granted with).
      stream.token = opts.token;
      stream.tokenRefreshAt = tokenRefreshAtOf(opts.token);
      stream.needsToken = true;
      stream.tokenGiven = true;
    }
    const generation = this.link.generation;
    if (opts.joinLeave === true && !stream.joinLeave) {
      stream.joinLeave = true;
      // Already subscribed without it: a plain subscribe (no `since`) of a held topic only adds the watch.
      const command: Record<string, unknown> = { code: isPrivate ? Op.SubscribePrivate : Op.Subscribe, topic, joinLeave: true };
      if (stream.token !== undefined) command.token = stream.token;
      if (stream.sentOn === generation && this.enveloped) this.link.ask('subscribe', command).catch(this.reportUnlessLost);
    }
    if (this.link.isOpen && stream.confirmedOn === generation) handle.confirm();
    else if (stream.sentOn !== generation) this.sendSubscribe(stream);
    return handle;
  }

  private unsubscribeHandle(handle: SubscriptionHandle): Promise<void> {
    const stream = handle.stream;
    if (!stream.handles.delete(handle) || stream.handles.size > 0) return Promise.resolve();
    if (this.streams.get(stream.key) === stream) {
      this.streams.delete(stream.key);
      this.onStreamsChanged();
    }
    const onServer =
      this.link.isOpen && stream.sentOn === this.link.generation && (!stream.isPrivate || this.login.session !== 'out');
    if (!onServer) return Promise.resolve();
    const op = stream.isPrivate ? Op.UnsubscribePrivate : Op.Unsubscribe;
    return this.link.ask('unsubscribe', { code: op, topic: stream.topic }).then(noop, ignoreConnectionLoss);
  }

  /** A delivery: to the handlers of its stream (dropping a duplicate), then the `message` event. */
  deliver(message: Message, callHandler: (handle: SubscriptionHandle, message: Message) => void): void {
    if (message.topic !== undefined) {
      const stream = this.streams.get(streamKey(message.topic, message.private === true));
      if (stream !== undefined) {
        if (message.seq !== undefined && !stream.accept(message.seq, message.epoch as string)) return;
        for (const handle of [...stream.handles]) {
          if (stream.handles.has(handle)) callHandler(handle, message);
        }
      }
    }
    this.emit('message', message);
  }

  /**
   * The subscriptions of an HTTP stream request, marked sent on the current
   * generation: every stream, each resuming from its position; the private
   * ones only `withLogin`. (A stream request carries no subscription tokens
   * and no `joinLeave`: those need the WebSocket.)
   */
  streamEntries(withLogin: boolean): StreamEntry[] {
    const entries: StreamEntry[] = [];
    for (const stream of this.streams.values()) {
      if (stream.isPrivate && !withLogin) continue;
      stream.sentOn = this.link.generation;
      stream.attempt++;
      const position = stream.position;
      const resuming = position !== undefined && position.epoch !== '';
      const since = resuming ? { seq: position.seq, epoch: position.epoch } : FIRST_SINCE;
      entries.push({ stream, wire: stream.isPrivate ? { topic: stream.topic, private: true, since } : { topic: stream.topic, since }, resuming });
    }
    return entries;
  }

  /** The HTTP stream's reply to `entry`: as a subscribe's reply on the WebSocket. */
  streamAnswered(entry: StreamEntry, reply: Reply, error: Error | undefined): void {
    const stream = entry.stream;
    // (A login as another user reset `sentOn` of the private streams meanwhile: their answers still count.)
    if (this.streams.get(stream.key) !== stream) return;
    if (error === undefined) return this.subscribed(stream, reply, entry.resuming);
    // Refusals the WebSocket can get past (a subscription token, a login) keep the subscription for it.
    if (isTokenRetry(error) || (error instanceof HeraldError && error.code === ReplyCode.NotLoggedIn)) return this.emit('error', error);
    this.subscribeFailed(stream, error);
  }

  /** Send every subscription not yet sent on this connection (those that may go now). */
  subscribeAll(): void {
    for (const stream of this.streams.values()) if (stream.sentOn !== this.link.generation) this.sendSubscribe(stream);
  }

  /**
   * The private streams are no longer on the server (logout, expired login):
   * send them again after the next login. `forgetPositions`: they belonged
   * to another user (or to nobody now), so start them from scratch.
   */
  resetPrivate(forgetPositions: boolean): void {
    for (const stream of this.streams.values()) {
      if (!stream.isPrivate) continue;
      if (forgetPositions) stream.reset();
      stream.sentOn = stream.confirmedOn = 0;
    }
  }

  /** Logged in as another user: private positions are another stream's, and subscription tokens name another `sub`. */
  userChanged(): void {
    for (const stream of this.streams.values()) {
      stream.tokenRefreshAt = 0;
      if (!stream.isPrivate) continue;
      stream.reset();
      stream.sentOn = 0;
    }
  }

  /**
   * 30009, unprompted: the server ended the subscription of `topic` because
   * its token (or the backend's grant) expired. Subscribe again at once: with
   * a fresh token from the callback when the stream uses tokens, resuming
   * from its position (herald.v1), so nothing published meanwhile is lost.
   */
  expired(topic: string, isPrivate: boolean): void {
    const stream = this.streams.get(streamKey(topic, isPrivate));
    if (stream === undefined || !this.link.isOpen) return;
    stream.tokenRefreshAt = 0;
    stream.sentOn = stream.confirmedOn = 0;
    this.sendSubscribe(stream);
  }

  /**
   * Subscribe `stream` on this connection, resuming from its position. Not
   * while a login is pending: the server holds commands behind a login and
   * refuses (30001) those past 32, so everything waits for its answer
   * (subscribeAll). Private streams need a successful login. A stream that
   * needs a token gets the one it holds while fresh, else a new one from
   * `getSubscriptionToken` (`refetch`: new one regardless).
   */
  private sendSubscribe(stream: StreamState, refetch = false): void {
    const login = this.login;
    if (this.link.isOpen && stream.isPrivate && login.session === 'out' && login.missing() !== undefined) {
      return this.checkLoginLater(stream);
    }
    if (!this.link.isOpen || login.session === 'pending' || (stream.isPrivate && login.session !== 'in')) return;
    const generation = this.link.generation;
    const attempt = ++stream.attempt;
    stream.sentOn = generation;
    // A token given to subscribe() goes out as is once (it may be close to expiry, yet valid: the caller's choice).
    const stale = stream.token === undefined || refetch || (!stream.tokenGiven && Date.now() >= stream.tokenRefreshAt);
    stream.tokenGiven = false;
    if (!stream.needsToken || !stale || this.getToken === undefined) return this.sendCommand(stream, generation, false);
    subscriptionToken(this.getToken, stream).then(
      (token) => {
        if (stream.attempt !== attempt || generation !== this.link.generation || this.streams.get(stream.key) !== stream) return;
        stream.token = token;
        stream.tokenRefreshAt = tokenRefreshAtOf(token);
        this.sendCommand(stream, generation, true);
      },
      (error: Error) => {
        if (stream.attempt !== attempt || generation !== this.link.generation || this.streams.get(stream.key) !== stream) return;
        this.refuse(stream, error);
      },
    );
  }

  private sendCommand(stream: StreamState, generation: number, freshToken: boolean): void {
    const command: Record<string, unknown> = { code: stream.isPrivate ? Op.SubscribePrivate : Op.Subscribe, topic: stream.topic };
    const position = stream.position;
    const resuming = this.enveloped && position !== undefined && position.epoch !== '';
    if (this.enveloped) command.since = resuming ? { seq: position.seq, epoch: position.epoch } : FIRST_SINCE;
    if (this.enveloped && stream.joinLeave) command.joinLeave = true;
    if (stream.token !== undefined) command.token = stream.token;
    const attempt = stream.attempt;
    this.link.send('subscribe', command, (error, reply) => {
      if (this.streams.get(stream.key) !== stream || generation !== this.link.generation) return;
      if (error === undefined) return this.subscribed(stream, reply as Reply, resuming);
      // Refused for want of a token, or an expired one: fetch a token and ask once more.
      if (isTokenRetry(error) && !freshToken && this.getToken !== undefined && stream.attempt === attempt) {
        stream.needsToken = true;
        return this.sendSubscribe(stream, true);
      }
      this.subscribeFailed(stream, error);
    });
  }

  private subscribed(stream: StreamState, reply: Reply, resuming: boolean): void {
    stream.confirmedOn = this.link.generation;
    if (this.enveloped) {
      stream.resumed(reply.recovered, reply.position);
      if (resuming && reply.recovered === false && reply.position !== undefined) {
        this.emit('gap', { topic: stream.topic, private: stream.isPrivate, position: { ...reply.position } });
      }
    }
    for (const handle of stream.handles) handle.confirm();
  }

  private subscribeFailed(stream: StreamState, error: Error): void {
    // A lost connection is not a refusal: the next connection subscribes again.
    if (error instanceof HeraldConnectionError) return;
    // Refused for good: drop it. Others (30001, 30002 after a logout race) stay for the next connection or login.
    if (error instanceof HeraldError && FINAL_REFUSALS.has(error.code)) return this.refuse(stream, error);
    this.emit('error', error);
    // No answer: ask again (subscribing is idempotent, and `since` keeps a resend from duplicating).
    if (error instanceof HeraldTimeoutError) this.sendSubscribe(stream);
  }

  /** Drop `stream`: its `ready` promises reject with `error`, which is also emitted. */
  private refuse(stream: StreamState, error: Error): void {
    if (this.streams.get(stream.key) === stream) this.streams.delete(stream.key);
    for (const handle of stream.handles) handle.confirm(error);
    stream.handles.clear();
    this.emit('error', error);
  }

  /**
   * A private subscription on an open connection with no credential at all
   * can never be sent. Checked a microtask later, so `subscribe(…, { private:
   * true })` followed at once by `login()` is not refused.
   */
  private checkLoginLater(stream: StreamState): void {
    const generation = this.link.generation;
    queueMicrotask(() => {
      if (generation !== this.link.generation || this.login.session !== 'out' || this.streams.get(stream.key) !== stream) return;
      const error = this.login.missing();
      if (error !== undefined) this.refusePrivate(error, stream);
    });
  }

  /**
   * Reject the `ready` of private subscriptions not yet confirmed (of `only`,
   * or of every private stream) and emit `error` once if any was waiting. The
   * subscriptions are kept: a later successful login sends them.
   */
  refusePrivate(error: Error, only?: StreamState): void {
    let waiting = false;
    for (const stream of only === undefined ? this.streams.values() : [only]) {
      if (!stream.isPrivate || stream.confirmedOn === this.link.generation) continue;
      for (const handle of stream.handles) waiting = handle.confirm(error) || waiting;
    }
    if (waiting || only === undefined) this.emit('error', error);
  }

  private readonly reportUnlessLost = (error: unknown): void => {
    if (!(error instanceof HeraldConnectionError)) this.emit('error', error as Error);
  };
}

function tokenRefreshAtOf(token: string): number {
  return tokenRefreshAt(token, Date.now());
}
