import type { LoginIdentity, LoginVerifier } from '../auth/login-verifier.js';
import { HeraldCloseCode, ReplyCode } from '../codes.js';
import { CloseCode } from '../protocol/constants.js';
import type { WebSocketConnection } from '../gateway/connection.js';
import type { UpgradeRequest } from '../protocol/upgrade-request.js';
import { TimingWheel, monotonicNow } from '../util/timing-wheel.js';
import type { ConnectionHandler } from '../gateway/websocket-server.js';
import { StreamHold, topicSetHas } from '../hub/hub-client.js';
import type { Hub } from '../hub/hub.js';
import { Namespaces, type Namespace } from '../util/namespaces.js';
import { checkTopic, checkUid, type TopicRules } from '../util/topic-rules.js';
import { streamOf } from '../streams.js';
import { PONG_FRAME, ReplyFrames, isTextPing } from './replies.js';
import { dropHold, holdStream, parseSince, releaseStream, type ReplayResult, type ResumePosition } from './resume.js';
import type { JoinLeaveEvent } from '../control/control-plane.js';
import { JoinLeaveWatchers } from './join-leave.js';
import { PresenceOp, PresenceRequests } from './presence-requests.js';
import type { ConnectVerdict } from './proxy-hooks.js';
import { ClientPublish } from './client-publish.js';
import { ConnectAdmission, closeReason } from './connect-admission.js';
import { SubscribeAuthorizer, type SubscribeAuthorization } from './subscribe-authorization.js';
import { SubscriptionExpiries, type SubscriptionExpiry } from './subscription-expiry.js';
import {
  ClientOp,
  MAX_DEFERRED_COMMANDS,
  MAX_DEFERRED_MARKERS,
  OVERFLOW,
  SessionClient,
  type ClientIds,
} from './session-client.js';
import type { GpushSessionOptions, SessionEvents } from './session-options.js';

export { ClientOp, SessionClient } from './session-client.js';
export type { GpushSessionOptions, SessionEvents } from './session-options.js';

/**
 * The gpush-compatible client protocol, as the gateway's connection handler:
 * greeting on open, text `ping` → `pong`, ops 1–6 with gpush's reply codes
 * (and Herald's own for limits, see codes.ts). Logins are verified
 * asynchronously and never block other connections; a login's expiry ends its
 * private subscriptions (30006), checked on a one-second timing wheel.
 */
export class GpushSession implements ConnectionHandler {
  private readonly hub: Hub;
  private readonly verifier: LoginVerifier | undefined;
  private readonly rules: TopicRules;
  private readonly maxSubscriptions: number;
  private readonly events: SessionEvents;
  private readonly expiries: TimingWheel<SessionClient>;
  private readonly history: GpushSessionOptions['history'];
  private readonly replies: ReplyFrames;
  private readonly joinLeave: JoinLeaveWatchers;
  private readonly presenceRequests: PresenceRequests;
  private readonly namespaces: Namespaces;
  private readonly authorizer: SubscribeAuthorizer;
  private readonly subscriptionExpiries: SubscriptionExpiries;
  private readonly clientPublish: ClientPublish;
  private readonly admission: ConnectAdmission | undefined;
  /** The `id` of the command being handled (herald.v1 echoes it in the reply). */
  private requestId: number | string | undefined = undefined;
  /**
   * Subscribes with `since` still waiting for their history, by their hold (what the hub fills
   * meanwhile): the request's id, so a command that ends the hold first can answer it. Weak, so
   * idle connections carry nothing for it.
   */
  private readonly pendingResumes = new WeakMap<StreamHold, number | string | undefined>();
  private readonly clientIds: ClientIds;

  constructor(options: GpushSessionOptions) {
    this.hub = options.hub;
    this.verifier = options.verifier;
    this.rules = options.topicRules;
    this.maxSubscriptions = options.maxSubscriptionsPerConnection;
    this.events = options.events ?? {};
    this.history = options.history;
    this.replies = new ReplyFrames(options.replyMessages);
    this.expiries = new TimingWheel<SessionClient>((client) => this.expire(client), 1000, 512);
    this.clientIds = { prefix: options.clientIdPrefix ?? '', epochMs: Date.now(), count: 0 };
    this.joinLeave = new JoinLeaveWatchers((topic, watching) => this.events.onJoinLeaveWatch?.(topic, watching));
    this.presenceRequests = new PresenceRequests(
      options.presence,
      options.clientPresence === true,
      this.rules,
      (client, code, detail, id) => this.reply(client as SessionClient, code, detail, id),
      (client, error) => this.asyncFailed(client as SessionClient, error),
    );
    this.namespaces = options.namespaces ?? Namespaces.NONE;
    this.authorizer = new SubscribeAuthorizer(options.verifier, options.subscribeProxy);
    this.subscriptionExpiries = new SubscriptionExpiries((entry) => this.subscriptionExpired(entry));
    this.clientPublish = new ClientPublish(
      this.namespaces,
      this.rules,
      options.publish,
      options.maxPublishBytes ?? 64 * 1024,
      (client, code, detail, id) => this.reply(client, code, detail, id),
      (client, error) => this.asyncFailed(client, error),
    );
    this.admission = options.connectProxy === undefined ? undefined : new ConnectAdmission(options.connectProxy, options.connectProxyHeaders);
  }

  /** A join/leave of a topic (from the control plane): to every local herald.v1 connection watching it. */
  deliverJoinLeave(event: JoinLeaveEvent): number {
    return this.joinLeave.deliver(event);
  }

  onOpen(conn: WebSocketConnection, request?: UpgradeRequest): void {
    const client = new SessionClient(conn, this.clientIds);
    conn.context = client;
    this.hub.add(client);
    conn.sendFrame(this.replies.frame(ReplyCode.Connected));
    const admission = this.admission;
    if (admission === undefined) return;
    // The connection's commands wait for the backend's verdict, as they wait for a login.
    const seq = client.loginSeq;
    client.deferred = [];
    admission
      .check(client, request)
      .then((verdict) => this.admitted(client, seq, verdict))
      .catch((error: unknown) => this.asyncFailed(client, error));
  }

  /**
   * The connect proxy answered: close (4500 refused, 4102 backend unavailable), or start the
   * connection logged in (unprompted 20003) with its initial subscriptions (an unprompted 20005 each).
   */
  private admitted(client: SessionClient, seq: number, verdict: ConnectVerdict): void {
    if (client.loginSeq !== seq || !client.conn.isOpen) return;
    if (!verdict.allowed) {
      const code = verdict.unavailable ? HeraldCloseCode.BackendUnavailable : HeraldCloseCode.Forbidden;
      return client.conn.close(code, closeReason(verdict.reason));
    }
    if (verdict.uid !== undefined) {
      const problem = checkUid(verdict.uid);
      const expiresAt = verdict.expiresAt === undefined || !Number.isFinite(verdict.expiresAt) ? undefined : verdict.expiresAt;
      if (problem !== undefined) return client.conn.close(HeraldCloseCode.Forbidden, closeReason(`backend gave an invalid uid: ${problem}`));
      if (expiresAt !== undefined && expiresAt <= Date.now()) {
        return client.conn.close(HeraldCloseCode.Forbidden, 'the login the backend gave has already expired');
      }
      this.hub.login(client, verdict.uid);
      if (expiresAt !== undefined) this.expiries.schedule(client, monotonicNow() + (expiresAt - Date.now()));
      this.events.onLogin?.(verdict.uid);
      this.reply(client, ReplyCode.LoggedIn, { uid: verdict.uid });
    }
    for (const subscription of verdict.subscriptions ?? []) {
      const topic: unknown = subscription?.topic;
      // A backend's bad topic is skipped, not trusted: the same checks as a client's subscribe.
      if (checkTopic(topic, this.rules) !== undefined) continue;
      this.serverSubscribe(client, topic as string, subscription.private === true);
    }
    this.replayDeferred(client);
  }

  onClose(conn: WebSocketConnection): void {
    const client = conn.context as SessionClient;
    client.loginSeq++;
    client.deferred = null;
    this.expiries.cancel(client);
    this.subscriptionExpiries.cancelAll(client);
    this.joinLeave.unwatchAll(client);
    this.hub.remove(client);
  }

  onMessage(conn: WebSocketConnection, data: Buffer, isText: boolean): void {
    // Heartbeats are answered at once, even while a login is pending.
    if (isTextPing(data)) {
      conn.sendFrame(PONG_FRAME);
      return;
    }
    const client = conn.context as SessionClient;
    const deferred = client.deferred;
    if (deferred !== null) {
      if (deferred.length >= MAX_DEFERRED_MARKERS) {
        conn.close(CloseCode.PolicyViolation, 'too many commands while a login is pending');
        return;
      }
      // Past the limit keep only a marker, so its 30001 still comes in request order.
      deferred.push(deferred.length >= MAX_DEFERRED_COMMANDS ? OVERFLOW : isText ? data : null);
      return;
    }
    this.handle(client, isText ? data : null);
  }

  /** Run one command; `null` stands for a binary frame, OVERFLOW for one refused while a login was pending. */
  private handle(client: SessionClient, data: Buffer | null | typeof OVERFLOW): void {
    if (data === OVERFLOW) {
      return this.badRequest(client, `more than ${MAX_DEFERRED_COMMANDS} commands sent while a login was pending`);
    }
    if (data === null) return this.badRequest(client, 'commands are JSON text frames, not binary');
    let request: unknown;
    try {
      request = JSON.parse(data.toString('utf8'));
    } catch {
      return this.badRequest(client, 'message is not JSON');
    }
    if (typeof request !== 'object' || request === null || Array.isArray(request)) {
      return this.badRequest(client, 'message must be a JSON object');
    }
    const command = request as Record<string, unknown>;
    const id = command.id;
    if (id !== undefined && !(typeof id === 'number' && Number.isFinite(id)) && !(typeof id === 'string' && id.length <= 64)) {
      return this.badRequest(client, 'id must be a number or a string of at most 64 characters');
    }
    this.requestId = id as number | string | undefined;
    try {
      this.dispatch(client, command);
    } finally {
      this.requestId = undefined;
    }
  }

  private dispatch(client: SessionClient, command: Record<string, unknown>): void {
    const { code, topic } = command;
    switch (code) {
      case ClientOp.SubscribePublic:
        return this.subscribe(client, command, false);
      case ClientOp.UnsubscribePublic:
        return this.unsubscribe(client, topic, false);
      case ClientOp.Login:
        return this.login(client, command.data);
      case ClientOp.Logout:
        return this.logout(client);
      case ClientOp.SubscribePrivate:
        return this.subscribe(client, command, true);
      case ClientOp.UnsubscribePrivate:
        return this.unsubscribe(client, topic, true);
      case PresenceOp.Presence:
      case PresenceOp.PresenceStats:
        // herald.v1 only: the answer is asynchronous, and gpush clients match replies by order.
        if (client.conn.protocol === undefined) return this.badRequest(client, 'unknown code');
        if (typeof topic === 'string' && this.namespaces.namespaceOf(topic)?.presence === false) {
          return this.reply(client, ReplyCode.Forbidden, 'presence not allowed in this namespace');
        }
        return this.presenceRequests.handle(client, code, topic, this.requestId);
      case ClientOp.Publish:
        if (client.conn.protocol === undefined) return this.badRequest(client, 'unknown code');
        return this.clientPublish.handle(client, topic, command.data, this.requestId);
      default:
        return this.badRequest(client, 'unknown code');
    }
  }

  /** Stop the expiry wheel. */
  close(): void {
    this.expiries.clear();
    this.subscriptionExpiries.clear();
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
    if (client.subscriptionCount >= this.maxSubscriptions) {
      this.events.onSubscriptionRefused?.('connection');
      return false;
    }
    const budget = this.hub.budgetRefusal(topic, isPrivate);
    if (budget !== undefined) {
      this.events.onSubscriptionRefused?.(budget === 'topics' ? 'node_topics' : 'node_subscriptions');
      return false;
    }
    this.addSubscription(client, topic, isPrivate, false);
    this.reply(client, ReplyCode.ServerSubscribed, undefined, undefined, { topic, private: isPrivate });
    return true;
  }

  /**
   * Unsubscribe `client` from the server side (server API `unsubscribe`) and
   * tell it with an unprompted 20006. A resume of that subscription still
   * reading its history is answered 30007 first. False when not subscribed.
   */
  serverUnsubscribe(client: SessionClient, topic: string, isPrivate: boolean): boolean {
    if (!this.endSubscription(client, topic, isPrivate, 'unsubscribed by the server before its history was read')) return false;
    this.reply(client, ReplyCode.ServerUnsubscribed, undefined, undefined, { topic, private: isPrivate });
    return true;
  }

  /** A subscription authorized until a time reached it: it ends, and the client is told (30009). */
  private subscriptionExpired(entry: SubscriptionExpiry): void {
    const { client, topic, isPrivate } = entry;
    if (!this.endSubscription(client, topic, isPrivate, 'the subscription expired before its history was read')) return;
    this.reply(client, ReplyCode.SubscriptionExpired, undefined, undefined, { topic, private: isPrivate });
  }

  /** End a subscription the client did not ask to end; false when it held none. */
  private endSubscription(client: SessionClient, topic: string, isPrivate: boolean, why: string): boolean {
    if (!client.conn.isOpen || (isPrivate && client.uid === null)) return false;
    const stream = streamOf(isPrivate ? { uid: client.uid as string, topic } : { topic });
    const removed = isPrivate ? this.hub.unsubscribePrivate(client, topic) : this.hub.unsubscribePublic(client, topic);
    if (!removed) return false;
    this.subscriptionExpiries.cancel(client, topic, isPrivate);
    this.joinLeave.prune(client, topic);
    if (client.holding !== null) {
      this.cancelResume(client, stream, why);
      dropHold(client, stream);
    }
    return true;
  }

  private subscribe(client: SessionClient, command: Record<string, unknown>, isPrivate: boolean): void {
    const { topic, joinLeave } = command;
    if (isPrivate && client.uid === null) return this.reply(client, ReplyCode.NotLoggedIn);
    const problem = checkTopic(topic, this.rules);
    if (problem !== undefined) return this.reply(client, ReplyCode.InvalidTopic, problem);
    const since = parseSince(command.since);
    if (since === null) return this.badRequest(client, 'since must be {"seq": <integer ≥ 0>, "epoch": "<string>"}');
    // gpush connections ignore the field (gpush ignores unknown fields); herald.v1 says when it is malformed.
    if (joinLeave !== undefined && typeof joinLeave !== 'boolean' && client.conn.protocol !== undefined) {
      return this.badRequest(client, 'joinLeave must be a boolean');
    }
    const name = topic as string;
    const namespace = this.namespaces.namespaceOf(name);
    // A topic of no namespace: exactly as before namespaces existed.
    if (namespace === undefined) return this.admit(client, name, isPrivate, since, joinLeave, undefined, undefined);
    if (joinLeave === true && !namespace.joinLeave && client.conn.protocol !== undefined) {
      return this.reply(client, ReplyCode.Forbidden, 'join/leave not allowed in this namespace');
    }
    const verdict = this.authorizer.authorize(client, namespace, name, isPrivate, command.token);
    if (!(verdict instanceof Promise)) return this.authorized(client, namespace, name, isPrivate, since, joinLeave, verdict);
    // A token or a backend to ask: later commands wait, as during a login, so replies keep their order.
    const seq = client.loginSeq;
    const uid = client.uid;
    const id = this.requestId;
    client.deferred = [];
    verdict
      .then((answer) => {
        if (client.loginSeq !== seq || !client.conn.isOpen) return;
        this.requestId = id as number | string | undefined;
        try {
          // The login it was asked for expired meanwhile: a private subscribe has no user any more.
          if (isPrivate && client.uid !== uid) this.reply(client, ReplyCode.NotLoggedIn);
          else this.authorized(client, namespace, name, isPrivate, since, joinLeave, answer);
        } finally {
          this.requestId = undefined;
        }
        this.replayDeferred(client);
      })
      .catch((error: unknown) => this.asyncFailed(client, error));
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
    if (!verdict.ok) return this.reply(client, verdict.code, verdict.detail);
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
      if (most !== undefined && this.hub.subscriberCount(name) >= most) {
        return this.reply(client, ReplyCode.TooManySubscriptions, 'namespace full');
      }
      if (client.subscriptionCount >= this.maxSubscriptions) {
        this.events.onSubscriptionRefused?.('connection');
        return this.reply(client, ReplyCode.TooManySubscriptions, `at most ${this.maxSubscriptions} subscriptions per connection`);
      }
      const budget = this.hub.budgetRefusal(name, isPrivate);
      if (budget !== undefined) {
        this.events.onSubscriptionRefused?.(budget === 'topics' ? 'node_topics' : 'node_subscriptions');
        const limit = budget === 'topics' ? `${this.hub.maxTopics} topics` : `${this.hub.maxSubscriptions} subscriptions`;
        return this.reply(client, ReplyCode.TooManySubscriptions, `this server holds its maximum of ${limit}; retry later`);
      }
    }
    // herald.v1 replies say when the subscription will end; gpush's stay byte for byte as they were.
    const until = expiresAt === undefined || client.conn.protocol === undefined ? undefined : { expiresAt };
    if (since === undefined) {
      this.addSubscription(client, name, isPrivate, already, joinLeave);
      if (namespace !== undefined) this.subscriptionExpiries.set(client, name, isPrivate, expiresAt);
      return this.reply(client, ReplyCode.Subscribed, undefined, this.requestId, until);
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
    if (namespace !== undefined) this.subscriptionExpiries.set(client, name, isPrivate, expiresAt);
    const id = this.requestId;
    this.pendingResumes.set(held, id);
    const replayed = this.history === undefined ? Promise.resolve(undefined) : this.history(stream, since);
    replayed
      .then(
        (result) => this.resumed(client, stream, held, result, id, until),
        () => this.resumed(client, stream, held, undefined, id, until),
      )
      .catch((error: unknown) => this.asyncFailed(client, error));
  }

  private addSubscription(client: SessionClient, name: string, isPrivate: boolean, already: boolean, joinLeave?: unknown): void {
    if (!already) {
      if (isPrivate) this.hub.subscribePrivate(client, name);
      else this.hub.subscribePublic(client, name);
    }
    // `true` starts watching the topic's join/leave events, `false` stops; absent leaves the watch as it is.
    if (joinLeave === true) this.joinLeave.watch(client, name);
    else if (joinLeave === false) this.joinLeave.unwatch(client, name);
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
    this.reply(client, ReplyCode.Subscribed, undefined, id, extra);
    releaseStream(client, client.conn, stream, held, result);
  }

  private unsubscribe(client: SessionClient, topic: unknown, isPrivate: boolean): void {
    if (isPrivate && client.uid === null) return this.reply(client, ReplyCode.NotLoggedIn);
    if (typeof topic !== 'string') return this.reply(client, ReplyCode.InvalidTopic, 'topic must be a string');
    // Only the named kind is dropped: gpush's op 2 also removed a private subscription.
    if (isPrivate) this.hub.unsubscribePrivate(client, topic);
    else this.hub.unsubscribePublic(client, topic);
    this.subscriptionExpiries.cancel(client, topic, isPrivate);
    this.joinLeave.prune(client, topic);
    if (client.holding !== null) {
      const stream = streamOf(isPrivate ? { uid: client.uid as string, topic } : { topic });
      // Every request gets exactly one reply, in order: a subscribe still reading its history is answered now.
      this.cancelResume(client, stream, 'unsubscribed before its history was read');
      dropHold(client, stream);
    }
    this.reply(client, ReplyCode.Unsubscribed);
  }

  /** Answer a subscribe of `stream` still waiting for its history with 30007 and end its hold. */
  private cancelResume(client: SessionClient, stream: string, why: string): void {
    const held = client.holding?.get(stream);
    if (!(held instanceof StreamHold) || !this.pendingResumes.has(held)) return;
    const id = this.pendingResumes.get(held);
    this.pendingResumes.delete(held);
    dropHold(client, stream);
    this.reply(client, ReplyCode.Cancelled, why, id);
  }

  private login(client: SessionClient, credential: unknown): void {
    const verifier = this.verifier;
    if (verifier === undefined) {
      this.events.onAuthFailure?.('not_configured', 'login is not configured');
      return this.reply(client, ReplyCode.AuthFailed, 'login is not configured on this server');
    }
    const seq = ++client.loginSeq;
    const id = this.requestId;
    client.deferred = [];
    verifier
      .verify(credential)
      .then(
        (identity) => this.loginSucceeded(client, seq, identity, id),
        (error: unknown) => this.loginFailed(client, seq, error, id),
      )
      .catch((error: unknown) => this.asyncFailed(client, error));
  }

  /**
   * The end of every promise chain a connection starts: a throw there would
   * otherwise be an unhandled rejection, which ends the Node process and every
   * other connection with it. Only this connection pays: 1011, and a report.
   */
  private asyncFailed(client: SessionClient, error: unknown): void {
    try {
      this.events.onError?.(error);
    } catch {
      // A reporter that throws must not turn this into the rejection it stops.
    }
    client.conn.close(CloseCode.InternalError, 'internal error');
  }

  private loginSucceeded(client: SessionClient, seq: number, identity: LoginIdentity, id: unknown): void {
    if (client.loginSeq !== seq || !client.conn.isOpen) return;
    // Whatever the verifier (JWT "sub", the auth URL's uid, an embedder's own), a uid that pushes could
    // not address, or that would share a stream with another once UTF-8 encoded, is no identity.
    const uidProblem = checkUid(identity.uid);
    if (uidProblem !== undefined) {
      return this.loginFailed(client, seq, Object.assign(new Error(uidProblem), { reason: 'invalid' }), id);
    }
    let expiresAt = identity.expiresAt;
    // Only a finite expiry goes on the wheel: Infinity (an `exp` of 1e308 read as ms) means never; NaN is no date.
    if (expiresAt === Infinity) expiresAt = undefined;
    if (Number.isNaN(expiresAt)) {
      return this.loginFailed(client, seq, Object.assign(new Error('login expiry is not a number'), { reason: 'invalid' }), id);
    }
    if (expiresAt !== undefined && expiresAt <= Date.now()) {
      return this.loginFailed(client, seq, Object.assign(new Error('token expired'), { reason: 'expired' }), id);
    }
    // Logging in as another user drops the previous one's private subscriptions.
    if (client.uid !== identity.uid) this.subscriptionExpiries.cancelAll(client, true);
    this.hub.login(client, identity.uid);
    this.joinLeave.prune(client);
    if (expiresAt === undefined) this.expiries.cancel(client);
    else this.expiries.schedule(client, monotonicNow() + (expiresAt - Date.now()));
    this.events.onLogin?.(identity.uid);
    this.reply(client, ReplyCode.LoggedIn, { uid: identity.uid }, id);
    this.replayDeferred(client);
  }

  private loginFailed(client: SessionClient, seq: number, error: unknown, id: unknown): void {
    if (client.loginSeq !== seq || !client.conn.isOpen) return;
    const reason = typeof (error as { reason?: unknown })?.reason === 'string' ? (error as { reason: string }).reason : 'invalid';
    const message = error instanceof Error ? error.message : 'authentication failed';
    this.events.onAuthFailure?.(reason, message);
    this.reply(client, ReplyCode.AuthFailed, reason, id);
    this.replayDeferred(client);
  }

  /** Run the commands that arrived during the login, in order; a further login defers the rest again. */
  private replayDeferred(client: SessionClient): void {
    const queue = client.deferred;
    client.deferred = null;
    if (queue === null) return;
    for (let i = 0; i < queue.length; i++) {
      if (client.deferred !== null) {
        (client.deferred as (Buffer | null | typeof OVERFLOW)[]).push(...queue.slice(i));
        return;
      }
      if (!client.conn.isOpen) return;
      this.handle(client, queue[i]);
    }
  }

  private logout(client: SessionClient): void {
    // gpush cleared the uid before testing it, so its logout never worked; check first.
    if (client.uid === null) return this.reply(client, ReplyCode.NotLoggedIn);
    client.loginSeq++;
    this.expiries.cancel(client);
    this.subscriptionExpiries.cancelAll(client, true);
    this.hub.logout(client);
    this.joinLeave.prune(client);
    this.reply(client, ReplyCode.LoggedOut);
  }

  /** The login's expiry passed: end the private session and say so. */
  private expire(client: SessionClient): void {
    if (client.uid === null || !client.conn.isOpen) return;
    // Only the current session ends; a login still being verified completes normally.
    this.subscriptionExpiries.cancelAll(client, true);
    this.hub.logout(client);
    this.joinLeave.prune(client);
    this.reply(client, ReplyCode.SessionExpired);
  }

  private badRequest(client: SessionClient, detail: string): void {
    this.events.onBadRequest?.(detail);
    this.reply(client, ReplyCode.BadRequest, detail);
  }

  /** Send a reply; `id` (default: the command being handled) is echoed when the client gave one. */
  private reply(client: SessionClient, code: ReplyCode, detail?: unknown, id: unknown = this.requestId, extra?: object): void {
    client.conn.sendFrame(this.replies.frame(code, detail, id, extra));
  }
}
