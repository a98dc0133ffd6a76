/**
 * S6, Redis Cluster rows: the Redis Cluster engine on its own (no Herald
 * nodes: `serve --redis-cluster` waits for a cluster control plane), on a
 * private cluster of 1 shard and of 3 shards (3 masters + 3 replicas) that
 * this module starts and stops. A publishing engine pushes to 30 topics for a
 * fixed time with a bounded number in flight; a second engine subscribes to
 * them all. Per shard: CPU of its redis-server (/proc/<pid>/stat), commands
 * (INFO commandstats) and bytes in/out (INFO stats) per publication.
 * Two cores cannot show 3 shards beating 1 on throughput; the per-shard costs
 * are what extrapolates (ARCHITECTURE.md, "Past one Redis").
 */
import { readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { RedisClusterEngine } from '../../src/engine/redis-cluster-engine.js';
import { RedisCluster, type ClusterNode } from '../../test/helpers/redis-cluster.js';
import type { Column, RunContext, Table } from '../lib/types.js';

const TOPICS = 30;
const IN_FLIGHT = 64;
const PAYLOAD = Buffer.alloc(100, 0x61);
/** Clock ticks per second of /proc/<pid>/stat (USER_HZ; 100 on Linux). */
const TICKS_PER_SECOND = 100;

interface ShardSample {
  cpuTicks: number;
  commands: number;
  bytesIn: number;
  bytesOut: number;
}

async function sample(cluster: RedisCluster, node: ClusterNode): Promise<ShardSample> {
  const stat = readFileSync(`/proc/${node.pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const cpuTicks = Number(fields[11]) + Number(fields[12]); // utime, stime (fields 14 and 15 of stat)
  const commandstats = String(await cluster.command(node, ['INFO', 'commandstats']));
  let commands = 0;
  for (const match of commandstats.matchAll(/calls=(\d+)/g)) commands += Number(match[1]);
  const stats = String(await cluster.command(node, ['INFO', 'stats']));
  const bytesIn = Number(/total_net_input_bytes:(\d+)/.exec(stats)?.[1] ?? 0);
  const bytesOut = Number(/total_net_output_bytes:(\d+)/.exec(stats)?.[1] ?? 0);
  return { cpuTicks, commands, bytesIn, bytesOut };
}

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

/** One set-up: a cluster of `masters` shards, `ms` of publishing. */
async function runSetup(masters: 1 | 3, ms: number, log: (line: string) => void): Promise<RedisClusterRow[]> {
  const cluster = await RedisCluster.start({ masters });
  const prefix = `herald-bench-s6rc-${randomBytes(3).toString('hex')}:`;
  const publisher = new RedisClusterEngine({ urls: cluster.urls, prefix, historySize: 100 });
  const subscriber = new RedisClusterEngine({ urls: cluster.urls, prefix, historySize: 100 });
  try {
    let delivered = 0;
    await publisher.start({ onPublication: () => {} });
    await subscriber.start({ onPublication: () => delivered++ });
    const topics = Array.from({ length: TOPICS }, (_, i) => `s6rc-${i}`);
    for (const topic of topics) subscriber.subscribeTopic(topic);
    await subscriber.settled();
    const shards = await cluster.masters();
    const before = await Promise.all(shards.map((node) => sample(cluster, node)));
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
    const after = await Promise.all(shards.map((node) => sample(cluster, node)));
    log(`  redis cluster ${masters} shard(s): ${published} publications in ${elapsed.toFixed(1)} s (${failed} refused), ${delivered} delivered`);
    return shards.map((node, i) => {
      // Per publication of the whole run (each shard carries about 1/masters of them).
      const per = (value: number): number => (published === 0 ? 0 : value / published);
      return {
        setup: `redis cluster, ${masters} shard${masters === 1 ? '' : 's'}`,
        shard: `:${node.port}`,
        pubsPerSec: Math.round(published / elapsed),
        deliveriesPerSec: Math.round(delivered / elapsed),
        publications: published,
        cpuUsPerPub: per(((after[i].cpuTicks - before[i].cpuTicks) / TICKS_PER_SECOND) * 1e6),
        commandsPerPub: per(after[i].commands - before[i].commands),
        bytesInPerPub: per(after[i].bytesIn - before[i].bytesIn),
        bytesOutPerPub: per(after[i].bytesOut - before[i].bytesOut),
      };
    });
  } finally {
    await Promise.all([publisher.close(), subscriber.close()]);
    await cluster.stop();
  }
}

const COLUMNS: Column[] = [
  { key: 'setup', label: 'set-up', format: 'text' },
  { key: 'shard', label: 'shard', format: 'text' },
  { key: 'pubsPerSec', label: 'pubs/s (all)', format: 'int' },
  { key: 'deliveriesPerSec', label: 'deliveries/s', format: 'int' },
  { key: 'cpuUsPerPub', label: 'shard CPU µs/pub (all pubs)', format: 'fixed1' },
  { key: 'commandsPerPub', label: 'commands/pub', format: 'fixed2' },
  { key: 'bytesInPerPub', label: 'bytes in/pub', format: 'fixed1' },
  { key: 'bytesOutPerPub', label: 'bytes out/pub', format: 'fixed1' },
];

/**
 * The Redis Cluster table of S6 (1 shard, then 3), or an error message. Skipped with
 * BENCH_REDIS_CLUSTER=0. Commands and bytes include the bench's own INFO calls (a few per shard).
 */
export async function redisClusterTable(ctx: RunContext): Promise<{ table?: Table; rows: RedisClusterRow[]; error?: string }> {
  if (process.env.BENCH_REDIS_CLUSTER === '0') return { rows: [] };
  const ms = ctx.quick ? 1_500 : 10_000;
  const rows: RedisClusterRow[] = [];
  try {
    for (const masters of [1, 3] as const) rows.push(...(await runSetup(masters, ms, ctx.log)));
  } catch (error) {
    return { rows, error: `redis cluster: ${error instanceof Error ? error.message : String(error)}` };
  }
  return { rows, table: { title: 'S6 Redis Cluster engine (no Herald nodes): per shard, per publication of the whole run', columns: COLUMNS, rows } };
}
