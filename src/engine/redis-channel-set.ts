import type { Redis } from 'ioredis';

/** Subscribe/unsubscribe at most this many channels per command. */
const CHANNELS_PER_COMMAND = 1024;

/**
 * Sharded pub/sub (Redis Cluster, Redis ≥ 7): SSUBSCRIBE/SUNSUBSCRIBE, whose
 * channels must all hash to one slot per command, so channels are sent in
 * groups of one slot (`groupOf` gives a channel's slot).
 */
export interface ShardedMode {
  groupOf(channel: string): number;
}

/**
 * The channels a subscriber connection should be on, kept in step with it
 * (used by the Redis engine and the Redis control plane):
 * `want` edits the wanted set, and one microtask later the difference from
 * what the connection has is sent (a watch and an unwatch in one turn cancel
 * out). After a reconnect (`lost`, then `sync` on ready) every wanted channel
 * is subscribed again, and `onRestored` is told which once Redis confirms. A
 * SUBSCRIBE that fails while the connection stays up (a timeout) is sent again
 * shortly: both commands are idempotent in Redis.
 */
export class RedisChannelSet {
  private readonly wanted = new Set<string>();
  /** What has been sent on the current connection. */
  private readonly subscribed = new Set<string>();
  private readonly pending = new Set<Promise<unknown>>();
  /**
   * The last (UN)SUBSCRIBE sent: Redis answers a connection's commands in
   * order, so once it is settled every earlier one is too.
   */
  private lastSent: Promise<unknown> | null = null;
  /** The channels were lost (a closed connection or a failed command): the next ones sent are restorations. */
  private restoring = false;
  private scheduled = false;
  /**
   * Channels whose wanted state changed since the last sync: a sync looks at
   * these only (O(changes), not O(watched) per change), unless `fullSync`
   * (start, a lost connection, a failed command) asks for the whole difference.
   */
  private readonly changed = new Set<string>();
  private fullSync = true;
  /** Counts connections, so a late failure on an old one changes nothing. */
  private generation = 0;

  constructor(
    private readonly subscriber: Redis,
    private readonly retryMs: number,
    /** False before start and after close: nothing is sent. */
    private readonly active: () => boolean,
    private readonly onError: (error: Error) => void,
    /** Channels (still wanted) that had been lost and are confirmed again. */
    private readonly onRestored: (channels: string[]) => void = () => {},
    /** Set: SSUBSCRIBE/SUNSUBSCRIBE instead of SUBSCRIBE/UNSUBSCRIBE. */
    private readonly sharded?: ShardedMode,
  ) {}

  /**
   * Sharded pub/sub: `channel` moved here from another shard's connection
   * (a slot migration, a failover). It is wanted here now, and its
   * confirmation counts as a restoration (`onRestored`): what was published
   * while it moved never arrived live.
   */
  adopt(channel: string): void {
    this.restoring = true;
    this.want(channel, true);
  }

  /**
   * Sharded pub/sub: `channel` moved to another shard, whose server has
   * already dropped it (Redis sends SUNSUBSCRIBE when a slot leaves it) or is
   * gone: drop it from this connection's books without a command.
   */
  forget(channel: string): void {
    this.wanted.delete(channel);
    this.subscribed.delete(channel);
    this.changed.delete(channel);
  }

  /** True when no channel is wanted or held on this connection. */
  get empty(): boolean {
    return this.wanted.size === 0 && this.subscribed.size === 0;
  }

  has(channel: string): boolean {
    return this.wanted.has(channel);
  }

  /** The wanted channels (read-only view). */
  get channels(): ReadonlySet<string> {
    return this.wanted;
  }

  want(channel: string, on: boolean): void {
    if (on) this.wanted.add(channel);
    else this.wanted.delete(channel);
    this.changed.add(channel);
    if (!this.scheduled) {
      this.scheduled = true;
      queueMicrotask(this.sync);
    }
  }

  /** The connection closed: it has no channels any more. */
  lost(): void {
    this.generation++;
    this.subscribed.clear();
    this.fullSync = true;
    this.restoring = true;
  }

  /** Resolves once every (UN)SUBSCRIBE sent so far is answered (changes still scheduled are sent first). */
  async sent(): Promise<void> {
    if (this.scheduled || this.fullSync) this.sync();
    if (this.pending.size > 0 && this.lastSent !== null) await this.lastSent;
  }

  /** Resolves once the changes made so far have been answered on the current connection. */
  async settled(): Promise<void> {
    if (this.scheduled || this.fullSync) this.sync();
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
  }

  /** Send the difference between wanted and subscribed channels. */
  readonly sync = (): void => {
    this.scheduled = false;
    if (!this.active() || this.subscriber.status !== 'ready') return;
    const add: string[] = [];
    const remove: string[] = [];
    const restoring = this.restoring;
    this.restoring = false;
    if (this.fullSync) {
      this.fullSync = false;
      for (const channel of this.wanted) if (!this.subscribed.has(channel)) add.push(channel);
      for (const channel of this.subscribed) if (!this.wanted.has(channel)) remove.push(channel);
    } else {
      for (const channel of this.changed) {
        if (this.wanted.has(channel)) {
          if (!this.subscribed.has(channel)) add.push(channel);
        } else if (this.subscribed.has(channel)) {
          remove.push(channel);
        }
      }
    }
    this.changed.clear();
    for (const batch of this.batches(add)) this.send(batch, true, restoring);
    for (const batch of this.batches(remove)) this.send(batch, false, false);
  };

  /** Commands' worth of channels: at most CHANNELS_PER_COMMAND, and of one slot each in sharded mode. */
  private batches(channels: string[]): string[][] {
    const batches: string[][] = [];
    if (this.sharded === undefined) {
      for (let i = 0; i < channels.length; i += CHANNELS_PER_COMMAND) batches.push(channels.slice(i, i + CHANNELS_PER_COMMAND));
      return batches;
    }
    const bySlot = new Map<number, string[]>();
    for (const channel of channels) {
      const slot = this.sharded.groupOf(channel);
      let group = bySlot.get(slot);
      if (group === undefined || group.length >= CHANNELS_PER_COMMAND) {
        group = [];
        bySlot.set(slot, group);
        batches.push(group);
      }
      group.push(channel);
    }
    return batches;
  }

  private send(channels: string[], subscribe: boolean, restoring: boolean): void {
    const generation = this.generation;
    for (const channel of channels) {
      if (subscribe) this.subscribed.add(channel);
      else this.subscribed.delete(channel);
    }
    const sent =
      this.sharded !== undefined
        ? subscribe
          ? this.subscriber.ssubscribe(...channels)
          : this.subscriber.sunsubscribe(...channels)
        : subscribe
          ? this.subscriber.subscribe(...channels)
          : this.subscriber.unsubscribe(...channels);
    const tracked: Promise<unknown> = sent.then(
      () => {
        this.pending.delete(tracked);
        if (!restoring || !this.active() || generation !== this.generation) return;
        const still = channels.filter((channel) => this.wanted.has(channel));
        if (still.length > 0) this.onRestored(still);
      },
      (error: Error) => {
        this.pending.delete(tracked);
        if (!this.active() || generation !== this.generation) return;
        this.onError(error);
        this.fullSync = true;
        this.restoring = true;
        for (const channel of channels) {
          if (subscribe) this.subscribed.delete(channel);
          else this.subscribed.add(channel);
        }
        setTimeout(this.sync, this.retryMs).unref();
      },
    );
    this.pending.add(tracked);
    this.lastSent = tracked;
  }
}
