/**
 * S6 on a Redis Cluster: private clusters of 1 shard and of 3 shards (3
 * masters + 3 replicas; the 1-shard cluster has no replica, as
 * test/helpers/redis-cluster.ts builds it) that this module starts and stops
 * (SIGKILL of its own PIDs), never the shared Redis.
 *
 * - `ShardMonitor`: one RedisMonitor per cluster node (INFO stats/cpu/
 *   commandstats on a connection of its own, less its own INFO calls), so a
 *   step gets CPU, commands and bytes per shard, and their sum over the masters.
 * - The Herald set-ups (`REDIS_CLUSTER_SETUPS`, run by s6-cluster.ts through
 *   `herald serve --engine redis --redis-cluster`).
 * - The engine-only rows: a RedisClusterEngine publishing to 30 topics as fast
 *   as 64 in flight allow, another subscribed to them all — no Herald node, no
 *   WebSocket: what the engine and the shards alone sustain.
 * Two cores cannot show 3 shards beating 1 on throughput; the per-shard costs
 * (and that a publication touches one shard) are what extrapolates.
 */
import { randomBytes } from 'node:crypto';
import { RedisClusterEngine } from '../../src/engine/redis-cluster-engine.js';
import { clusterChannel, hashSlot } from '../../src/engine/redis-cluster-keys.js';
import { RedisCluster } from '../../test/helpers/redis-cluster.js';
import type { Column, RunContext, Table } from '../lib/types.js';
import { RedisMonitor, type RedisSample } from './s6-redis.js';

/** The Herald set-ups on a Redis Cluster (a quiet node on the 3-node ones, as with Redis and NATS). */
export const REDIS_CLUSTER_SETUPS = [
  { label: 'redis-cluster 1 shard ×3', engine: 'redis-cluster' as const, shards: 1 as const, nodes: 3, quietNode: true },
  { label: 'redis-cluster 3 shards ×1', engine: 'redis-cluster' as const, shards: 3 as const, nodes: 1, quietNode: false },
  { label: 'redis-cluster 3 shards ×3', engine: 'redis-cluster' as const, shards: 3 as const, nodes: 3, quietNode: true },
];

/** Slots (hash tags) the per-shard tables name: who serves what. */
function namedTags(fanoutTopic: string, probeTopic: string): [string, string][] {
  return [
    ['fan-out topic', clusterChannel('', { topic: fanoutTopic })],
    ['probe topic', clusterChannel('', { topic: probeTopic })],
    ['{all}', '{all}'],
    ['{nodes} registry', '{nodes}'],
    ['{control}', '{control}'],
  ];
}

interface ShardNode {
  port: number;
  pid: number | undefined;
  master: boolean;
  /** Of a replica: its master's port. */
  replicaOf?: number;
  slots: [number, number][];
  monitor: RedisMonitor;
}

/** A sample of every node, and the masters' sum as one RedisSample (what the one-Redis figures compare with). */
export interface ShardedSample extends RedisSample {
  shards: RedisSample[];
}

/** One node of the cluster between two samples. */
export interface ShardDelta {
  port: number;
  role: string;
  /** Which of the named slots it serves (masters). */
  serves: string;
  master: boolean;
  /** Cores, INFO cpu. */
  cpu: number;
  /** Per publication (accepted pushes of the step), when there were any. */
  cpuUsPerPub: number;
  commandsPerPub: number;
  evalshaPerPub: number;
  spublishPerPub: number;
  bytesInPerPub: number;
  bytesOutPerPub: number;
  /** Every other command (calls over the interval, the monitor's own INFO excluded): the background traffic. */
  other: string;
}

export class ShardMonitor {
  private constructor(
    readonly cluster: RedisCluster,
    readonly shards: 1 | 3,
    readonly nodes: ShardNode[],
    private readonly tags: [string, string][],
  ) {}

  /** Start a private cluster of `shards` masters and open a monitor connection to each of its nodes. */
  static async start(shards: 1 | 3, fanoutTopic: string, probeTopic: string, log: (line: string) => void): Promise<ShardMonitor> {
    const cluster = await RedisCluster.start({ masters: shards });
    const nodes: ShardNode[] = [];
    try {
      const topology = await cluster.topology();
      const ids = new Map(topology.map((info) => [info.id, info.port]));
      const text = String(await cluster.command(cluster.nodes[0], ['CLUSTER', 'NODES']));
      const masterOf = new Map<number, number>();
      for (const line of text.trim().split('\n')) {
        const parts = line.split(' ');
        const port = Number(parts[1].split('@')[0].split(':')[1]);
        if (parts[3] !== '-' && ids.has(parts[3])) masterOf.set(port, ids.get(parts[3]) as number);
      }
      for (const info of [...topology].sort((a, b) => Number(b.master) - Number(a.master) || a.port - b.port)) {
        const node = cluster.nodes.find((n) => n.port === info.port);
        const monitor = await RedisMonitor.open(`redis://127.0.0.1:${info.port}`, log);
        nodes.push({ port: info.port, pid: node?.pid, master: info.master, replicaOf: masterOf.get(info.port), slots: info.slots, monitor });
      }
    } catch (error) {
      await Promise.all(nodes.map((n) => n.monitor.close()));
      await cluster.stop();
      throw error;
    }
    return new ShardMonitor(cluster, shards, nodes, namedTags(fanoutTopic, probeTopic));
  }

  get masters(): ShardNode[] {
    return this.nodes.filter((n) => n.master);
  }

  /** Seed URLs for `--redis-url` (every master: a node needs only one, the others are discovered). */
  get seedUrls(): string {
    return this.masters.map((n) => `redis://127.0.0.1:${n.port}`).join(',');
  }

  /** The master serving the slot of `name` (a key or shard channel). */
  ownerOf(name: string): ShardNode {
    const slot = hashSlot(name);
    const owner = this.masters.find((n) => n.slots.some(([from, to]) => slot >= from && slot <= to));
    if (owner === undefined) throw new Error(`no master serves slot ${slot} of ${name}`);
    return owner;
  }

  /** What a node is, for the tables: `:port master (fan-out topic, {nodes} registry)` / `:port replica of :p`. */
  roleOf(node: ShardNode): { role: string; serves: string } {
    if (!node.master) return { role: `replica of :${node.replicaOf ?? '?'}`, serves: '' };
    const serves = this.tags.filter(([, tag]) => this.ownerOf(tag) === node).map(([name]) => name);
    return { role: 'master', serves: serves.join(', ') };
  }

  /** The version and layout, for the log and the JSON. */
  describe(): { version: string; nodes: { port: number; pid: number | null; role: string; serves: string; slots: string }[] } {
    return {
      version: this.nodes[0]?.monitor.version ?? '?',
      nodes: this.nodes.map((n) => ({ port: n.port, pid: n.pid ?? null, ...this.roleOf(n), slots: n.slots.map(([a, b]) => `${a}-${b}`).join(' ') })),
    };
  }

  /** Subscribers of a shard channel on the master serving it: one per Herald node that wants it. */
  async awaitShardNumsub(channel: string, expected: number): Promise<number> {
    return await this.ownerOf(channel).monitor.awaitNumsub(channel, expected, 5_000, true);
  }

  /** Every node at once; the masters' sum as the RedisSample. */
  async sample(): Promise<ShardedSample> {
    const shards = await Promise.all(this.nodes.map((n) => n.monitor.sample()));
    const masters = shards.filter((_, i) => this.nodes[i].master);
    const sum = (f: (s: RedisSample) => number): number => masters.reduce((acc, s) => acc + f(s), 0);
    const cmd: RedisSample['cmd'] = {};
    for (const s of masters) {
      for (const [name, c] of Object.entries(s.cmd)) {
        const into = (cmd[name] ??= { calls: 0, usec: 0 });
        into.calls += c.calls;
        into.usec += c.usec;
      }
    }
    return {
      t: Math.max(...shards.map((s) => s.t)),
      cpuS: sum((s) => s.cpuS),
      procCpuS: sum((s) => s.procCpuS),
      commands: sum((s) => s.commands),
      netInBytes: sum((s) => s.netInBytes),
      netOutBytes: sum((s) => s.netOutBytes),
      cmd,
      shards,
    };
  }

  /** Per node between two samples, per publication of `publications`. */
  deltas(a: ShardedSample, b: ShardedSample, publications: number): ShardDelta[] {
    return this.nodes.map((node, i) => {
      const [x, y] = [a.shards[i], b.shards[i]];
      const seconds = Math.max(1e-9, (y.t - x.t) / 1000);
      const per = (v: number): number => (publications > 0 ? v / publications : NaN);
      const calls = (name: string): number => (y.cmd[name]?.calls ?? 0) - (x.cmd[name]?.calls ?? 0);
      const other = Object.keys(y.cmd)
        .filter((name) => name !== 'info' && name !== 'evalsha' && name !== 'spublish' && calls(name) > 0)
        .sort((p, q) => calls(q) - calls(p))
        .map((name) => `${name} ${calls(name)}`)
        .join(', ');
      return {
        port: node.port,
        ...this.roleOf(node),
        master: node.master,
        cpu: (y.cpuS - x.cpuS) / seconds,
        cpuUsPerPub: per((y.cpuS - x.cpuS) * 1e6),
        commandsPerPub: per(y.commands - x.commands),
        evalshaPerPub: per(calls('evalsha') + calls('eval')),
        spublishPerPub: per(calls('spublish')),
        bytesInPerPub: per(y.netInBytes - x.netInBytes),
        bytesOutPerPub: per(y.netOutBytes - x.netOutBytes),
        other,
      };
    });
  }

  /** SCAN + UNLINK of `prefix` on every master; how many keys. */
  async deleteKeys(prefix: string): Promise<number> {
    let deleted = 0;
    for (const node of this.masters) deleted += await node.monitor.deleteKeys(prefix, true);
    return deleted;
  }

  async stop(): Promise<void> {
    await Promise.all(this.nodes.map((n) => n.monitor.close().catch(() => undefined)));
    await this.cluster.stop();
  }
}

// ---------------------------------------------------------------------------
// Engine-only rows

const TOPICS = 30;
const IN_FLIGHT = 64;
const PAYLOAD = Buffer.alloc(100, 0x61);

export interface RedisClusterRow {
  [key: string]: string | number;
  setup: string;
  shard: string;
  pubsPerSec: number;
  deliveriesPerSec: number;
  publications: number;
  cpuUsPerPub: number;
  commandsPerPub: number;
  bytesInPerPub: number;
  bytesOutPerPub: number;
}

/** `ms` of publishing through the engine alone on the monitor's cluster; one row per node. */
async function engineRows(rc: ShardMonitor, ms: number, log: (line: string) => void): Promise<RedisClusterRow[]> {
  const prefix = `herald-bench-s6rc-${randomBytes(3).toString('hex')}:`;
  const publisher = new RedisClusterEngine({ urls: rc.cluster.urls, prefix, historySize: 100 });
  const subscriber = new RedisClusterEngine({ urls: rc.cluster.urls, prefix, historySize: 100 });
  try {
    let delivered = 0;
    await publisher.start({ onPublication: () => {} });
    await subscriber.start({ onPublication: () => delivered++ });
    const topics = Array.from({ length: TOPICS }, (_, i) => `s6rc-${i}`);
    for (const topic of topics) subscriber.subscribeTopic(topic);
    await subscriber.settled();
    const before = await rc.sample();
    const started = Date.now();
    let published = 0;
    let failed = 0;
    let next = 0;
    const worker = async (): Promise<void> => {
      while (Date.now() - started < ms) {
        try {
          await publisher.publish({ topic: topics[next++ % TOPICS], data: PAYLOAD });
          published++;
        } catch {
          failed++;
        }
      }
    };
    await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
    const elapsed = (Date.now() - started) / 1000;
    const deadline = Date.now() + 5_000;
    while (delivered < published && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    const after = await rc.sample();
    log(`  redis-cluster ${rc.shards} shard(s), engine only: ${published} publications in ${elapsed.toFixed(1)} s (${failed} refused), ${delivered} delivered`);
    // Per publication of the whole run (each master carries about 1/shards of them).
    return rc.deltas(before, after, published).map((d) => ({
      setup: `engine only, ${rc.shards} shard${rc.shards === 1 ? '' : 's'}`,
      shard: `:${d.port} ${d.role}`,
      pubsPerSec: Math.round(published / elapsed),
      deliveriesPerSec: Math.round(delivered / elapsed),
      publications: published,
      cpuUsPerPub: d.cpuUsPerPub,
      commandsPerPub: d.commandsPerPub,
      bytesInPerPub: d.bytesInPerPub,
      bytesOutPerPub: d.bytesOutPerPub,
    }));
  } finally {
    await Promise.all([publisher.close(), subscriber.close()]);
    await rc.deleteKeys(prefix).catch(() => -1);
  }
}

const ENGINE_COLUMNS: Column[] = [
  { key: 'setup', label: 'set-up', format: 'text' },
  { key: 'shard', label: 'node', format: 'text' },
  { key: 'pubsPerSec', label: 'pubs/s (all)', format: 'int' },
  { key: 'deliveriesPerSec', label: 'deliveries/s', format: 'int' },
  { key: 'cpuUsPerPub', label: 'CPU µs/pub (all pubs)', format: 'fixed1' },
  { key: 'commandsPerPub', label: 'commands/pub', format: 'fixed2' },
  { key: 'bytesInPerPub', label: 'bytes in/pub', format: 'fixed1' },
  { key: 'bytesOutPerPub', label: 'bytes out/pub', format: 'fixed1' },
];

// ---------------------------------------------------------------------------
// One cluster at a time

/**
 * The private clusters of a run, one at a time: `open(shards)` returns the
 * cluster of that size, running the engine-only rows on the previous one and
 * stopping it first; `close()` does the same for the last one.
 */
export class PrivateClusters {
  private current: ShardMonitor | undefined;
  readonly engineRows: RedisClusterRow[] = [];
  readonly errors: string[] = [];
  readonly layouts: ReturnType<ShardMonitor['describe']>[] = [];

  constructor(
    private readonly ctx: RunContext,
    private readonly fanoutTopic: string,
    private readonly probeTopic: string,
  ) {}

  async open(shards: 1 | 3): Promise<ShardMonitor> {
    if (this.current?.shards === shards) return this.current;
    await this.close();
    const rc = await ShardMonitor.start(shards, this.fanoutTopic, this.probeTopic, this.ctx.log);
    this.current = rc;
    const layout = rc.describe();
    this.layouts.push(layout);
    this.ctx.log(`  Redis Cluster ${layout.version} (private), ${shards} shard(s): ` + layout.nodes.map((n) => `:${n.port} ${n.role}${n.serves ? ` [${n.serves}]` : ''}`).join('; '));
    return rc;
  }

  async close(): Promise<void> {
    const rc = this.current;
    if (rc === undefined) return;
    this.current = undefined;
    try {
      this.engineRows.push(...(await engineRows(rc, this.ctx.quick ? 1_500 : 10_000, this.ctx.log)));
    } catch (error) {
      this.errors.push(`redis-cluster ${rc.shards} shard(s), engine only: ${error instanceof Error ? error.message : String(error)}`);
    } finally {
      await rc.stop().catch((error: unknown) => this.errors.push(`stopping the ${rc.shards}-shard cluster: ${String(error)}`));
    }
  }

  engineTable(): Table | undefined {
    if (this.engineRows.length === 0) return undefined;
    return {
      title: 'S6 Redis Cluster engine only (no Herald node): per cluster node, per publication of the whole run',
      columns: ENGINE_COLUMNS,
      rows: this.engineRows,
    };
  }
}
