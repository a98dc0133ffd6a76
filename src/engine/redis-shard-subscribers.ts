import type { Cluster, Redis } from 'ioredis';
import { RedisChannelSet } from './redis-channel-set.js';
import { failFastRedis, quit, type FailFastTimings } from './redis-connection.js';
import { CLUSTER_SLOTS, hashSlot } from './redis-cluster-keys.js';

/** What the owner of a {@link RedisShardSubscribers} hears. */
export interface ShardSubscriberEvents {
  /** A message on a shard channel, in arrival order per shard. */
  onMessage(channel: Buffer, message: Buffer): void;
  /** Channels (still wanted) that were lost — a moved slot, a failover, a reconnect — and are in force again. */
  onRestored(channels: string[]): void;
  onError(error: Error): void;
  /** A shard connection is ready again after it was lost. */
  onReconnect(node: string): void;
}

/** One master's subscriber connection and the shard channels it should hold. */
interface Shard {
  redis: Redis;
  channels: RedisChannelSet;
  everReady: boolean;
}

/** How long after a sign of a moved slot the slot map is read again while it still looks unchanged, in ms. */
const REFRESH_RETRY_MS = [50, 200, 500, 1_000, 2_000];

/**
 * Sharded pub/sub subscriptions across a Redis Cluster: one subscriber
 * connection per master that serves a wanted channel's slot, each holding
 * exactly the wanted channels of its slots (SSUBSCRIBE, one slot per command).
 *
 * The slot map is the command connection's (ioredis `Cluster.slots`, kept up
 * to date by MOVED replies and a periodic refresh). When a slot changes owner
 * — a migration, a replica promoted after its master failed — its channels
 * move: dropped from the old shard's books (the old server has already sent
 * SUNSUBSCRIBE, or is gone) and SSUBSCRIBEd on the new owner, whose
 * confirmation is reported as a restoration (`onRestored`), so the node fills
 * what was published meanwhile from history. An unsolicited SUNSUBSCRIBE
 * (ioredis `moved`), a lost shard connection or a MOVED reply to SSUBSCRIBE
 * makes it read the slot map again at once, and a few times more while it
 * still looks unchanged (a failover takes the cluster a moment to agree on).
 */
export class RedisShardSubscribers {
  private readonly shards = new Map<string, Shard>();
  /** Wanted channel → the master ("host:port") whose shard holds it; "" while its slot has no known owner. */
  private readonly owner = new Map<string, string>();
  /** Slot → its wanted channels, so a changed slot moves only its own. */
  private readonly bySlot = new Map<number, Set<string>>();
  /** True once the channels were placed by a slot map (at start). */
  private placedOnce = false;
  private refreshTimer: NodeJS.Timeout | null = null;
  private refreshAttempt = 0;
  /** Shards whose server dropped channels unasked: after the next slot map read, they subscribe all theirs again. */
  private readonly resync = new Set<string>();
  private closed = false;

  constructor(
    private readonly cluster: Cluster,
    private readonly name: string,
    private readonly timings: FailFastTimings,
    private readonly active: () => boolean,
    private readonly events: ShardSubscriberEvents,
  ) {
    cluster.on('refresh', () => this.place());
  }

  /** The channels wanted (on any shard). */
  get channels(): ReadonlySet<string> {
    return new Set(this.owner.keys());
  }

  /** True while every shard holding wanted channels is connected. */
  get ready(): boolean {
    for (const shard of this.shards.values()) if (!shard.channels.empty && shard.redis.status !== 'ready') return false;
    return true;
  }

  want(channel: string, on: boolean): void {
    if (this.closed) return; // a shard made now would reconnect forever
    const slot = hashSlot(channel);
    if (on) {
      if (this.owner.has(channel)) return;
      let channels = this.bySlot.get(slot);
      if (channels === undefined) this.bySlot.set(slot, (channels = new Set()));
      channels.add(channel);
      const node = this.masterOf(slot);
      this.owner.set(channel, node);
      if (node !== '') this.shard(node).channels.want(channel, true);
      return;
    }
    const node = this.owner.get(channel);
    if (node === undefined) return;
    this.owner.delete(channel);
    const channels = this.bySlot.get(slot);
    channels?.delete(channel);
    if (channels?.size === 0) this.bySlot.delete(slot);
    if (node !== '') this.shards.get(node)?.channels.want(channel, false);
  }

  /** Connect a shard per master (a first interest in a slot then waits for no connect) and place the channels wanted so far. */
  start(): void {
    for (const node of new Set(this.cluster.slots.map((owners) => owners[0]))) if (node !== undefined) this.shard(node);
    this.place();
    for (const shard of this.shards.values()) shard.channels.sync();
  }

  /** Resolves once every shard's (UN)SSUBSCRIBEs sent so far are answered. */
  async sent(): Promise<void> {
    await Promise.all([...this.shards.values()].map(async (shard) => {
      await this.connected(shard);
      await shard.channels.sent();
    }));
  }

  /**
   * Resolves once every shard's changes made so far are answered — on a shard
   * still connecting, once it connected (or gave up for now: its channels are
   * then restored, and reported, when it is back).
   */
  async settled(): Promise<void> {
    await Promise.all([...this.shards.values()].map(async (shard) => {
      await this.connected(shard);
      await shard.channels.settled();
    }));
  }

  /** Resolves when a shard that is connecting for the first time is ready, or after the connect timeout. */
  private connected(shard: Shard): Promise<void> {
    if (shard.everReady || shard.channels.empty || shard.redis.status === 'end') return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        shard.redis.off('ready', done);
        resolve();
      };
      const timer = setTimeout(done, this.timings.connectTimeoutMs);
      shard.redis.on('ready', done);
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.refreshTimer !== null) clearTimeout(this.refreshTimer);
    await Promise.all([...this.shards.values()].map((shard) => quit(shard.redis)));
    this.shards.clear();
  }

  /** Something suggests a slot moved: read the slot map now and, while nothing changed, a few times more. */
  refreshSoon(): void {
    if (this.closed || this.refreshTimer !== null) return;
    const delay = REFRESH_RETRY_MS[Math.min(this.refreshAttempt, REFRESH_RETRY_MS.length - 1)];
    this.refreshAttempt++;
    this.refreshTimer = setTimeout(() => {
      this.refreshTimer = null;
      this.cluster.refreshSlotsCache(() => {
        // `place` ran on 'refresh'. A shard that dropped channels unasked subscribes all its own again:
        // those of a slot it still serves come back (a restoration), a MOVED for the others asks again.
        for (const node of this.resync) {
          const shard = this.shards.get(node);
          shard?.channels.lost();
          shard?.channels.sync();
        }
        this.resync.clear();
        // Keep asking while some wanted channel still has no live owner.
        if (this.refreshAttempt < REFRESH_RETRY_MS.length && this.unsettledOwners()) this.refreshSoon();
        else this.refreshAttempt = 0;
      });
    }, delay);
    this.refreshTimer.unref();
  }

  /** True while a wanted channel has no owner or sits on a shard that is not connected. */
  private unsettledOwners(): boolean {
    for (const node of this.owner.values()) {
      if (node === '' || this.shards.get(node)?.redis.status !== 'ready') return true;
    }
    return false;
  }

  private masterOf(slot: number): string {
    return this.cluster.slots[slot]?.[0] ?? '';
  }

  /** Move the channels of every slot whose owner changed since they were placed; close shards left empty. */
  private place(): void {
    if (this.closed) return;
    const now = new Array<string>(CLUSTER_SLOTS);
    for (let slot = 0; slot < CLUSTER_SLOTS; slot++) now[slot] = this.masterOf(slot);
    for (const [slot, channels] of this.bySlot) {
      const node = now[slot];
      for (const channel of channels) {
        const from = this.owner.get(channel) ?? '';
        if (from === node) continue;
        this.owner.set(channel, node);
        if (from !== '') this.shards.get(from)?.channels.forget(channel);
        if (node === '') continue;
        // After the first placement (start), a channel placed anew may have missed publications — it moved,
        // or its slot had no known owner for a while: a restoration. Before it, nothing was delivered yet.
        if (this.placedOnce) this.shard(node).channels.adopt(channel);
        else this.shard(node).channels.want(channel, true);
      }
    }
    this.placedOnce = true;
    const masters = new Set(now);
    for (const [node, shard] of this.shards) {
      if (shard.channels.empty && !masters.has(node)) {
        this.shards.delete(node);
        void quit(shard.redis);
      }
    }
  }

  /** The shard of master `node`, connecting it on first use. */
  private shard(node: string): Shard {
    let shard = this.shards.get(node);
    if (shard !== undefined) return shard;
    const [host, port] = splitNode(node);
    const redis = failFastRedis(`redis://${host}:${port}`, `${this.name}-${port}`, this.timings);
    const channels = new RedisChannelSet(
      redis,
      this.timings.reconnectBaseMs,
      () => this.active() && !this.closed,
      (error) => {
        this.events.onError(error);
        if (/^MOVED|^ASK|CLUSTERDOWN/.test(error.message)) this.refreshSoon();
      },
      (restored) => this.events.onRestored(restored),
      { groupOf: hashSlot },
    );
    shard = { redis, channels, everReady: false };
    const created = shard;
    redis.on('error', (error: Error) => this.events.onError(error));
    redis.on('smessageBuffer', (channel: Buffer, message: Buffer) => this.events.onMessage(channel, message));
    // An unsolicited SUNSUBSCRIBE: the server dropped our channels of a slot that left it.
    redis.on('moved', () => {
      this.resync.add(node);
      this.refreshSoon();
    });
    redis.on('close', () => {
      channels.lost();
      if (!this.closed) this.refreshSoon();
    });
    redis.on('ready', () => {
      if (created.everReady) this.events.onReconnect(node);
      created.everReady = true;
      channels.sync();
    });
    redis.connect().catch(() => {}); // retried by its retryStrategy, reported through 'error'
    this.shards.set(node, shard);
    return shard;
  }
}

function splitNode(node: string): [host: string, port: string] {
  const colon = node.lastIndexOf(':');
  return [node.slice(0, colon), node.slice(colon + 1)];
}
