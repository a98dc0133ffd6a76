import { isUtf8 } from 'node:buffer';
import { OpCode } from '../protocol/constants.js';
import { streamOf } from '../streams.js';
import { PreparedMessage } from '../protocol/prepared-message.js';
import { StreamHold, topicSetAdd, topicSetDelete, topicSetHas, topicSetSize, topicSetValues, type HubClient } from './hub-client.js';

/** A push as the hub routes it (the engine's `Delivery`, structurally). */
export interface HubPublication {
  uid?: string;
  topic?: string;
  data: Buffer;
  /** Its place in its stream, when the engine keeps history. */
  position?: { seq: number; epoch: string };
  /** Its stream key when the engine computed it (else computed here). */
  stream?: string;
}

/**
 * Told when this node gains its first or loses its last interest in a topic
 * or a user, so an engine can subscribe only to what local clients need.
 */
export interface InterestListener {
  onTopicInterest(topic: string, interested: boolean): void;
  onUserInterest(uid: string, interested: boolean): void;
  /**
   * Optional: this node gained its first or lost its last subscriber to
   * `uid`'s private `topic` (a stream of its own, carried with the user's
   * interest), for engines that track each stream's position.
   */
  onPrivateTopicInterest?(uid: string, topic: string, interested: boolean): void;
}

/**
 * Told when a client becomes a member of a topic — its first subscription to
 * it, public or private — and when it stops being one (its last subscription
 * to it ends: unsubscribe, a logout dropping private ones, close). Presence is
 * built on this: one entry per (connection, topic), whatever the kind.
 */
export interface MembershipListener {
  /** `isPrivate`: the subscription that made `client` a member is its private one (webhook events say so). */
  onJoin(client: HubClient, topic: string, isPrivate: boolean): void;
  /** `isPrivate`: the subscription that ended was the private one. */
  onLeave(client: HubClient, topic: string, isPrivate: boolean): void;
  /**
   * Optional: `client` logged in, or out (`client.uid` is the new value,
   * `previous` the old one), while keeping its public topics; a presence
   * entry naming the user can be renewed here. Private topics were left
   * (`onLeave`, with `previous` still set) before a logout.
   */
  onIdentity?(client: HubClient, previous: string | null): void;
}

/** Options of a {@link Hub}. */
export interface HubOptions {
  interest?: InterestListener;
  /** Membership changes (see {@link MembershipListener}); none → not tracked. */
  membership?: MembershipListener;
  /**
   * Largest number of clients one event-loop turn walks for a fan-out; larger
   * audiences continue on the next turns so reads and heartbeats keep being
   * served. Default 16,384 (about 2 ms of work).
   */
  sliceSize?: number;
  /** Most topics with a public subscriber on this node (see {@link Hub.budgetRefusal}); default: no limit. */
  maxTopics?: number;
  /** Most public plus private subscriptions on this node, over all clients; default: no limit. */
  maxSubscriptions?: number;
}

const EMPTY_CLIENTS: ReadonlySet<HubClient> = new Set();

/** What delivering to one client did: queued, refused by the connection, or not a target (held, filtered). */
const SENT = 0;
const DROPPED = 1;
const SKIPPED = 2;
type DeliveryOutcome = typeof SENT | typeof DROPPED | typeof SKIPPED;

/** A publication being delivered: its shared frame and where the walk over its audience stands. */
interface FanOut {
  clients: Iterator<HubClient>;
  message: PreparedMessage;
  privateTopic: string | undefined;
}

/** Running totals, read by the metrics endpoint. */
export interface HubCounters {
  /** Publications routed (whatever their audience). */
  publications: number;
  /** Frames queued on connections. */
  deliveries: number;
  /** Bytes of those frames. */
  deliveredBytes: number;
  /** Deliveries refused by a connection (closed or over its bound). */
  drops: number;
}

/**
 * The subscription indexes of one node — topic → clients (public), uid →
 * clients, all clients — and the fan-out: a publication is framed once and the
 * same buffer is queued on every target, which the gateway writes once per
 * event-loop turn. Everything here is synchronous, so per-topic and per-user
 * order is the order of `publish` calls.
 */
export class Hub {
  readonly counters: HubCounters = { publications: 0, deliveries: 0, deliveredBytes: 0, drops: 0 };
  private readonly all = new Set<HubClient>();
  private readonly topics = new Map<string, Set<HubClient>>();
  private readonly users = new Map<string, Set<HubClient>>();
  /** Subscribers per private stream (`streamOf({uid, topic})`), kept only for `onPrivateTopicInterest`. */
  private readonly privateStreams = new Map<string, number>();
  private subscriptions = 0;
  private readonly interest: InterestListener | undefined;
  private readonly membership: MembershipListener | undefined;
  private readonly sliceSize: number;
  readonly maxTopics: number;
  readonly maxSubscriptions: number;
  /** Fan-outs waiting or in progress, in publication order; null when none. */
  private backlog: FanOut[] | null = null;

  constructor(options: HubOptions = {}) {
    this.interest = options.interest;
    this.membership = options.membership;
    this.sliceSize = options.sliceSize ?? 16_384;
    if (!(this.sliceSize >= 1)) throw new RangeError('sliceSize must be >= 1');
    this.maxTopics = options.maxTopics ?? Infinity;
    this.maxSubscriptions = options.maxSubscriptions ?? Infinity;
  }

  /**
   * Whether one more subscription (public to `topic`, or private) would pass
   * this node's budget: 'subscriptions' when the node holds `maxSubscriptions`,
   * 'topics' when a public subscription would index a new topic past
   * `maxTopics`; undefined when it fits. Every client shares the budget, so
   * anonymous connections cannot grow the indexes without bound; subscribing
   * to a topic that already has subscribers costs no new topic.
   */
  budgetRefusal(topic: string, isPrivate: boolean): 'topics' | 'subscriptions' | undefined {
    if (this.subscriptions >= this.maxSubscriptions) return 'subscriptions';
    if (!isPrivate && this.topics.size >= this.maxTopics && !this.topics.has(topic)) return 'topics';
    return undefined;
  }

  get clientCount(): number {
    return this.all.size;
  }
  /** Topics with at least one public subscriber on this node. */
  get topicCount(): number {
    return this.topics.size;
  }
  get userCount(): number {
    return this.users.size;
  }
  /** Public plus private subscriptions over all clients. */
  get subscriptionCount(): number {
    return this.subscriptions;
  }

  add(client: HubClient): void {
    this.all.add(client);
  }

  /** Remove `client` from every index (gpush leaked logged-in connections here). */
  remove(client: HubClient): void {
    if (!this.all.delete(client)) return;
    for (const topic of topicSetValues(client.publicTopics)) {
      this.leaveTopic(client, topic);
      // A topic also held privately is left with the login, below.
      if (this.membership !== undefined && !topicSetHas(client.privateTopics, topic)) this.membership.onLeave(client, topic, false);
    }
    this.subscriptions -= topicSetSize(client.publicTopics);
    client.publicTopics = null;
    this.logout(client);
  }

  /** Returns false when already subscribed. */
  subscribePublic(client: HubClient, topic: string): boolean {
    if (topicSetHas(client.publicTopics, topic)) return false;
    client.publicTopics = topicSetAdd(client.publicTopics, topic);
    this.subscriptions++;
    let members = this.topics.get(topic);
    if (members === undefined) {
      members = new Set();
      this.topics.set(topic, members);
      this.interest?.onTopicInterest(topic, true);
    }
    members.add(client);
    if (this.membership !== undefined && !topicSetHas(client.privateTopics, topic)) this.membership.onJoin(client, topic, false);
    return true;
  }

  /** Returns false when not subscribed. Only the public subscription is touched. */
  unsubscribePublic(client: HubClient, topic: string): boolean {
    if (!topicSetHas(client.publicTopics, topic)) return false;
    client.publicTopics = topicSetDelete(client.publicTopics, topic);
    this.subscriptions--;
    this.leaveTopic(client, topic);
    if (this.membership !== undefined && !topicSetHas(client.privateTopics, topic)) this.membership.onLeave(client, topic, false);
    return true;
  }

  /**
   * Log `client` in as `uid`. Logging in as another user first drops the
   * previous user's private subscriptions.
   */
  login(client: HubClient, uid: string): void {
    if (client.uid === uid) return;
    if (client.uid !== null) this.logout(client);
    client.uid = uid;
    this.membership?.onIdentity?.(client, null);
    let members = this.users.get(uid);
    if (members === undefined) {
      members = new Set();
      this.users.set(uid, members);
      this.interest?.onUserInterest(uid, true);
    }
    members.add(client);
  }

  /** Forget the login and every private subscription; public ones stay. */
  logout(client: HubClient): void {
    const uid = client.uid;
    if (uid === null) return;
    for (const topic of topicSetValues(client.privateTopics)) {
      this.privateInterest(uid, topic, -1);
      if (this.membership !== undefined && !topicSetHas(client.publicTopics, topic)) this.membership.onLeave(client, topic, true);
    }
    client.uid = null;
    this.subscriptions -= topicSetSize(client.privateTopics);
    client.privateTopics = null;
    const members = this.users.get(uid);
    if (members !== undefined && members.delete(client) && members.size === 0) {
      this.users.delete(uid);
      this.interest?.onUserInterest(uid, false);
    }
    // A closing client (remove) has no public topics left to renew.
    if (client.publicTopics !== null) this.membership?.onIdentity?.(client, uid);
  }

  /** The connections logged in as `uid` on this node (none: empty). Do not change the hub while iterating. */
  clientsOf(uid: string): ReadonlySet<HubClient> {
    return this.users.get(uid) ?? EMPTY_CLIENTS;
  }

  /** Requires a login (the caller checks). Returns false when already subscribed. */
  subscribePrivate(client: HubClient, topic: string): boolean {
    if (topicSetHas(client.privateTopics, topic)) return false;
    client.privateTopics = topicSetAdd(client.privateTopics, topic);
    this.subscriptions++;
    this.privateInterest(client.uid as string, topic, 1);
    if (this.membership !== undefined && !topicSetHas(client.publicTopics, topic)) this.membership.onJoin(client, topic, true);
    return true;
  }

  unsubscribePrivate(client: HubClient, topic: string): boolean {
    if (!topicSetHas(client.privateTopics, topic)) return false;
    client.privateTopics = topicSetDelete(client.privateTopics, topic);
    this.subscriptions--;
    this.privateInterest(client.uid as string, topic, -1);
    if (this.membership !== undefined && !topicSetHas(client.publicTopics, topic)) this.membership.onLeave(client, topic, true);
    return true;
  }

  /**
   * Route a publication (see `Publication` in engine.ts for the rules) and
   * queue one shared frame on every target. Returns the audience size.
   * Payloads that are valid UTF-8 go out as text frames, others as binary.
   * Audiences over `sliceSize` are walked across several turns; publications
   * made meanwhile wait their turn, so order is kept.
   */
  publish(publication: HubPublication): number {
    this.counters.publications++;
    const audience = this.audienceOf(publication);
    if (audience === undefined || audience.size === 0) return 0;
    const { data, topic, uid } = publication;
    // The publication is the message's origin (uid, topic, position): no copy of them per push.
    const message = new PreparedMessage(isUtf8(data) ? OpCode.Text : OpCode.Binary, data, publication, publication.stream ?? streamOf(publication));
    const privateTopic = uid !== undefined && topic !== undefined ? topic : undefined;
    if (this.backlog === null && audience.size === 1) {
      // A push to one user on one connection (gpush's main use): no walk state to build.
      for (const client of audience) this.count(this.deliverTo(client, message, privateTopic), message);
      return 1;
    }
    const fanOut: FanOut = { clients: audience.values(), message, privateTopic };
    if (this.backlog === null) {
      // The common case: the whole audience now, in this turn.
      if (audience.size <= this.sliceSize) {
        this.deliver(fanOut, Infinity);
        return audience.size;
      }
      this.backlog = [fanOut];
      this.drain();
    } else {
      // A large fan-out is under way: queue behind it, so per-topic and per-user order holds.
      this.backlog.push(fanOut);
    }
    return audience.size;
  }

  /** Fan-outs not finished yet (large audiences are walked in slices). */
  get pendingFanOuts(): number {
    return this.backlog?.length ?? 0;
  }

  /**
   * Walk at most `sliceSize` clients of the queued fan-outs, then yield to the
   * event loop (reads, heartbeats, flushes) and continue on the next turn.
   */
  private readonly drain = (): void => {
    const backlog = this.backlog as FanOut[];
    let budget = this.sliceSize;
    while (backlog.length > 0 && budget > 0) {
      const visited = this.deliver(backlog[0], budget);
      if (visited < budget) backlog.shift();
      budget -= visited;
    }
    if (backlog.length > 0) setImmediate(this.drain);
    else this.backlog = null;
  };

  /** Queue the frame on up to `budget` more clients; returns how many were visited (< budget: finished). */
  private deliver(fanOut: FanOut, budget: number): number {
    const { clients, message, privateTopic } = fanOut;
    let visited = 0;
    let sent = 0;
    let drops = 0;
    while (visited < budget) {
      const next = clients.next();
      if (next.done === true) break;
      visited++;
      const outcome = this.deliverTo(next.value, message, privateTopic);
      if (outcome === SENT) sent++;
      else if (outcome === DROPPED) drops++;
    }
    this.counters.deliveries += sent;
    this.counters.deliveredBytes += sent * message.plain.length;
    this.counters.drops += drops;
    return visited;
  }

  /** Count one client's outcome (the one-client path; `deliver` sums its walk first). */
  private count(outcome: DeliveryOutcome, message: PreparedMessage): void {
    if (outcome === SENT) {
      this.counters.deliveries++;
      this.counters.deliveredBytes += message.plain.length;
    } else if (outcome === DROPPED) this.counters.drops++;
  }

  /** Queue `message` on `client` unless it is not a target or is holding the stream. */
  private deliverTo(client: HubClient, message: PreparedMessage, privateTopic: string | undefined): DeliveryOutcome {
    if (
      privateTopic !== undefined &&
      !topicSetHas(client.privateTopics, privateTopic) &&
      !(client.userPushesReachPublic && topicSetHas(client.publicTopics, privateTopic))
    ) {
      return SKIPPED;
    }
    // A subscription being resumed holds live messages until its history has been replayed,
    // then drops those the replay already covered.
    const holding = client.holding;
    if (holding !== null) {
      const hold = holding.get(message.stream);
      if (hold !== undefined) {
        if (hold instanceof StreamHold) {
          hold.push(message);
          return SKIPPED;
        }
        if (message.seq !== 0 && message.epoch === hold.epoch && message.seq <= hold.seq) return SKIPPED;
        holding.delete(message.stream);
        if (holding.size === 0) client.holding = null;
      }
    }
    return client.sink.sendPrepared(message) === 'dropped' ? DROPPED : SENT;
  }

  private audienceOf(publication: HubPublication): Set<HubClient> | undefined {
    if (publication.uid !== undefined) return this.users.get(publication.uid);
    if (publication.topic !== undefined) return this.topics.get(publication.topic);
    return this.all;
  }

  /** Count a private subscription in or out; tell the listener about the first and the last. */
  private privateInterest(uid: string, topic: string, change: 1 | -1): void {
    if (this.interest?.onPrivateTopicInterest === undefined) return;
    const key = streamOf({ uid, topic });
    const count = (this.privateStreams.get(key) ?? 0) + change;
    if (count > 0) this.privateStreams.set(key, count);
    else this.privateStreams.delete(key);
    if (count === 1 && change === 1) this.interest.onPrivateTopicInterest(uid, topic, true);
    else if (count === 0) this.interest.onPrivateTopicInterest(uid, topic, false);
  }

  private leaveTopic(client: HubClient, topic: string): void {
    const members = this.topics.get(topic);
    if (members !== undefined && members.delete(client) && members.size === 0) {
      this.topics.delete(topic);
      this.interest?.onTopicInterest(topic, false);
    }
  }
}
