import type { LoginIdentity, LoginVerifier } from '../auth/login-verifier.js';
import { HeraldCloseCode, ReplyCode } from '../codes.js';
import { CloseCode } from '../protocol/constants.js';
import type { WebSocketConnection } from '../gateway/connection.js';
import type { UpgradeRequest } from '../protocol/upgrade-request.js';
import { TimingWheel, monotonicNow } from '../util/timing-wheel.js';
import type { ConnectionHandler } from '../gateway/websocket-server.js';
import type { Hub } from '../hub/hub.js';
import { Namespaces } from '../util/namespaces.js';
import { checkTopic, checkUid, type TopicRules } from '../util/topic-rules.js';
import { PONG_FRAME, ReplyFrames, isTextPing } from './replies.js';
import type { JoinLeaveEvent } from '../control/control-plane.js';
import { JoinLeaveWatchers } from './join-leave.js';
import { PresenceOp, PresenceRequests } from './presence-requests.js';
import type { ConnectVerdict } from './proxy-hooks.js';
import { ClientPublish } from './client-publish.js';
import { ConnectAdmission } from './connect-admission.js';
import { Subscriptions } from './subscriptions.js';
import {
  LoginExpiry,
  ClientOp,
  MAX_DEFERRED_COMMANDS,
  MAX_DEFERRED_MARKERS,
  MAX_WAITING_BYTES,
  MAX_WAITING_COMMANDS,
  OVERFLOW,
  OVERFLOW_WAITING,
  SessionClient,
  waitingQueue,
  type DeferredQueue,
  type ClientIds,
} from './session-client.js';
import type { GpushSessionOptions, SessionEvents } from './session-options.js';

export { ClientOp, SessionClient } from './session-client.js';
export type { GpushSessionOptions, SessionEvents } from './session-options.js';

/**
 * The gpush-compatible client protocol, as the gateway's connection handler:
 * greeting on open, text `ping` → `pong`, ops 1–6 with gpush's reply codes
 * (and Herald's own for limits, see codes.ts), herald.v1's ops 7–9. Logins are verified
 * asynchronously and never block other connections; a login's expiry ends its
 * private subscriptions (30006), checked on a one-second timing wheel. The
 * subscription commands and the namespaces' rules are {@link Subscriptions}';
 * with a connect proxy, each connection's commands first wait for its admission.
 */
export class GpushSession implements ConnectionHandler {
  private readonly hub: Hub;
  private readonly verifier: LoginVerifier | undefined;
  private readonly rules: TopicRules;
  private readonly maxSubscriptions: number;
  private readonly events: SessionEvents;
  private readonly expiries: TimingWheel<LoginExpiry>;
  private readonly history: GpushSessionOptions['history'];
  private readonly replies: ReplyFrames;
  private readonly joinLeave: JoinLeaveWatchers;
  private readonly presenceRequests: PresenceRequests;
  private readonly namespaces: Namespaces;
  private readonly subscriptions: Subscriptions;
  private readonly clientPublish: ClientPublish;
  private readonly admission: ConnectAdmission | undefined;
  /**
   * With a connect proxy: the connections still waiting for their verdict (not yet reported
   * connected), each with the abort of its check (a close gives the backend call up).
   */
  private readonly admitting = new Map<SessionClient, AbortController>();
  /** The `id` of the command being handled (herald.v1 echoes it in the reply). */
  private requestId: number | string | undefined = undefined;
  private readonly clientIds: ClientIds;

  constructor(options: GpushSessionOptions) {
    this.hub = options.hub;
    this.verifier = options.verifier;
    this.rules = options.topicRules;
    this.maxSubscriptions = options.maxSubscriptionsPerConnection;
    this.events = options.events ?? {};
    this.history = options.history;
    this.replies = new ReplyFrames(options.replyMessages);
    this.expiries = new TimingWheel<LoginExpiry>((entry) => {
      entry.client.loginExpiry = null;
      this.expire(entry.client);
    }, 1000, 512);
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
    // The subscription commands see the session through this context (the request id is shared, read and set).
    const session = this;
    this.subscriptions = new Subscriptions(
      {
        hub: this.hub,
        rules: this.rules,
        maxSubscriptions: this.maxSubscriptions,
        events: this.events,
        history: this.history,
        joinLeave: this.joinLeave,
        namespaces: this.namespaces,
        subscriberCount: options.subscriberCount ?? (() => 0),
        get requestId() {
          return session.requestId;
        },
        set requestId(id) {
          session.requestId = id;
        },
        reply: (client, code, detail, id, extra) => this.reply(client, code, detail, id, extra),
        badRequest: (client, detail) => this.badRequest(client, detail),
        asyncFailed: (client, error) => this.asyncFailed(client, error),
        replayDeferred: (client) => this.replayDeferred(client),
      },
      options,
    );
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
    if (admission === undefined) {
      this.events.onConnected?.(client.clientId, null);
      return;
    }
    // The connection's commands wait for the backend's verdict, as they wait for a login.
    const abort = new AbortController();
    this.admitting.set(client, abort);
    const seq = client.loginSeq;
    client.deferred = waitingQueue();
    admission
      .check(client, request, abort.signal)
      .then((verdict) => this.admitted(client, seq, verdict))
      .catch((error: unknown) => this.asyncFailed(client, error));
  }

  /**
   * The connect proxy answered: close (4500 refused, 4102 backend unavailable), or start the
   * connection logged in (unprompted 20003) with its initial subscriptions (an unprompted 20005 each).
   */
  private admitted(client: SessionClient, seq: number, verdict: ConnectVerdict): void {
    if (client.loginSeq !== seq || !client.conn.isOpen) return;
    // A refused connection stays in `admitting` until its close, so it is never reported (nor its disconnect).
    if (!verdict.allowed) {
      const code = verdict.unavailable ? HeraldCloseCode.BackendUnavailable : HeraldCloseCode.Forbidden;
      return client.conn.close(code, verdict.reason);
    }
    if (verdict.uid !== undefined) {
      const problem = checkUid(verdict.uid);
      const expiresAt = verdict.expiresAt === undefined || !Number.isFinite(verdict.expiresAt) ? undefined : verdict.expiresAt;
      if (problem !== undefined) return client.conn.close(HeraldCloseCode.Forbidden, `backend gave an invalid uid: ${problem}`);
      if (expiresAt !== undefined && expiresAt <= Date.now()) {
        return client.conn.close(HeraldCloseCode.Forbidden, 'the login the backend gave has already expired');
      }
      this.hub.login(client, verdict.uid);
      if (expiresAt !== undefined) this.scheduleLoginExpiry(client, expiresAt);
      this.events.onLogin?.(verdict.uid);
      this.reply(client, ReplyCode.LoggedIn, { uid: verdict.uid });
    }
    // Not there: the connection closed meanwhile (its close saw it unadmitted, so reported nothing).
    if (!this.admitting.delete(client)) return;
    // Before the initial subscriptions, so a backend sees connect then subscribe.
    this.events.onConnected?.(client.clientId, client.uid);
    // The hook's implementation validates the backend's answer; a malformed list is still no crash.
    for (const subscription of Array.isArray(verdict.subscriptions) ? verdict.subscriptions : []) {
      const topic: unknown = subscription?.topic;
      // A backend's bad topic is skipped, not trusted: the same checks as a client's subscribe.
      if (checkTopic(topic, this.rules) !== undefined) continue;
      this.subscriptions.serverSubscribe(client, topic as string, subscription.private === true);
    }
    this.replayDeferred(client);
  }

  onClose(conn: WebSocketConnection): void {
    const client = conn.context as SessionClient;
    // Read before the hub forgets the login; a connection still waiting for its admission was never reported connected.
    const uid = client.uid;
    const pendingCheck = this.admitting.get(client);
    if (pendingCheck !== undefined) {
      this.admitting.delete(client);
      pendingCheck.abort();
    }
    const admitted = this.admission === undefined || pendingCheck === undefined;
    client.loginSeq++;
    client.deferred = null;
    this.cancelLoginExpiry(client);
    this.subscriptions.expiries.cancelAll(client);
    this.joinLeave.unwatchAll(client);
    this.hub.remove(client);
    if (admitted) this.events.onDisconnected?.(client.clientId, uid);
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
      const bytes = deferred.waitingBytes;
      if (deferred.length >= (bytes === undefined ? MAX_DEFERRED_MARKERS : MAX_WAITING_COMMANDS + MAX_DEFERRED_MARKERS)) {
        conn.close(CloseCode.PolicyViolation, 'too many commands while a login is pending');
        return;
      }
      // Past the limit keep only a marker, so its 30001 still comes in request order. A message is a
      // view into the chunk it arrived in (frame-parser.ts): kept as is, one small command would hold
      // its whole chunk (up to 64 KiB, the rest pong frames, say) beyond what the bounds count. Copy it.
      if (bytes === undefined) {
        deferred.push(deferred.length >= MAX_DEFERRED_COMMANDS ? OVERFLOW : isText ? Buffer.from(data) : null);
      } else if (deferred.length >= MAX_WAITING_COMMANDS || bytes + data.length > MAX_WAITING_BYTES) {
        deferred.push(OVERFLOW_WAITING);
      } else {
        deferred.waitingBytes = bytes + data.length;
        deferred.push(isText ? Buffer.from(data) : null);
      }
      return;
    }
    this.handle(client, isText ? data : null);
  }

  /** Run one command; `null` stands for a binary frame, OVERFLOW for one refused while a login was pending. */
  private handle(client: SessionClient, data: Buffer | null | typeof OVERFLOW | typeof OVERFLOW_WAITING): void {
    if (data === OVERFLOW) {
      return this.badRequest(client, `more than ${MAX_DEFERRED_COMMANDS} commands sent while a login was pending`);
    }
    if (data === OVERFLOW_WAITING) {
      return this.badRequest(
        client,
        `more than ${MAX_WAITING_COMMANDS} commands (or ${MAX_WAITING_BYTES} bytes) sent while a subscribe or the connection was authorized`,
      );
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
        return this.subscriptions.subscribe(client, command, false);
      case ClientOp.UnsubscribePublic:
        return this.subscriptions.unsubscribe(client, topic, false);
      case ClientOp.Login:
        return this.login(client, command.data);
      case ClientOp.Logout:
        return this.logout(client);
      case ClientOp.SubscribePrivate:
        return this.subscriptions.subscribe(client, command, true);
      case ClientOp.UnsubscribePrivate:
        return this.subscriptions.unsubscribe(client, topic, true);
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

  /** Stop the expiry wheels. */
  close(): void {
    this.expiries.clear();
    this.subscriptions.expiries.clear();
  }

  /**
   * Subscribe `client` from the server side (server API `subscribe`), told with an unprompted
   * 20005; see {@link Subscriptions.serverSubscribe}.
   */
  serverSubscribe(client: SessionClient, topic: string, isPrivate: boolean): boolean {
    return this.subscriptions.serverSubscribe(client, topic, isPrivate);
  }

  /** Unsubscribe `client` from the server side (server API `unsubscribe`), told with an unprompted 20006. */
  serverUnsubscribe(client: SessionClient, topic: string, isPrivate: boolean): boolean {
    return this.subscriptions.serverUnsubscribe(client, topic, isPrivate);
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
    if (client.uid !== identity.uid) this.subscriptions.expiries.cancelAll(client, true);
    this.hub.login(client, identity.uid);
    this.joinLeave.prune(client);
    if (expiresAt === undefined) this.cancelLoginExpiry(client);
    else this.scheduleLoginExpiry(client, expiresAt);
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

  /** Run the commands that arrived during the wait, in order; a further wait (login, authorization) defers the rest again. */
  private replayDeferred(client: SessionClient): void {
    const queue = client.deferred;
    client.deferred = null;
    if (queue === null) return;
    for (let i = 0; i < queue.length; i++) {
      const next = client.deferred as DeferredQueue | null;
      if (next !== null) {
        const rest = queue.slice(i);
        next.push(...rest);
        // The rest were admitted under the wider bounds: the new queue keeps them, counting their bytes.
        if (queue.waitingBytes !== undefined) {
          let bytes = next.waitingBytes ?? 0;
          for (const item of rest) if (item instanceof Buffer) bytes += item.length;
          next.waitingBytes = bytes;
        }
        return;
      }
      if (!client.conn.isOpen) return;
      this.handle(client, queue[i]);
    }
  }

  /** End the login at `expiresAt` (ms since the epoch), replacing any earlier expiry. */
  private scheduleLoginExpiry(client: SessionClient, expiresAt: number): void {
    this.expiries.schedule((client.loginExpiry ??= new LoginExpiry(client)), monotonicNow() + (expiresAt - Date.now()));
  }

  private cancelLoginExpiry(client: SessionClient): void {
    if (client.loginExpiry === null) return;
    this.expiries.cancel(client.loginExpiry);
    client.loginExpiry = null;
  }

  private logout(client: SessionClient): void {
    // gpush cleared the uid before testing it, so its logout never worked; check first.
    if (client.uid === null) return this.reply(client, ReplyCode.NotLoggedIn);
    client.loginSeq++;
    this.cancelLoginExpiry(client);
    this.subscriptions.expiries.cancelAll(client, true);
    this.hub.logout(client);
    this.joinLeave.prune(client);
    this.reply(client, ReplyCode.LoggedOut);
  }

  /** The login's expiry passed: end the private session and say so. */
  private expire(client: SessionClient): void {
    if (client.uid === null || !client.conn.isOpen) return;
    // Only the current session ends; a login still being verified completes normally.
    this.subscriptions.expiries.cancelAll(client, true);
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
