import type { WebSocketConnection } from '../gateway/connection.js';
import type { WheelEntry } from '../util/timing-wheel.js';
import { HubClient, HubClientExtras, type TopicSet } from '../hub/hub-client.js';

/** Client operations of the gpush protocol (`{"code":N,"topic":"…","data":…}`). */
export const ClientOp = {
  SubscribePublic: 1,
  UnsubscribePublic: 2,
  Login: 3,
  Logout: 4,
  SubscribePrivate: 5,
  UnsubscribePrivate: 6,
  /** herald.v1 only: publish to a topic whose namespace allows it. */
  Publish: 9,
} as const;

/** Commands a client may send while its login is verified; beyond, each gets 30001 (in order). */
export const MAX_DEFERRED_COMMANDS = 32;
/** Beyond this many (refused ones included), the connection is closed with 1008. */
export const MAX_DEFERRED_MARKERS = 1024;
/** Stands in the deferred queue for a command refused for exceeding MAX_DEFERRED_COMMANDS. */
export const OVERFLOW = 1;
/**
 * Commands that may wait behind a subscribe being authorized (a token verified, the backend
 * asked) or a connection being admitted, and their bytes: wider than behind a login, because a
 * client re-subscribing after a reconnect sends all its topics at once (at most
 * --max-subscriptions-per-connection, 1024 by default), each waiting for the one before.
 */
export const MAX_WAITING_COMMANDS = 1024;
export const MAX_WAITING_BYTES = 1024 * 1024;
/** Stands in the deferred queue for a command refused for exceeding MAX_WAITING_COMMANDS or MAX_WAITING_BYTES. */
export const OVERFLOW_WAITING = 2;

/** Commands held while an earlier one completes; `waitingBytes` is set on a queue behind an authorization or admission. */
export type DeferredQueue = (Buffer | null | typeof OVERFLOW | typeof OVERFLOW_WAITING)[] & { waitingBytes?: number };

/** A deferred queue with the wider bounds of a wait that is not a login. */
export function waitingQueue(): DeferredQueue {
  const queue: DeferredQueue = [];
  queue.waitingBytes = 0;
  return queue;
}

/** What the connections of one session share for their ids and open times. */
export interface ClientIds {
  readonly prefix: string;
  /** The session's start: open times are counted in seconds from it (small integers). */
  readonly epochMs: number;
  /** Connections opened so far. */
  count: number;
}

/**
 * A login that ends at a time (a token's `exp`, a connect proxy's
 * `expiresAt`): its entry on the session's expiry wheel, created only for such
 * a login, so other connections do not carry three wheel fields.
 */
export class LoginExpiry implements WheelEntry {
  wheelNext: WheelEntry | null = null;
  wheelPrev: WheelEntry | null = null;
  wheelTick = 0;
  constructor(readonly client: SessionClient) {}
}

/**
 * What most connections never hold, in one object created on first use and
 * dropped when all of it is null again (the hub's `holding` included): an
 * idle connection carries one null field instead of four.
 */
class SessionExtras extends HubClientExtras {
  loginExpiry: LoginExpiry | null = null;
  deferred: DeferredQueue | null = null;
  joinLeaveTopics: TopicSet = null;

  override get unused(): boolean {
    return super.unused && this.loginExpiry === null && this.deferred === null && this.joinLeaveTopics === null;
  }
}

/** One connection's session: its hub entry plus login bookkeeping. */
export class SessionClient extends HubClient {
  protected declare extras: SessionExtras | null;
  /** Bumped by every login, logout and close, so a late verifier answer for an older attempt is ignored. */
  loginSeq = 0;
  /**
   * The client id and open time are kept as two small integers and a pointer
   * to what every connection of the session shares (no string and no boxed
   * double per connection); they are spelled out only when asked.
   */
  private readonly idNumber: number;
  /** Seconds from `ids.epochMs` to the open. */
  private readonly openedSec: number;
  constructor(
    conn: WebSocketConnection,
    private readonly ids: ClientIds,
  ) {
    super(conn);
    this.idNumber = ++ids.count;
    this.openedSec = Math.floor((Date.now() - ids.epochMs) / 1000);
  }

  /** The login's place on the expiry wheel while it has an expiry, else null. */
  get loginExpiry(): LoginExpiry | null {
    return this.extras === null ? null : this.extras.loginExpiry;
  }
  set loginExpiry(entry: LoginExpiry | null) {
    if (entry === null && this.extras === null) return;
    this.ownExtras().loginExpiry = entry;
    if (entry === null) this.releaseExtras();
  }

  /**
   * Commands received while a login is being verified, replayed in order when
   * it completes (gpush verified logins synchronously, so clients send op 5
   * right behind op 3), or while a subscribe is authorized or the connection
   * admitted. `null` binary-frame marker; the array is null when nothing is pending.
   */
  get deferred(): DeferredQueue | null {
    return this.extras === null ? null : this.extras.deferred;
  }
  set deferred(queue: DeferredQueue | null) {
    if (queue === null && this.extras === null) return;
    this.ownExtras().deferred = queue;
    if (queue === null) this.releaseExtras();
  }

  /** Topics whose join/leave events this connection asked for (herald.v1); null when none. */
  get joinLeaveTopics(): TopicSet {
    return this.extras === null ? null : this.extras.joinLeaveTopics;
  }
  set joinLeaveTopics(topics: TopicSet) {
    if (topics === null && this.extras === null) return;
    this.ownExtras().joinLeaveTopics = topics;
    if (topics === null) this.releaseExtras();
  }

  protected override ownExtras(): SessionExtras {
    return (this.extras ??= new SessionExtras());
  }

  protected override newExtras(): SessionExtras {
    return new SessionExtras();
  }

  /** The connection: the hub's sink, read back rather than held in a second field (4–8 bytes per connection). */
  get conn(): WebSocketConnection {
    return this.sink as WebSocketConnection;
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


/** The key of a subscription in a connection's expiring ones: the kind, then the topic. */
export function subscriptionKey(topic: string, isPrivate: boolean): string {
  return (isPrivate ? 'p:' : 't:') + topic;
}
