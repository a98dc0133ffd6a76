import { HeraldCloseCode, ReplyCode } from '../codes.js';
import { StreamHold, topicSetHas } from '../hub/hub-client.js';
import type { Hub } from '../hub/hub.js';
import { streamOf } from '../streams.js';
import type { Namespace, Namespaces } from '../util/namespaces.js';
import { checkTopic, type TopicRules } from '../util/topic-rules.js';
import type { JoinLeaveWatchers } from './join-leave.js';
import { dropHold, holdStream, parseSince, releaseStream, type ReplayResult, type ResumePosition } from './resume.js';
import { waitingQueue, type SessionClient } from './session-client.js';
import type { GpushSessionOptions, SessionEvents } from './session-options.js';
import { SubscribeAuthorizer, type SubscribeAuthorization } from './subscribe-authorization.js';
import { SubscriptionExpiries, type SubscriptionExpiry } from './subscription-expiry.js';

/** What the subscription commands use of their session. */
export interface SubscriptionContext {
  readonly hub: Hub;
  readonly rules: TopicRules;
  readonly maxSubscriptions: number;
  readonly events: SessionEvents;
  readonly history: GpushSessionOptions['history'];
  readonly joinLeave: JoinLeaveWatchers;
  readonly namespaces: Namespaces;
  /** Connections of this node subscribed to a topic (a namespace's maxSubscribers). */
  subscriberCount(topic: string): number;
  /** The `id` of the command being handled; set while an asynchronous subscribe completes. */
  requestId: number | string | undefined;
  reply(client: SessionClient, code: ReplyCode, detail?: unknown, id?: unknown, extra?: object): void;
  badRequest(client: SessionClient, detail: string): void;
  asyncFailed(client: SessionClient, error: unknown): void;
  /** Run the commands held while a subscribe was authorized (as after a login). */
  replayDeferred(client: SessionClient): void;
}

/**
 * The subscription commands of a session: subscribe (ops 1 and 5, with
 * herald.v1's resume and join/leave flag, and the topic's namespace rules),
 * unsubscribe (ops 2 and 6), the server API's subscribe and unsubscribe
 * (unprompted 20005/20006), and subscriptions ending at their authorization's
 * expiry (unprompted 30009).
 */
export class Subscriptions {
  private readonly authorizer: SubscribeAuthorizer;
  /** Subscriptions authorized until a time, on one timing wheel. */
  readonly expiries: SubscriptionExpiries;
  /**
   * Subscribes with `since` still waiting for their history, by their hold (what the hub fills
   * meanwhile): the request's id, so a command that ends the hold first can answer it. Weak, so
   * idle connections carry nothing for it.
   */
  private readonly pendingResumes = new WeakMap<StreamHold, number | string | undefined>();

  constructor(
    private readonly s: SubscriptionContext,
    options: Pick<GpushSessionOptions, 'verifier' | 'subscribeProxy'>,
  ) {
    this.authorizer = new SubscribeAuthorizer(options.verifier, options.subscribeProxy);
    this.expiries = new SubscriptionExpiries((entry) => this.expired(entry));
  }

  /**
   * Subscribe `client` from the server side (server API `subscribe`) and tell
   * it with an unprompted 20005 `{"topic","private"}`, which no request of its
   * own can be answered with. A private subscription needs the connection to
   * be logged in (the caller picks the user's connections). False when it was
   * already subscribed, or when the connection's or the node's subscription
   * limit refuses it (counted like a client's refused subscribe).
   */
  serverSubscribe(client: SessionClient, topic: string, isPrivate: boolean): boolean {
    if (!client.conn.isOpen || (isPrivate && client.uid === null)) return false;
    if (topicSetHas(isPrivate ? client.privateTopics : client.publicTopics, topic)) return false;
    if (client.subscriptionCount >= this.s.maxSubscriptions) {
      this.s.events.onSubscriptionRefused?.('connection');
      return false;
    }
    const budget = this.s.hub.budgetRefusal(topic, isPrivate);
    if (budget !== undefined) {
      this.s.events.onSubscriptionRefused?.(budget === 'topics' ? 'node_topics' : 'node_subscriptions');
      return false;
    }
    this.addSubscription(client, topic, isPrivate, false);
    this.s.reply(client, ReplyCode.ServerSubscribed, undefined, undefined, { topic, private: isPrivate });
    return true;
  }

  /**
   * Unsubscribe `client` from the server side (server API `unsubscribe`) and
   * tell it with an unprompted 20006. A resume of that subscription still
   * reading its history is answered 30007 first. False when not subscribed.
   */
  serverUnsubscribe(client: SessionClient, topic: string, isPrivate: boolean): boolean {
    if (!this.endSubscription(client, topic, isPrivate, 'unsubscribed by the server before its history was read')) return false;
    this.s.reply(client, ReplyCode.ServerUnsubscribed, undefined, undefined, { topic, private: isPrivate });
    return true;
  }

  /** A subscription authorized until a time reached it: it ends, and the client is told (30009). */
  private expired(entry: SubscriptionExpiry): void {
    const { client, topic, isPrivate } = entry;
    if (!this.endSubscription(client, topic, isPrivate, 'the subscription expired before its history was read')) return;
    this.s.reply(client, ReplyCode.SubscriptionExpired, undefined, undefined, { topic, private: isPrivate });
  }

  /** End a subscription the client did not ask to end; false when it held none. */
  private endSubscription(client: SessionClient, topic: string, isPrivate: boolean, why: string): boolean {
    if (!client.conn.isOpen || (isPrivate && client.uid === null)) return false;
    const removed = isPrivate ? this.s.hub.unsubscribePrivate(client, topic) : this.s.hub.unsubscribePublic(client, topic);
    if (removed) this.forgetSubscription(client, topic, isPrivate, why);
    return removed;
  }

  /**
   * What goes with a subscription once the hub dropped it: its expiry, its join/leave watch, and
   * a subscribe of it still reading its history (answered 30007 with `why`: every request gets
   * exactly one reply, in order).
   */
  private forgetSubscription(client: SessionClient, topic: string, isPrivate: boolean, why: string): void {
    this.expiries.cancel(client, topic, isPrivate);
    this.s.joinLeave.prune(client, topic);
    if (client.holding !== null) {
      const stream = streamOf(isPrivate ? { uid: client.uid as string, topic } : { topic });
      this.cancelResume(client, stream, why);
      dropHold(client, stream);
    }
  }

  subscribe(client: SessionClient, command: Record<string, unknown>, isPrivate: boolean): void {
    const { topic, joinLeave } = command;
    if (isPrivate && client.uid === null) return this.s.reply(client, ReplyCode.NotLoggedIn);
    const problem = checkTopic(topic, this.s.rules);
    if (problem !== undefined) return this.s.reply(client, ReplyCode.InvalidTopic, problem);
    const since = parseSince(command.since);
    if (since === null) return this.s.badRequest(client, 'since must be {"seq": <integer ≥ 0>, "epoch": "<string>"}');
    // gpush connections ignore the field (gpush ignores unknown fields); herald.v1 says when it is malformed.
    if (joinLeave !== undefined && typeof joinLeave !== 'boolean' && client.conn.protocol !== undefined) {
      return this.s.badRequest(client, 'joinLeave must be a boolean');
    }
    const name = topic as string;
    const namespace = this.s.namespaces.namespaceOf(name);
    // A topic of no namespace: exactly as before namespaces existed.
    if (namespace === undefined) return this.admit(client, name, isPrivate, since, joinLeave, undefined, undefined);
    if (joinLeave === true && !namespace.joinLeave && client.conn.protocol !== undefined) {
      return this.s.reply(client, ReplyCode.Forbidden, 'join/leave not allowed in this namespace');
    }
    const verdict = this.authorizer.authorize(client, namespace, name, isPrivate, command.token);
    if (!(verdict instanceof Promise)) return this.authorized(client, namespace, name, isPrivate, since, joinLeave, verdict);
    // A token or a backend to ask: later commands wait, as during a login, so replies keep their order.
    const seq = client.loginSeq;
    const uid = client.uid;
    const id = this.s.requestId;
    client.deferred = waitingQueue();
    verdict
      .then((answer) => {
        if (client.loginSeq !== seq || !client.conn.isOpen) return;
        this.s.requestId = id as number | string | undefined;
        try {
          // The login it was asked for expired meanwhile: a private subscribe has no user any more.
          if (isPrivate && client.uid !== uid) this.s.reply(client, ReplyCode.NotLoggedIn);
          else this.authorized(client, namespace, name, isPrivate, since, joinLeave, answer);
        } finally {
          this.s.requestId = undefined;
        }
        this.s.replayDeferred(client);
      })
      .catch((error: unknown) => this.s.asyncFailed(client, error));
  }

  private authorized(
    client: SessionClient,
    namespace: Namespace,
    name: string,
    isPrivate: boolean,
    since: ResumePosition | undefined,
    joinLeave: unknown,
    verdict: SubscribeAuthorization,
  ): void {
    if (!verdict.ok) return this.s.reply(client, verdict.code, verdict.detail);
    this.admit(client, name, isPrivate, since, joinLeave, namespace, verdict.expiresAt);
  }

  /** The subscribe is authorized: check the limits, subscribe, answer (or resume first). */
  private admit(
    client: SessionClient,
    name: string,
    isPrivate: boolean,
    since: ResumePosition | undefined,
    joinLeave: unknown,
    namespace: Namespace | undefined,
    expiresAt: number | undefined,
  ): void {
    const already = topicSetHas(isPrivate ? client.privateTopics : client.publicTopics, name);
    if (!already) {
      const most = namespace?.maxSubscribers;
      // Subscribers are connections: one already subscribed the other way (public/private) is no new one.
      const member = topicSetHas(client.publicTopics, name) || topicSetHas(client.privateTopics, name);
      if (most !== undefined && !member && this.s.subscriberCount(name) >= most) {
        this.s.events.onSubscriptionRefused?.('namespace_full');
        return this.s.reply(client, ReplyCode.TooManySubscriptions, 'namespace full');
      }
      if (client.subscriptionCount >= this.s.maxSubscriptions) {
        this.s.events.onSubscriptionRefused?.('connection');
        return this.s.reply(client, ReplyCode.TooManySubscriptions, `at most ${this.s.maxSubscriptions} subscriptions per connection`);
      }
      const budget = this.s.hub.budgetRefusal(name, isPrivate);
      if (budget !== undefined) {
        this.s.events.onSubscriptionRefused?.(budget === 'topics' ? 'node_topics' : 'node_subscriptions');
        const limit = budget === 'topics' ? `${this.s.hub.maxTopics} topics` : `${this.s.hub.maxSubscriptions} subscriptions`;
        return this.s.reply(client, ReplyCode.TooManySubscriptions, `this server holds its maximum of ${limit}; retry later`);
      }
    }
    // herald.v1 replies say when the subscription will end; gpush's stay byte for byte as they were.
    const until = expiresAt === undefined || client.conn.protocol === undefined ? undefined : { expiresAt };
    if (since === undefined) {
      this.addSubscription(client, name, isPrivate, already, joinLeave);
      if (namespace !== undefined) this.expiries.set(client, name, isPrivate, expiresAt);
      return this.s.reply(client, ReplyCode.Subscribed, undefined, this.s.requestId, until);
    }
    // herald.v1 resume: hold live messages, subscribe, replay history after `since`, then release.
    const stream = streamOf(isPrivate ? { uid: client.uid as string, topic: name } : { topic: name });
    // A resume of this stream still reading its history is replaced by this one: answer it first.
    this.cancelResume(client, stream, 'a later subscribe of the same topic replaced it');
    // Live messages are held (bounded by the connection's buffer bound) until the replay has caught up;
    // a resume that falls that far behind ends as a slow consumer: the client resumes again from what it got.
    const held = holdStream(client, stream, client.conn.bufferLimit, () =>
      client.conn.close(HeraldCloseCode.SlowConsumer, 'slow consumer: live messages outgrew the resume'),
    );
    this.addSubscription(client, name, isPrivate, already, joinLeave);
    if (namespace !== undefined) this.expiries.set(client, name, isPrivate, expiresAt);
    const id = this.s.requestId;
    this.pendingResumes.set(held, id);
    const replayed = this.s.history === undefined ? Promise.resolve(undefined) : this.s.history(stream, since);
    replayed
      .then(
        (result) => this.resumed(client, stream, held, result, id, until),
        () => this.resumed(client, stream, held, undefined, id, until),
      )
      .catch((error: unknown) => this.s.asyncFailed(client, error));
  }

  private addSubscription(client: SessionClient, name: string, isPrivate: boolean, already: boolean, joinLeave?: unknown): void {
    if (!already) {
      if (isPrivate) this.s.hub.subscribePrivate(client, name);
      else this.s.hub.subscribePublic(client, name);
    }
    // `true` starts watching the topic's join/leave events, `false` stops; absent leaves the watch as it is.
    if (joinLeave === true) this.s.joinLeave.watch(client, name);
    else if (joinLeave === false) this.s.joinLeave.unwatch(client, name);
  }

  /** The history came back (or failed: undefined): answer the subscribe, then replay and go live. */
  private resumed(
    client: SessionClient,
    stream: string,
    held: StreamHold,
    result: ReplayResult | undefined,
    id: unknown,
    until: { expiresAt: number } | undefined,
  ): void {
    if (!client.conn.isOpen || client.holding?.get(stream) !== held) return;
    this.pendingResumes.delete(held);
    const extra = result === undefined ? { recovered: false, ...until } : { recovered: result.recovered, position: result.position, ...until };
    this.s.reply(client, ReplyCode.Subscribed, undefined, id, extra);
    releaseStream(client, client.conn, stream, held, result);
  }

  unsubscribe(client: SessionClient, topic: unknown, isPrivate: boolean): void {
    if (isPrivate && client.uid === null) return this.s.reply(client, ReplyCode.NotLoggedIn);
    if (typeof topic !== 'string') return this.s.reply(client, ReplyCode.InvalidTopic, 'topic must be a string');
    // Only the named kind is dropped: gpush's op 2 also removed a private subscription.
    if (isPrivate) this.s.hub.unsubscribePrivate(client, topic);
    else this.s.hub.unsubscribePublic(client, topic);
    this.forgetSubscription(client, topic, isPrivate, 'unsubscribed before its history was read');
    this.s.reply(client, ReplyCode.Unsubscribed);
  }

  /** Answer a subscribe of `stream` still waiting for its history with 30007 and end its hold. */
  private cancelResume(client: SessionClient, stream: string, why: string): void {
    const held = client.holding?.get(stream);
    if (!(held instanceof StreamHold) || !this.pendingResumes.has(held)) return;
    const id = this.pendingResumes.get(held);
    this.pendingResumes.delete(held);
    dropHold(client, stream);
    this.s.reply(client, ReplyCode.Cancelled, why, id);
  }
}
