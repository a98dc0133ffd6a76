import type { LoginIdentity, LoginVerifier } from '../auth/login-verifier.js';
import { HeraldCloseCode, ReplyCode } from '../codes.js';
import { CloseCode } from '../protocol/constants.js';
import type { WebSocketConnection } from '../gateway/connection.js';
import { TimingWheel, monotonicNow, type WheelEntry } from '../util/timing-wheel.js';
import type { ConnectionHandler } from '../gateway/websocket-server.js';
import { HubClient, StreamHold, topicSetHas, type TopicSet } from '../hub/hub-client.js';
import type { Hub } from '../hub/hub.js';
import { checkTopic, checkUid, type TopicRules } from '../util/topic-rules.js';
import { streamOf } from '../streams.js';
import { PONG_FRAME, ReplyFrames, isTextPing, type ReplyMessages } from './replies.js';
import { dropHold, holdStream, parseSince, releaseStream, type ReplayResult, type ResumePosition } from './resume.js';
import type { JoinLeaveEvent } from '../control/control-plane.js';
import { JoinLeaveWatchers } from './join-leave.js';
import { PresenceOp, PresenceRequests, type ClientPresence } from './presence-requests.js';

/** Client operations of the gpush protocol (`{"code":N,"topic":"…","data":…}`). */
export const ClientOp = {
  SubscribePublic: 1,
  UnsubscribePublic: 2,
  Login: 3,
  Logout: 4,
  SubscribePrivate: 5,
  UnsubscribePrivate: 6,
} as const;

/** Commands a client may send while its login is verified; beyond, each gets 30001 (in order). */
const MAX_DEFERRED_COMMANDS = 32;
/** Beyond this many (refused ones included), the connection is closed with 1008. */
const MAX_DEFERRED_MARKERS = 1024;
/** Stands in the deferred queue for a command refused for exceeding MAX_DEFERRED_COMMANDS. */
const OVERFLOW = 1;

/** What the session reports for metrics and logs. */
export interface SessionEvents {
  onLogin?(uid: string): void;
  onAuthFailure?(reason: string, message: string): void;
  onBadRequest?(detail: string): void;
  /**
   * A bug surfaced in a connection's asynchronous work (a login or a resume
   * completing): that connection was closed with 1011; the process goes on.
   */
  onError?(error: unknown): void;
  /** A subscribe refused (30005) by the per-connection limit or the node's topic or subscription budget. */
  onSubscriptionRefused?(reason: 'connection' | 'node_topics' | 'node_subscriptions'): void;
  /** The first (`watching`) or last (`!watching`) connection of this node asking for `topic`'s join/leave events. */
  onJoinLeaveWatch?(topic: string, watching: boolean): void;
}

/** Options of a {@link GpushSession}. */
export interface GpushSessionOptions {
  hub: Hub;
  /** How op 3 credentials are checked; without one, logins answer 30003. */
  verifier?: LoginVerifier;
  topicRules: TopicRules;
  /** Public plus private subscriptions one connection may hold (30005 beyond). */
  maxSubscriptionsPerConnection: number;
  events?: SessionEvents;
  /**
   * The engine's history, for `since` on subscribe (herald.v1 resume). Without
   * it, a subscription with `since` answers `recovered: false`.
   */
  history?(stream: string, since: ResumePosition | undefined): Promise<ReplayResult>;
  /** Reply texts: Herald's English (default) or gpush's exact ones (PROTOCOL.md, Differences from gpush). */
  replyMessages?: ReplyMessages;
  /** Who is subscribed to a topic, for ops 7/8 (the control plane); without it those ops answer 30008. */
  presence?: ClientPresence;
  /** Let herald.v1 clients ask for presence of topics they subscribe to (ops 7/8); default false → 30008. */
  clientPresence?: boolean;
  /** Prefix of client ids (`<prefix>.<n>`, unique in the cluster: the node's id); default: none (`<n>`). */
  clientIdPrefix?: string;
}

/** What the connections of one session share for their ids and open times. */
interface ClientIds {
  readonly prefix: string;
  /** The session's start: open times are counted in seconds from it (small integers). */
  readonly epochMs: number;
  /** Connections opened so far. */
  count: number;
}

/** One connection's session: its hub entry plus login bookkeeping. */
export class SessionClient extends HubClient implements WheelEntry {
  wheelNext: WheelEntry | null = null;
  wheelPrev: WheelEntry | null = null;
  wheelDeadline = 0;
  /** Bumped by every login, logout and close, so a late verifier answer for an older attempt is ignored. */
  loginSeq = 0;
  /**
   * Commands received while a login is being verified, replayed in order when
   * it completes (gpush verified logins synchronously, so clients send op 5
   * right behind op 3). `null` binary-frame marker; the array is null when no
   * login is pending.
   */
  deferred: (Buffer | null | typeof OVERFLOW)[] | null = null;
  /** Topics whose join/leave events this connection asked for (herald.v1); null when none. */
  joinLeaveTopics: TopicSet = null;
  /**
   * The client id and open time are kept as two small integers and a pointer
   * to what every connection of the session shares (no string and no boxed
   * double per connection); they are spelled out only when asked.
   */
  private readonly idNumber: number;
  /** Seconds from `ids.epochMs` to the open. */
  private readonly openedSec: number;
  constructor(
    readonly conn: WebSocketConnection,
    private readonly ids: ClientIds,
  ) {
    super(conn);
    this.idNumber = ++ids.count;
    this.openedSec = Math.floor((Date.now() - ids.epochMs) / 1000);
  }

  /** gpush routes a uid + topic push to the user's connections subscribed to the topic either way (herald.v1: private only). */
  override get userPushesReachPublic(): boolean {
    return this.conn.protocol === undefined;
  }

  /** Unique in the cluster: `<node id>.<n>` (presence, server API `disconnect` by client). */
  get clientId(): string {
    return this.ids.prefix === '' ? String(this.idNumber) : `${this.ids.prefix}.${this.idNumber}`;
  }

  /** When the connection opened (ms since the epoch, to the second), as presence reports it. */
  get connectedAt(): number {
    return this.ids.epochMs + this.openedSec * 1000;
  }
}

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
  }

  /** A join/leave of a topic (from the control plane): to every local herald.v1 connection watching it. */
  deliverJoinLeave(event: JoinLeaveEvent): number {
    return this.joinLeave.deliver(event);
  }

  onOpen(conn: WebSocketConnection): void {
    const client = new SessionClient(conn, this.clientIds);
    conn.context = client;
    this.hub.add(client);
    conn.sendFrame(this.replies.frame(ReplyCode.Connected));
  }

  onClose(conn: WebSocketConnection): void {
    const client = conn.context as SessionClient;
    client.loginSeq++;
    client.deferred = null;
    this.expiries.cancel(client);
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
    const { code, topic, data: credential, id, since, joinLeave } = request as Record<string, unknown>;
    if (id !== undefined && !(typeof id === 'number' && Number.isFinite(id)) && !(typeof id === 'string' && id.length <= 64)) {
      return this.badRequest(client, 'id must be a number or a string of at most 64 characters');
    }
    this.requestId = id as number | string | undefined;
    try {
      this.dispatch(client, code, topic, credential, since, joinLeave);
    } finally {
      this.requestId = undefined;
    }
  }

  private dispatch(client: SessionClient, code: unknown, topic: unknown, credential: unknown, since: unknown, joinLeave: unknown): void {
    switch (code) {
      case ClientOp.SubscribePublic:
        return this.subscribe(client, topic, false, since, joinLeave);
      case ClientOp.UnsubscribePublic:
        return this.unsubscribe(client, topic, false);
      case ClientOp.Login:
        return this.login(client, credential);
      case ClientOp.Logout:
        return this.logout(client);
      case ClientOp.SubscribePrivate:
        return this.subscribe(client, topic, true, since, joinLeave);
      case ClientOp.UnsubscribePrivate:
        return this.unsubscribe(client, topic, true);
      case PresenceOp.Presence:
      case PresenceOp.PresenceStats:
        // herald.v1 only: the answer is asynchronous, and gpush clients match replies by order.
        if (client.conn.protocol === undefined) return this.badRequest(client, 'unknown code');
        return this.presenceRequests.handle(client, code, topic, this.requestId);
      default:
        return this.badRequest(client, 'unknown code');
    }
  }

  /** Stop the expiry wheel. */
  close(): void {
    this.expiries.clear();
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
    if (!client.conn.isOpen || (isPrivate && client.uid === null)) return false;
    const stream = streamOf(isPrivate ? { uid: client.uid as string, topic } : { topic });
    const removed = isPrivate ? this.hub.unsubscribePrivate(client, topic) : this.hub.unsubscribePublic(client, topic);
    if (!removed) return false;
    this.joinLeave.prune(client, topic);
    if (client.holding !== null) {
      this.cancelResume(client, stream, 'unsubscribed by the server before its history was read');
      dropHold(client, stream);
    }
    this.reply(client, ReplyCode.ServerUnsubscribed, undefined, undefined, { topic, private: isPrivate });
    return true;
  }

    private subscribe(client: SessionClient, topic: unknown, isPrivate: boolean, sinceValue: unknown, joinLeave: unknown): void {
    if (isPrivate && client.uid === null) return this.reply(client, ReplyCode.NotLoggedIn);
    const problem = checkTopic(topic, this.rules);
    if (problem !== undefined) return this.reply(client, ReplyCode.InvalidTopic, problem);
    const since = parseSince(sinceValue);
    if (since === null) return this.badRequest(client, 'since must be {"seq": <integer ≥ 0>, "epoch": "<string>"}');
    // gpush connections ignore the field (gpush ignores unknown fields); herald.v1 says when it is malformed.
    if (joinLeave !== undefined && typeof joinLeave !== 'boolean' && client.conn.protocol !== undefined) {
      return this.badRequest(client, 'joinLeave must be a boolean');
    }
    const name = topic as string;
    const already = topicSetHas(isPrivate ? client.privateTopics : client.publicTopics, name);
    if (!already) {
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
    if (since === undefined) {
      this.addSubscription(client, name, isPrivate, already, joinLeave);
      return this.reply(client, ReplyCode.Subscribed);
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
    const id = this.requestId;
    this.pendingResumes.set(held, id);
    const replayed = this.history === undefined ? Promise.resolve(undefined) : this.history(stream, since);
    replayed
      .then(
        (result) => this.resumed(client, stream, held, result, id),
        () => this.resumed(client, stream, held, undefined, id),
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
  private resumed(client: SessionClient, stream: string, held: StreamHold, result: ReplayResult | undefined, id: unknown): void {
    if (!client.conn.isOpen || client.holding?.get(stream) !== held) return;
    this.pendingResumes.delete(held);
    const extra = result === undefined ? { recovered: false } : { recovered: result.recovered, position: result.position };
    this.reply(client, ReplyCode.Subscribed, undefined, id, extra);
    releaseStream(client, client.conn, stream, held, result);
  }

  private unsubscribe(client: SessionClient, topic: unknown, isPrivate: boolean): void {
    if (isPrivate && client.uid === null) return this.reply(client, ReplyCode.NotLoggedIn);
    if (typeof topic !== 'string') return this.reply(client, ReplyCode.InvalidTopic, 'topic must be a string');
    // Only the named kind is dropped: gpush's op 2 also removed a private subscription.
    if (isPrivate) this.hub.unsubscribePrivate(client, topic);
    else this.hub.unsubscribePublic(client, topic);
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
    this.hub.login(client, identity.uid);
    // Logging in as another user dropped the previous one's private subscriptions.
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
    this.hub.logout(client);
    this.joinLeave.prune(client);
    this.reply(client, ReplyCode.LoggedOut);
  }

  /** The login's expiry passed: end the private session and say so. */
  private expire(client: SessionClient): void {
    if (client.uid === null || !client.conn.isOpen) return;
    // Only the current session ends; a login still being verified completes normally.
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
