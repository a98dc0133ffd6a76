/**
 * S6 — cluster: the S2 fan-out (one topic, 6,000 subscribers, 100-byte pushes
 * through `POST /v1/pushData` at stepped rates) against four set-ups, one
 * after the other, in the same run:
 *
 *   memory ×1   one Herald node, `--engine memory` (the S2 set-up)
 *   redis ×1    one node, `--engine redis`: every push goes through Redis and back
 *   redis ×2    two nodes on the Redis engine, subscribers split evenly
 *   redis ×3    three nodes, subscribers split evenly, plus a fourth, *quiet*
 *               node with clients of another topic only
 *
 * The pusher always posts to node A. Per step it records every node's CPU
 * (/proc), Redis's CPU (`INFO cpu`, µs resolution; /proc as a cross-check),
 * Redis's commands and network bytes (`INFO stats`, less the bench's own
 * INFO calls) and script time (`INFO commandstats`), the load clients' CPU and
 * what each node sent (`/metrics`). After the steps, a *publish probe* pushes
 * 1,000/s to a topic with 10 subscribers on every node, to measure what one
 * publication costs node A and Redis at a rate where those costs are well
 * above the measurement's resolution.
 *
 * Interest routing is checked, not assumed: `PUBSUB NUMSUB` of the fan-out
 * channel must equal the number of nodes with subscribers, and the quiet
 * node's `herald_publications_total` must not move during the fan-out steps
 * (it must move by the probe's pushes, which it has clients for).
 *
 * NATS (`nats ×1`, `nats ×3`, s6-nats.ts): a private nats-server the bench starts.
 *
 * Redis Cluster (`redis-cluster 1 shard ×3`, `3 shards ×1`, `3 shards ×3`,
 * s6-redis-cluster.ts): nodes on `--engine redis --redis-cluster` (control
 * plane on the cluster too) against private clusters the bench starts and
 * stops, one at a time. Per step, every cluster node's CPU, commands and
 * bytes: the per-shard table shows that a publication touches the one shard
 * serving its topic's slot (its EVALSHA and SPUBLISH there, ~0 elsewhere but
 * background traffic, named). Interest routing: `PUBSUB SHARDNUMSUB` on the
 * owning master. After each cluster's set-ups, the engine-only rows (a
 * RedisClusterEngine publishing with no Herald node) run on the same cluster.
 *
 * `BENCH_S6_ENGINES=nats` or `=redis-cluster` (comma-separated engine names:
 * memory, redis, nats, redis-cluster) runs only those set-ups;
 * `BENCH_REDIS_CLUSTER=0` leaves out the Redis Cluster ones.
 *
 * Redis: `BENCH_REDIS_URL` (default redis://127.0.0.1:6379, loopback only).
 * Each set-up gets its own key prefix `herald-bench-s6-<random>:<set-up>:`,
 * whose keys are deleted when the set-up ends; nothing else in Redis is
 * touched, and the Redis server is only read (INFO, PUBSUB), never signalled.
 */
import { randomBytes } from 'node:crypto';
import { clusterChannel } from '../../src/engine/redis-cluster-keys.js';
import { sleep } from '../lib/children.js';
import { rssBytes } from '../lib/proc.js';
import type { Result, RunContext, Scenario } from '../lib/types.js';
import { runParams } from './common.js';
import { LoadFleet } from './fleet.js';
import { NATS_SETUPS, NatsMonitor, natsEngineArgs } from './s6-nats.js';
import { RedisMonitor } from './s6-redis.js';
import { PrivateClusters, REDIS_CLUSTER_SETUPS, type ShardMonitor } from './s6-redis-cluster.js';
import { bestOf, shardTableOf, stepsTableOf, summaryOf } from './s6-report.js';
import { PAYLOAD_BYTES, logStep, measure, type ClusterStep, type Rig } from './s6-step.js';
import { startServers, stopServers, type RunningServer, type ServerSpec } from './servers.js';
import { DISTURBED_CORES, fmtRate } from './steps.js';
import { Worker, childModule } from './worker.js';

export type { ClusterStep, NodeStep } from './s6-step.js';

/** Offered deliveries per second of the steps (pushes/s = this / subscribers). */
export const CLUSTER_DELIVERY_STEPS = [60e3, 150e3, 300e3, 450e3, 600e3, 900e3, 1.2e6, 1.8e6, 2.4e6];
export const QUICK_CLUSTER_DELIVERY_STEPS = [60e3];
const FANOUT_TOPIC = 's6-fanout';
const PROBE_TOPIC = 's6-probe';
const NODE_NAMES = ['A', 'B', 'C', 'D', 'E'];
const QUIET_NAME = 'Q';

export interface ClusterSetup {
  label: string;
  engine: 'memory' | 'redis' | 'nats' | 'redis-cluster';
  /** Redis Cluster set-ups: masters of the private cluster. */
  shards?: 1 | 3;
  /** Nodes the fan-out subscribers are spread over; node A (the first) takes the pushes. */
  nodes: number;
  /** Add a node whose clients subscribe only to the probe topic, never to the fan-out topic. */
  quietNode: boolean;
}

export const CLUSTER_SETUPS: ClusterSetup[] = [
  { label: 'memory ×1', engine: 'memory', nodes: 1, quietNode: false },
  { label: 'redis ×1', engine: 'redis', nodes: 1, quietNode: false },
  { label: 'redis ×2', engine: 'redis', nodes: 2, quietNode: false },
  { label: 'redis ×3', engine: 'redis', nodes: 3, quietNode: true },
  ...NATS_SETUPS,
  ...REDIS_CLUSTER_SETUPS,
];

// ---------------------------------------------------------------------------
// One set-up

export interface SetupRun {
  label: string;
  engine: ClusterSetup['engine'];
  shards?: 1 | 3;
  nodes: number;
  quietNode: boolean;
  redisPrefix?: string;
  commands: string[][];
  connect: { ok: number; failed: number; perNode: { name: string; ok: number; failed: number }[]; elapsedMs: number };
  probeConnections: number;
  /** Resident memory of each node (A, B, …, Q) once every client is connected and subscribed, MiB. */
  rssMiB: { name: string; mib: number }[];
  /** PUBSUB NUMSUB (SHARDNUMSUB on a Redis Cluster) of the channels after subscribing (Redis set-ups). */
  numsub?: { fanout: number; probe: number; expectedFanout: number; expectedProbe: number };
  warmup?: ClusterStep;
  steps: ClusterStep[];
  best?: ClusterStep;
  probe?: ClusterStep;
  /** Publications the quiet node routed during the warm-up and fan-out steps (0 expected), and during the probe. */
  quiet?: { fanoutPublications: number; probePublications: number; probeAccepted: number };
  keysDeleted?: number;
  error?: string;
}

interface Plan {
  subscribers: number;
  processes: number;
  steps: number[];
  stepMs: number;
  drainMs: number;
  warmupMs: number;
  probeRate: number;
  probeMs: number;
  probePerNode: number;
  thorough: boolean;
}

async function runSetup(
  ctx: RunContext,
  setup: ClusterSetup,
  plan: Plan,
  backends: { redis?: RedisMonitor; nats?: NatsMonitor; rcluster?: ShardMonitor },
  basePrefix: string,
): Promise<SetupRun> {
  const slug = `${setup.engine}${setup.shards ?? ''}x${setup.nodes}`;
  const prefix = setup.engine === 'redis' || setup.engine === 'redis-cluster' ? `${basePrefix}${slug}:` : undefined;
  const names = [...NODE_NAMES.slice(0, setup.nodes), ...(setup.quietNode ? [QUIET_NAME] : [])];
  const { nats, rcluster } = backends;
  const redis = setup.engine === 'redis' ? backends.redis : undefined;
  const engineArgs =
    setup.engine === 'redis'
      ? ['--engine', 'redis', '--redis-url', (redis as RedisMonitor).url, '--redis-prefix', prefix as string]
      : setup.engine === 'redis-cluster'
        ? ['--engine', 'redis', '--redis-cluster', '--redis-url', (rcluster as ShardMonitor).seedUrls, '--redis-prefix', prefix as string]
        : setup.engine === 'nats'
          ? natsEngineArgs(nats as NatsMonitor, `s6${slug}`)
          : ['--engine', 'memory'];
  // Where the set-up's keys are deleted afterwards.
  const keyStore = setup.engine === 'redis' ? redis : setup.engine === 'redis-cluster' ? rcluster : undefined;
  const specs: ServerSpec[] = names.map((name) => ({ kind: 'herald', label: `${setup.label} node ${name}`, heraldArgs: engineArgs }));
  const run: SetupRun = {
    label: setup.label,
    engine: setup.engine,
    shards: setup.shards,
    nodes: setup.nodes,
    quietNode: setup.quietNode,
    redisPrefix: prefix,
    commands: [],
    connect: { ok: 0, failed: 0, perNode: [], elapsedMs: 0 },
    probeConnections: plan.probePerNode * names.length,
    rssMiB: [],
    steps: [],
  };
  ctx.log(`  ${setup.label}: ${names.length} node(s) [${names.join(', ')}], ${plan.subscribers} subscribers over ${setup.nodes}, pushes to node A`);
  if (setup.engine === 'redis' && redis === undefined) throw new Error(`${setup.label}: no Redis`);
  if (setup.engine === 'nats' && nats === undefined) throw new Error(`${setup.label}: no nats-server`);
  if (setup.engine === 'redis-cluster' && rcluster === undefined) throw new Error(`${setup.label}: no Redis Cluster`);
  let nodes: RunningServer[];
  try {
    nodes = await startServers(specs);
  } catch (error) {
    run.error = `start: ${error instanceof Error ? error.message : String(error)}`;
    if (keyStore !== undefined && prefix !== undefined) run.keysDeleted = await keyStore.deleteKeys(prefix).catch(() => -1);
    return run;
  }
  run.commands = nodes.map((n) => n.command);
  let fleet: LoadFleet | undefined;
  let probeFleet: LoadFleet | undefined;
  let pusher: Worker | undefined;
  try {
    fleet = await LoadFleet.start(plan.processes);
    probeFleet = await LoadFleet.start(1);
    pusher = new Worker('pusher', childModule('../load/pusher.js'));
    await pusher.request('init', { host: '127.0.0.1', port: nodes[0].apiPort, sockets: 4 }, 10_000);
    const subscriberNodes = nodes.slice(0, setup.nodes);
    const connect = await fleet.connectSpread(subscriberNodes, plan.subscribers, 256);
    run.connect = {
      ok: connect.ok,
      failed: connect.failed,
      perNode: connect.perServer.map((p, i) => ({ name: names[i], ok: p.ok, failed: p.failed })),
      elapsedMs: Math.round(connect.elapsedMs),
    };
    if (connect.ok < plan.subscribers) throw new Error(`only ${connect.ok}/${plan.subscribers} connected ${JSON.stringify(connect.errors)}`);
    const sub = await fleet.subscribe({ kind: 'topic', topic: FANOUT_TOPIC });
    if (sub.received < plan.subscribers) throw new Error(`only ${sub.received}/${plan.subscribers} subscribed ${JSON.stringify(sub.replyErrors)}`);
    const probeConnect = await probeFleet.connectSpread(nodes, run.probeConnections, 32);
    if (probeConnect.ok < run.probeConnections) throw new Error(`probe: only ${probeConnect.ok}/${run.probeConnections} connected`);
    const probeSub = await probeFleet.subscribe({ kind: 'topic', topic: PROBE_TOPIC });
    if (probeSub.received < run.probeConnections) throw new Error(`probe: only ${probeSub.received}/${run.probeConnections} subscribed`);
    if (setup.engine === 'redis' && redis !== undefined && prefix !== undefined) {
      const fanout = await redis.awaitNumsub(`${prefix}t:${FANOUT_TOPIC}`, setup.nodes);
      const probe = await redis.awaitNumsub(`${prefix}t:${PROBE_TOPIC}`, names.length);
      run.numsub = { fanout, probe, expectedFanout: setup.nodes, expectedProbe: names.length };
      ctx.log(`  PUBSUB NUMSUB: fan-out channel ${fanout} (expected ${setup.nodes}), probe channel ${probe} (expected ${names.length})`);
    }
    if (setup.engine === 'redis-cluster' && rcluster !== undefined && prefix !== undefined) {
      // Sharded pub/sub: each node SSUBSCRIBEs on the master serving the channel's slot, so that master counts them.
      const fanout = await rcluster.awaitShardNumsub(clusterChannel(prefix, { topic: FANOUT_TOPIC }), setup.nodes);
      const probe = await rcluster.awaitShardNumsub(clusterChannel(prefix, { topic: PROBE_TOPIC }), names.length);
      run.numsub = { fanout, probe, expectedFanout: setup.nodes, expectedProbe: names.length };
      ctx.log(`  PUBSUB SHARDNUMSUB: fan-out channel ${fanout} (expected ${setup.nodes}), probe channel ${probe} (expected ${names.length})`);
    }

    run.rssMiB = nodes.map((n, i) => ({ name: names[i], mib: rssBytes(n.pid) / 2 ** 20 }));

    const rig: Rig = {
      setup, nodes, names, fleet, probeFleet, pusher,
      redis: setup.engine === 'redis' ? redis : setup.engine === 'redis-cluster' ? rcluster : undefined,
      rcluster: setup.engine === 'redis-cluster' ? rcluster : undefined,
      nats: setup.engine === 'nats' ? nats : undefined,
    };
    const fanout = (nominal: number, seed: number, stepMs: number, drainMs: number): Promise<ClusterStep> =>
      measure(rig, {
        fleet: fleet as LoadFleet,
        connections: plan.subscribers,
        rate: nominal / plan.subscribers,
        nominalDeliveries: nominal,
        seed,
        stepMs,
        drainMs,
        target: { kind: 'topics', topics: [FANOUT_TOPIC], counts: [plan.subscribers] },
      });
    const quietIndex = setup.quietNode ? names.length - 1 : -1;
    let quietFanout = 0;
    const count = (s: ClusterStep): ClusterStep => {
      if (quietIndex >= 0) quietFanout += s.nodes[quietIndex].publications;
      return s;
    };

    run.warmup = count(await fanout(plan.steps[0], 999, plan.warmupMs, Math.max(plan.drainMs, 500)));
    if (run.warmup.received === 0) throw new Error(`warm-up delivered nothing (${JSON.stringify(run.warmup.push)})\n${nodes[0].output()}`);
    ctx.log(`  warm-up: ${fmtRate(run.warmup.receivedPerSec)} received, ${(run.warmup.delivered * 100).toFixed(1)} % delivered`);
    const once = async (nominal: number, seed: number): Promise<ClusterStep> => {
      const outcome = count(await fanout(nominal, seed, plan.stepMs, plan.drainMs));
      if (!plan.thorough || outcome.sustained || outcome.otherCpu <= DISTURBED_CORES || outcome.open < plan.subscribers) return outcome;
      ctx.log(`  (step at ${fmtRate(outcome.offeredPerSec)} disturbed: other processes used ${(outcome.otherCpu * 100).toFixed(0)} % of a core; measuring it again)`);
      await sleep(3000);
      const retry = count(await fanout(nominal, seed, plan.stepMs, plan.drainMs));
      retry.retriedAfter = outcome;
      return retry;
    };
    for (let i = 0; i < plan.steps.length; i++) {
      const outcome = await once(plan.steps[i], 1 + i);
      run.steps.push(outcome);
      logStep(ctx.log, outcome);
      if (outcome.sustained) continue;
      const lastOk = run.steps[run.steps.length - 2];
      if (plan.thorough && i > 0 && lastOk?.sustained && outcome.open >= plan.subscribers && nodes.every((n) => n.alive())) {
        await sleep(2000);
        const middle = await once((plan.steps[i - 1] + plan.steps[i]) / 2, 100 + i);
        middle.refinement = true;
        run.steps.push(middle);
        logStep(ctx.log, middle);
      }
      break;
    }
    run.best = bestOf(run.steps);

    // Publish probe: many small publications, to measure the per-publication cost on node A and in Redis.
    if (nodes.every((n) => n.alive())) {
      await sleep(plan.thorough ? 1500 : 300);
      run.probe = await measure(rig, {
        fleet: probeFleet,
        connections: run.probeConnections,
        rate: plan.probeRate,
        nominalDeliveries: plan.probeRate * run.probeConnections,
        seed: 4242,
        stepMs: plan.probeMs,
        drainMs: plan.drainMs,
        target: { kind: 'topics', topics: [PROBE_TOPIC], counts: [run.probeConnections] },
      });
      logStep(ctx.log, run.probe, 'probe: ');
      if (quietIndex >= 0) {
        run.quiet = { fanoutPublications: quietFanout, probePublications: run.probe.nodes[quietIndex].publications, probeAccepted: run.probe.accepted };
        ctx.log(
          `  quiet node Q: ${quietFanout} fan-out publications received (0 expected); ` +
            `${run.quiet.probePublications} probe publications for ${run.probe.accepted} accepted probe pushes`,
        );
      }
    }
    if (!nodes.every((n) => n.alive())) throw new Error(`a node died:\n${nodes.map((n) => n.output()).join('\n')}`);
    return run;
  } catch (error) {
    run.error = error instanceof Error ? error.message : String(error);
    return run;
  } finally {
    await fleet?.closeAll().catch(() => undefined);
    await probeFleet?.closeAll().catch(() => undefined);
    await fleet?.stop().catch(() => undefined);
    await probeFleet?.stop().catch(() => undefined);
    await pusher?.stop().catch(() => undefined);
    await stopServers(nodes);
    if (keyStore !== undefined && prefix !== undefined) run.keysDeleted = await keyStore.deleteKeys(prefix).catch(() => -1);
  }
}

// ---------------------------------------------------------------------------

export const clusterScenario: Scenario = {
  name: 's6-cluster',
  description:
    'S6 cluster: one topic, 6,000 subscribers on 1 memory node vs 1, 2, 3 Redis-engine nodes, 1, 3 NATS-engine nodes and 1, 3 nodes on a ' +
    '1- and 3-shard Redis Cluster; pushes to node A; node, Redis (per shard), nats-server CPU',
  async run(ctx: RunContext): Promise<Result> {
    const subscribers = ctx.quick ? 1_200 : 6_000;
    const plan: Plan = {
      subscribers,
      processes: LoadFleet.processesFor(subscribers),
      steps: ctx.quick ? QUICK_CLUSTER_DELIVERY_STEPS : CLUSTER_DELIVERY_STEPS,
      stepMs: ctx.quick ? 1_000 : 4_000,
      drainMs: ctx.quick ? 300 : 2_000,
      warmupMs: ctx.quick ? 300 : 1_500,
      probeRate: 1_000,
      probeMs: ctx.quick ? 1_000 : 4_000,
      probePerNode: 10,
      thorough: !ctx.quick,
    };
    const redisUrl = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';
    const basePrefix = `herald-bench-s6-${randomBytes(4).toString('hex')}:`;
    const errors: string[] = [];
    // BENCH_S6_ENGINES=nats,redis-cluster (comma-separated) runs only those engines' set-ups; default all.
    // BENCH_REDIS_CLUSTER=0 leaves the Redis Cluster ones out. A back end is started only when a set-up needs it.
    const only = process.env.BENCH_S6_ENGINES?.split(',').map((e) => e.trim());
    const setups = CLUSTER_SETUPS.filter(
      (s) => (only === undefined || only.includes(s.engine)) && !(s.engine === 'redis-cluster' && process.env.BENCH_REDIS_CLUSTER === '0'),
    );
    const wants = (engine: ClusterSetup['engine']): boolean => setups.some((s) => s.engine === engine);
    let redis: RedisMonitor | undefined;
    if (wants('redis')) {
      try {
        redis = await RedisMonitor.open(redisUrl, ctx.log);
        ctx.log(`  Redis ${redis.version} at ${redisUrl}, pid ${redis.pid ?? '(not readable)'}, key prefix ${basePrefix}*`);
      } catch (error) {
        errors.push(`Redis: ${error instanceof Error ? error.message : String(error)}; the Redis set-ups are skipped`);
      }
    }
    let nats: NatsMonitor | undefined;
    if (wants('nats')) {
      try {
        nats = await NatsMonitor.start();
        ctx.log(`  nats-server ${nats.version} (private, JetStream) at ${nats.url}, pid ${nats.pid}`);
      } catch (error) {
        errors.push(`NATS: ${error instanceof Error ? error.message : String(error)}; the NATS set-ups are skipped`);
      }
    }
    const clusters = new PrivateClusters(ctx, FANOUT_TOPIC, PROBE_TOPIC);
    const runs: SetupRun[] = [];
    try {
      for (const setup of setups) {
        if (setup.engine === 'redis' && redis === undefined) continue;
        if (setup.engine === 'nats' && nats === undefined) continue;
        let rcluster: ShardMonitor | undefined;
        if (setup.engine === 'redis-cluster') {
          try {
            rcluster = await clusters.open(setup.shards ?? 1);
          } catch (error) {
            errors.push(`${setup.label}: Redis Cluster of ${setup.shards} shard(s) did not start: ${error instanceof Error ? error.message : String(error)}`);
            continue;
          }
        }
        const run = await runSetup(ctx, setup, plan, { redis, nats, rcluster }, basePrefix);
        runs.push(run);
        if (run.error !== undefined) {
          errors.push(`${setup.label}: ${run.error}`);
          ctx.log(`  ${setup.label} FAILED: ${run.error.split('\n')[0]}`);
        } else if (run.best === undefined) errors.push(`${setup.label}: not even the first step was sustained`);
        if (run.numsub && (run.numsub.fanout !== run.numsub.expectedFanout || run.numsub.probe !== run.numsub.expectedProbe)) {
          errors.push(`${setup.label}: PUBSUB ${setup.engine === 'redis-cluster' ? 'SHARDNUMSUB' : 'NUMSUB'} ${JSON.stringify(run.numsub)}`);
        }
        if (run.quiet && run.quiet.fanoutPublications !== 0) {
          errors.push(`${setup.label}: the quiet node routed ${run.quiet.fanoutPublications} fan-out publications (0 expected)`);
        }
      }
    } finally {
      // The last cluster's engine-only rows, then the cluster stops (its own PIDs only).
      await clusters.close();
      errors.push(...clusters.errors);
      await nats?.stop().catch(() => undefined);
      if (redis !== undefined) {
        const left = await redis.deleteKeys(basePrefix).catch(() => -1);
        if (left !== 0) ctx.log(`  deleted ${left} leftover keys under ${basePrefix}`);
        await redis.close();
      }
    }
    if (runs.length === 0) throw new Error(errors.join('; ') || 'no set-up ran');
    const engineTable = clusters.engineTable();
    const shardTable = shardTableOf(runs);
    return {
      ...summaryOf(runs),
      tables: [stepsTableOf(runs), ...(shardTable === undefined ? [] : [shardTable]), ...(engineTable === undefined ? [] : [engineTable])],
      params: {
        ...plan,
        payloadBytes: PAYLOAD_BYTES,
        api: 'POST /v1/pushData to node A',
        fanoutTopic: FANOUT_TOPIC,
        probeTopic: PROBE_TOPIC,
        setups,
        redisCluster: { clusters: clusters.layouts, engineOnly: clusters.engineRows },
        redis: redis === undefined ? null : { url: redisUrl, version: redis.version, pid: redis.pid ?? null, keyPrefix: basePrefix },
        nats: nats === undefined ? null : { url: nats.url, version: nats.version },
        ...runParams(),
      },
      details: runs,
      notes: [
        'sustained: ≥ 95 % of the offered deliveries arrived within the step + drain, no push refused or left unsent, no connection lost (as S2).',
        'latency: pusher stamp (before the HTTP request to node A) to the load client reading the frame, whichever node the client is on.',
        'Redis CPU: INFO cpu (used_cpu_user + used_cpu_sys) over the push window; per publication: over step + drain, divided by accepted pushes. The bench\'s own INFO calls are subtracted from the command and byte counts.',
        `probe: ${plan.probeRate} pushes/s to a topic with ${plan.probePerNode} subscribers on every node (quiet node included), ${plan.probeMs / 1000} s, after the steps.`,
        'NATS: a private nats-server (JetStream, file store) started by the bench; CPU from /proc, messages and bytes from /varz (in = into the server: publishes, acks asked for, history reads; out = acks, republished copies to each subscribed node).',
        ...(wants('redis-cluster')
          ? [
              'Redis Cluster: private clusters (Redis from PATH; 1 shard = one master with every slot and no replica; 3 shards = 3 masters + 3 replicas), one at a time. "Redis CPU", commands and bytes of these set-ups are the masters\' sum; the per-node table gives each master and replica per publication (step start to end of drain, divided by the accepted pushes).',
              'Redis Cluster background traffic (per-node table, "other commands"): cluster|slots (each Herald node\'s engine and control-plane connections refresh the slot map every 2 s), replconf (each replica acknowledges every second), the node registry refresh (an EVALSHA, set, zadd, pexpire, time every presence-TTL/3 = 10 s per Herald node, on the master serving {nodes}), client|setname and readonly (connections opened after a slot-map refresh), hello. An idle node\'s CPU (serverCron, cluster bus) divided by the publications is the floor of its CPU µs/pub.',
              'Redis Cluster publish script: SPUBLISH is exactly 1 per publication, on the master serving the topic\'s slot; EVALSHA can be below 1, as the pushes to one stream made while its previous script call is in flight go together in one call (SPUBLISH_MANY). The script\'s own commands (get, exists, cluster|myid, pexpire ×3 per call; incr, xadd per publication) are in "other commands" too; its replica receives the script as its effects (multi, incr, xadd, pexpireat, exec; no SPUBLISH).',
            ]
          : []),
        'every process shares the 2 cores: more nodes spread connections and fan-out work, they cannot add CPU here.',
      ],
      errors,
    };
  },
};
