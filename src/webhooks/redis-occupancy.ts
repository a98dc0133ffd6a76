import type { Cluster, Redis } from 'ioredis';
import { failFastCluster, failFastRedis, quit, whenReady } from '../engine/redis-connection.js';
import { OCCUPANCY_APPLY_LUA, OCCUPANCY_REGISTER_LUA, OCCUPANCY_SWEEP_LUA } from './redis-occupancy-scripts.js';
import type { ClusterOccupancy, EventCause } from './webhooks.js';

interface OccupancyCommands {
  heraldOccApply(...args: string[]): Promise<number | number[]>;
  heraldOccRegister(...args: (string | number)[]): Promise<number>;
  heraldOccSweep(...args: (string | number)[]): Promise<(number | string)[]>;
}

type Connection = (Redis | Cluster) & OccupancyCommands;

export interface RedisOccupancyOptions {
  url: string;
  /** Seeds of a Redis Cluster (`--redis-cluster`; `url` then unused): every key is under the one tag `{occ}`, so each script runs on one shard. */
  clusterUrls?: string[];
  /** `--redis-prefix`; the keys are `<prefix>{occ}:…` (see redis-occupancy-scripts.ts). */
  prefix: string;
  nodeId: string;
  /** A node that stops refreshing (it died) has its topics vacated once this has passed (`--presence-ttl`). */
  ttlMs: number;
  /** Topics changed per script call (resync, sweep); default 1,000. */
  chunk?: number;
  onError?(error: Error): void;
}

type Report = (type: 'channel_occupied' | 'channel_vacated', topic: string, cause: EventCause | null) => void;

interface Change {
  add: boolean;
  topic: string;
  cause: EventCause | null;
}

/**
 * Cluster-wide channel occupancy on Redis (see redis-occupancy-scripts.ts
 * for the keys). A node adds itself to a topic's set when its first local
 * member arrives and removes itself when its last leaves; the script says
 * whether that turned the set empty↔non-empty — exactly one node is told of
 * each cluster transition. Changes of one event-loop turn go as one script
 * call, one call at a time (order kept per node).
 *
 * Liveness as the control plane's registry: each node scores itself in
 * `P{occ}:nodes` by an expiry TTL ahead, refreshed every TTL/3, and sweeps:
 * a node whose expiry has passed (SIGKILLed) has its topics taken out by
 * whichever live node's sweep comes first; the topics this empties are
 * vacated once, reported by that node.
 *
 * Redis down: changes are not queued (memory stays bounded by the node's own
 * topics); the node is marked out of sync, and once Redis answers again it
 * registers and applies the difference between its local topics and its set
 * in Redis. A node whose entry expired meanwhile (swept or not) does the same.
 */
export class RedisOccupancy implements ClusterOccupancy {
  private readonly redis: Connection;
  private readonly nodesKey: string;
  private readonly base: string;
  private readonly options: RedisOccupancyOptions;
  private readonly chunk: number;
  private report: Report = () => {};
  private localTopics: () => Iterable<string> = () => [];
  private pending: Change[] = [];
  private busy = false;
  /** Redis may disagree with the local topics: resync before the next change. */
  private outOfSync = true;
  private flushQueued = false;
  private timer: NodeJS.Timeout | null = null;
  private started = false;
  private closed = false;
  /** A refresh is waiting or running: the next ticks are skipped (behind a hung Redis they would pile up). */
  private refreshing = false;
  /** Resolves when the current run (flush, resync, refresh) ends. */
  private idle: Promise<void> = Promise.resolve();

  constructor(options: RedisOccupancyOptions) {
    this.options = options;
    this.chunk = options.chunk ?? 1000;
    this.base = `${options.prefix}{occ}:`;
    this.nodesKey = `${this.base}nodes`;
    const name = `herald-webhooks-${options.nodeId}`;
    const timings = { commandTimeoutMs: 2_000, connectTimeoutMs: 10_000, reconnectBaseMs: 100, reconnectMaxMs: 5_000 };
    const scripts = {
      heraldOccApply: { lua: OCCUPANCY_APPLY_LUA, numberOfKeys: 1 },
      heraldOccRegister: { lua: OCCUPANCY_REGISTER_LUA, numberOfKeys: 1 },
      heraldOccSweep: { lua: OCCUPANCY_SWEEP_LUA, numberOfKeys: 1 },
    };
    this.redis = (
      options.clusterUrls === undefined ? failFastRedis(options.url, name, timings, scripts) : failFastCluster(options.clusterUrls, name, timings, scripts)
    ) as Connection;
    this.redis.on('error', (error: Error) => this.options.onError?.(error));
    this.redis.on('ready', () => {
      this.outOfSync = true;
      this.kick();
    });
  }

  async start(report: Report, localTopics: () => Iterable<string>): Promise<void> {
    this.report = report;
    this.localTopics = localTopics;
    await whenReady(this.redis, 10_000);
    this.started = true;
    await this.run(() => this.resync());
    const period = Math.max(100, Math.floor(this.options.ttlMs / 3));
    this.timer = setInterval(() => {
      // One refresh at a time: a Redis that answers nothing for 2 s (the command timeout) spans several
      // ticks at short TTLs, and each tick would otherwise chain one more run behind it, without bound.
      if (this.refreshing) return;
      this.refreshing = true;
      void this.run(() => this.refresh()).finally(() => (this.refreshing = false));
    }, period);
    this.timer.unref();
  }

  occupy(topic: string, cause: EventCause): void {
    this.change({ add: true, topic, cause });
  }

  vacate(topic: string, cause: EventCause): void {
    this.change({ add: false, topic, cause });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    if (this.timer !== null) clearInterval(this.timer);
    await this.idle;
    // The node's clients are gone: what is pending are their vacates. Then release anything left.
    await this.run(async () => {
      if (!this.outOfSync) await this.flush();
      await this.sweep(this.options.nodeId);
    });
    this.closed = true;
    await quit(this.redis);
  }

  private change(change: Change): void {
    if (this.closed) return;
    // Out of sync, the resync computes the changes from the local topics; nothing to keep.
    if (this.outOfSync) {
      this.kick();
      return;
    }
    this.pending.push(change);
    if (!this.flushQueued) {
      this.flushQueued = true;
      setImmediate(() => {
        this.flushQueued = false;
        this.kick();
      });
    }
  }

  /** Run whatever is due (a resync, or pending changes) unless a run is in progress. */
  private kick(): void {
    if (this.busy || !this.started || this.closed || this.redis.status !== 'ready') return;
    if (this.outOfSync) void this.run(() => this.resync());
    else if (this.pending.length > 0) void this.run(() => this.flush());
  }

  /** One run at a time; a failure marks the node out of sync (resynced once Redis answers). */
  private run(job: () => Promise<void>): Promise<void> {
    if (this.busy) return this.idle.then(() => this.run(job));
    this.busy = true;
    let failed = false;
    this.idle = job()
      .catch((error: unknown) => {
        failed = true;
        this.outOfSync = true;
        this.pending = [];
        this.options.onError?.(error as Error);
      })
      .finally(() => {
        this.busy = false;
        // After a failure, not at once: Redis may be up but failing (the 'ready' event kicks too).
        if (failed) setTimeout(() => this.kick(), 1_000).unref();
        else if (this.pending.length > 0 || this.outOfSync) setImmediate(() => this.kick());
      });
    return this.idle;
  }

  private async flush(): Promise<void> {
    while (this.pending.length > 0) {
      const changes = this.pending.splice(0, this.chunk);
      const args: string[] = [this.nodesKey, this.base, this.options.nodeId];
      for (const change of changes) args.push(change.add ? '+' : '-', change.topic);
      const answer = await this.redis.heraldOccApply(...args);
      if (!Array.isArray(answer)) {
        // Our entry expired (a stall, an outage): register and resync from the local topics.
        this.outOfSync = true;
        this.pending = [];
        await this.resync();
        return;
      }
      changes.forEach((change, index) => {
        if (answer[index] === 1) this.report(change.add ? 'channel_occupied' : 'channel_vacated', change.topic, change.cause);
      });
    }
  }

  /** Register, then make Redis's set of this node's topics equal the local ones. */
  private async resync(): Promise<void> {
    this.outOfSync = true;
    await this.redis.heraldOccRegister(this.nodesKey, this.options.nodeId, this.options.ttlMs);
    const remote = new Set(await this.redis.smembers(`${this.base}n:${this.options.nodeId}`));
    // The local topics now include every change made while out of sync.
    this.pending = [];
    const changes: Change[] = [];
    const local = new Set(this.localTopics());
    for (const topic of local) if (!remote.has(topic)) changes.push({ add: true, topic, cause: null });
    for (const topic of remote) if (!local.has(topic)) changes.push({ add: false, topic, cause: null });
    this.outOfSync = false;
    // Changes made from here on queue behind the diff.
    this.pending = changes;
    await this.flush();
  }

  private async refresh(): Promise<void> {
    const wasLive = await this.redis.heraldOccRegister(this.nodesKey, this.options.nodeId, this.options.ttlMs);
    if (wasLive !== 1 || this.outOfSync) await this.resync();
    await this.sweep('');
  }

  /** Take out the topics of expired nodes (or of `node`, released), reporting the vacated ones. */
  private async sweep(node: string): Promise<void> {
    // Bounded: a huge dead node is finished by the next refreshes.
    for (let round = 0; round < 100; round++) {
      const answer = await this.redis.heraldOccSweep(this.nodesKey, this.base, this.chunk, node);
      for (let i = 1; i < answer.length; i++) this.report('channel_vacated', String(answer[i]), null);
      if (answer[0] !== 1) return;
    }
  }
}
