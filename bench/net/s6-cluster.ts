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
 * `BENCH_S6_ENGINES=nats` (comma-separated engine names) runs only those set-ups.
 *
 * Redis: `BENCH_REDIS_URL` (default redis://127.0.0.1:6379, loopback only).
 * Each set-up gets its own key prefix `herald-bench-s6-<random>:<set-up>:`,
 * whose keys are deleted when the set-up ends; nothing else in Redis is
 * touched, and the Redis server is only read (INFO, PUBSUB), never signalled.
 */
import { randomBytes } from 'node:crypto';
import { sleep } from '../lib/children.js';
import { Histogram } from '../lib/histogram.js';
import { cpuSecondsOf, machineCpu, machineDelta, rssBytes } from '../lib/proc.js';
import type { Result, RunContext, Scenario } from '../lib/types.js';
import type { PushRunArgs, PushRunResult } from '../load/ipc.js';
import { runParams } from './common.js';
import { LoadFleet } from './fleet.js';
import { RedisMonitor, redisDelta, type RedisDelta, type RedisSample } from './s6-redis.js';
import { NATS_SETUPS, NatsMonitor, natsDelta, natsEngineArgs, type NatsDelta, type NatsSample } from './s6-nats.js';
import { bestOf, stepsTableOf, summaryOf } from './s6-report.js';
import { serverMetrics, startServers, stopServers, type RunningServer, type ServerSpec } from './servers.js';
import { DISTURBED_CORES, SUSTAINED_FRACTION, fmtRate, type StepOutcome } from './steps.js';
import { Worker, childModule } from './worker.js';

/** Offered deliveries per second of the steps (pushes/s = this / subscribers). */
export const CLUSTER_DELIVERY_STEPS = [60e3, 150e3, 300e3, 450e3, 600e3, 900e3, 1.2e6, 1.8e6, 2.4e6];
export const QUICK_CLUSTER_DELIVERY_STEPS = [60e3];
const PAYLOAD_BYTES = 100;
const FANOUT_TOPIC = 's6-fanout';
const PROBE_TOPIC = 's6-probe';
const NODE_NAMES = ['A', 'B', 'C', 'D', 'E'];
const QUIET_NAME = 'Q';

export interface ClusterSetup {
  label: string;
  engine: 'memory' | 'redis' | 'nats';
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
];

// ---------------------------------------------------------------------------
// One step

interface Rig {
  setup: ClusterSetup;
  /** Every Herald node: the subscriber nodes (A first), then the quiet node if any. */
  nodes: RunningServer[];
  names: string[];
  fleet: LoadFleet;
  probeFleet: LoadFleet;
  pusher: Worker;
  redis: RedisMonitor | undefined;
  nats?: NatsMonitor;
}

export interface NodeStep {
  name: string;
  /** Cores over the push window. */
  cpu: number;
  /** From /metrics, step start to end of drain. */
  messagesSent: number;
  publications: number;
}

/** One step of a set-up: S2's step outcome, with CPU per node instead of one server's, and Redis. */
export interface ClusterStep extends Omit<StepOutcome, 'serverCpu' | 'push' | 'retriedAfter'> {
  accepted: number;
  nodes: NodeStep[];
  /** All Herald nodes together, cores. */
  nodesCpu: number;
  /** Herald CPU (all nodes) per delivery received, µs. */
  nodeUsPerDelivery: number;
  /** Node A's CPU per accepted push, µs. */
  nodeAUsPerPush: number;
  /** Over the push window. */
  redis?: RedisDelta;
  /** Step start to end of drain: the per-publication figures. */
  redisTotal?: RedisDelta;
  /** NATS set-ups: nats-server over the push window, and step start to end of drain. */
  nats?: NatsDelta;
  natsTotal?: NatsDelta;
  push: Omit<PushRunResult, 'apiLatency'>;
  /** HTTP round trip of the push requests to node A (answered once Redis has answered, on the Redis engine). */
  apiP50Ms: number;
  apiP99Ms: number;
  retriedAfter?: ClusterStep;
}

interface StepArgs {
  /** The fleet whose deliveries count (the other is idle). */
  fleet: LoadFleet;
  connections: number;
  rate: number;
  nominalDeliveries: number;
  seed: number;
  stepMs: number;
  drainMs: number;
  target: PushRunArgs['target'];
}

async function measure(rig: Rig, a: StepArgs): Promise<ClusterStep> {
  const others = [rig.fleet, rig.probeFleet].filter((f) => f !== a.fleet);
  const pids = rig.nodes.map((n) => n.pid);
  const metrics0 = await Promise.all(rig.nodes.map((n) => serverMetrics(n)));
  const before = await a.fleet.reset();
  const others0 = await Promise.all(others.map((f) => f.stats()));
  const redis0 = await rig.redis?.sample();
  const nats0 = await rig.nats?.sample();
  const nodes0 = cpuSecondsOf(pids);
  const machine0 = machineCpu();
  const self0 = process.cpuUsage();
  const t0 = performance.now();
  let window:
    | Promise<{ nodes: number[]; machine: ReturnType<typeof machineCpu>; t: number; selfUs: number; clientUs: number; redis?: RedisSample; nats?: NatsSample }>
    | undefined;
  const sampled = new Promise<void>((resolve) =>
    setTimeout(() => {
      const self = process.cpuUsage(self0);
      const sample = { nodes: cpuSecondsOf(pids), machine: machineCpu(), t: performance.now(), selfUs: self.user + self.system };
      window = Promise.all([a.fleet.stats(), Promise.all(others.map((f) => f.stats())), rig.redis?.sample(), rig.nats?.sample()]).then(([s, o, r, n]) => ({
        ...sample,
        clientUs: s.cpuUs - before.cpuUs + o.reduce((acc, x, i) => acc + x.cpuUs - others0[i].cpuUs, 0),
        redis: r,
        nats: n,
      }));
      resolve();
    }, a.stepMs),
  );
  const args: PushRunArgs = {
    api: 'pushData',
    payloadBytes: PAYLOAD_BYTES,
    target: a.target,
    batchMax: 1,
    maxOutstanding: 64,
    answerTimeoutMs: 5_000,
    rate: a.rate,
    durationMs: a.stepMs,
    seed: a.seed,
  };
  const push = await rig.pusher.request<PushRunResult>('run', { args }, a.stepMs + args.answerTimeoutMs + 15_000);
  await sampled;
  const w = await (window as NonNullable<typeof window>);
  const pushedAt = performance.now();
  let stats = await a.fleet.stats();
  while (stats.received < push.okDeliveries && performance.now() - pushedAt < a.drainMs) {
    await sleep(50);
    stats = await a.fleet.stats();
  }
  const drained = performance.now() - pushedAt;
  const redisEnd = await rig.redis?.sample();
  const natsEnd = await rig.nats?.sample();
  const metrics1 = await Promise.all(rig.nodes.map((n) => serverMetrics(n)));

  const seconds = a.stepMs / 1000;
  const windowS = (w.t - t0) / 1000;
  const delivered = push.scheduledDeliveries > 0 ? stats.received / push.scheduledDeliveries : 0;
  const lost = Object.values(stats.closes).reduce((x, y) => x + y, 0);
  const reasons: string[] = [];
  if (delivered < SUSTAINED_FRACTION) reasons.push(`delivered ${(delivered * 100).toFixed(1)} %`);
  if (push.dropped > 0) reasons.push(`${push.dropped} pushes not sent (${args.maxOutstanding} requests waiting)`);
  if (push.failed > 0) reasons.push(`${push.failed} pushes refused ${JSON.stringify(push.httpErrors)}`);
  if (push.unanswered > 0) reasons.push(`${push.unanswered} requests unanswered`);
  if (lost > 0 || stats.open < a.connections) reasons.push(`connections lost ${JSON.stringify(stats.closes)} (open ${stats.open})`);
  const dead = rig.nodes.filter((n) => !n.alive());
  if (dead.length > 0) reasons.push(`node died: ${dead.map((n) => n.spec.label).join(', ')}`);

  const metric = (m: Map<string, number>, name: string) => m.get(name) ?? NaN;
  const nodes: NodeStep[] = rig.nodes.map((_, i) => ({
    name: rig.names[i],
    cpu: (w.nodes[i] - nodes0[i]) / windowS,
    messagesSent: metric(metrics1[i], 'herald_messages_sent_total') - metric(metrics0[i], 'herald_messages_sent_total'),
    publications: metric(metrics1[i], 'herald_publications_total') - metric(metrics0[i], 'herald_publications_total'),
  }));
  const nodesCpu = nodes.reduce((x, n) => x + n.cpu, 0);
  const redis = redis0 && w.redis ? redisDelta(redis0, w.redis, 0) : undefined;
  const redisTotal = redis0 && redisEnd ? redisDelta(redis0, redisEnd, push.ok) : undefined;
  const nats = nats0 && w.nats ? natsDelta(nats0, w.nats, 0) : undefined;
  const natsTotal = nats0 && natsEnd ? natsDelta(nats0, natsEnd, push.ok) : undefined;
  const machine = machineDelta(machine0, w.machine, windowS);
  const clientCpu = w.clientUs / 1e6 / windowS;
  const pusherCpu = push.cpuUs / 1e6 / (push.elapsedMs / 1000);
  const receivedPerSec = stats.received / seconds;
  const { apiLatency, ...pushRest } = push;
  const api = Histogram.from([apiLatency]);
  return {
    nominalDeliveries: a.nominalDeliveries,
    pushRate: a.rate,
    sentPerSec: push.sent / seconds,
    acceptedPerSec: push.ok / seconds,
    offeredPerSec: push.scheduledDeliveries / seconds,
    receivedPerSec,
    delivered,
    received: stats.received,
    scheduledDeliveries: push.scheduledDeliveries,
    accepted: push.ok,
    p50Ms: stats.latency.quantileUs(0.5) / 1000,
    p99Ms: stats.latency.quantileUs(0.99) / 1000,
    maxMs: stats.latency.count > 0 ? stats.latency.maxUs / 1000 : NaN,
    nodes,
    nodesCpu,
    nodeUsPerDelivery: receivedPerSec > 0 ? (nodesCpu * 1e6) / receivedPerSec : NaN,
    nodeAUsPerPush: push.ok > 0 ? (nodes[0].cpu * 1e6) / (push.ok / seconds) : NaN,
    redis,
    redisTotal,
    nats,
    natsTotal,
    clientCpu,
    pusherCpu,
    machineBusy: machine.busyShare,
    softirqCpu: machine.softirqCores,
    otherCpu: Math.max(0, machine.busyCores - machine.softirqCores - nodesCpu - (redis?.cpu ?? 0) - (nats?.cpu ?? 0) - clientCpu - pusherCpu - w.selfUs / 1e6 / windowS),
    drainMs: Math.round(drained),
    push: pushRest,
    apiP50Ms: api.count > 0 ? api.quantileUs(0.5) / 1000 : NaN,
    apiP99Ms: api.count > 0 ? api.quantileUs(0.99) / 1000 : NaN,
    closes: stats.closes,
    open: stats.open,
    sustained: reasons.length === 0,
    reason: reasons.length > 0 ? reasons.join('; ') : undefined,
  };
}

function logStep(log: (line: string) => void, s: ClusterStep, prefix = ''): void {
  const perNode = s.nodes.map((n) => `${n.name} ${(n.cpu * 100).toFixed(0)}`).join('/');
  log(
    `  ${prefix}${fmtRate(s.offeredPerSec)} offered → ${fmtRate(s.receivedPerSec)} received (${(s.delivered * 100).toFixed(1)} %), ` +
      `p50 ${s.p50Ms.toFixed(1)} ms, p99 ${s.p99Ms.toFixed(1)} ms, nodes ${perNode} %, ` +
      (s.nats
        ? `nats-server ${(s.nats.cpu * 100).toFixed(1)} % ${Math.round(s.nats.msgsPerSec)} msg/s, `
        : `redis ${s.redis ? (s.redis.cpu * 100).toFixed(1) : '–'} % ${s.redis ? Math.round(s.redis.commandsPerSec) : '–'} cmd/s, `) +
      `load ${(s.clientCpu * 100).toFixed(0)} %, pusher ${(s.pusherCpu * 100).toFixed(0)} %, softirq ${(s.softirqCpu * 100).toFixed(0)} %, ` +
      `other ${(s.otherCpu * 100).toFixed(0)} %, machine ${(s.machineBusy * 100).toFixed(0)} %` +
      (s.refinement ? ' (refinement)' : '') +
      (s.sustained ? '' : ` — not sustained: ${s.reason}`),
  );
}

// ---------------------------------------------------------------------------
// One set-up

export interface SetupRun {
  label: string;
  engine: ClusterSetup['engine'];
  nodes: number;
  quietNode: boolean;
  redisPrefix?: string;
  commands: string[][];
  connect: { ok: number; failed: number; perNode: { name: string; ok: number; failed: number }[]; elapsedMs: number };
  probeConnections: number;
  /** Resident memory of each node (A, B, …, Q) once every client is connected and subscribed, MiB. */
  rssMiB: { name: string; mib: number }[];
  /** PUBSUB NUMSUB of the channels after subscribing (Redis set-ups). */
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
  redis: RedisMonitor | undefined,
  basePrefix: string,
  nats?: NatsMonitor,
): Promise<SetupRun> {
  const slug = `${setup.engine}${setup.nodes}`;
  const prefix = setup.engine === 'redis' ? `${basePrefix}${slug}:` : undefined;
  const names = [...NODE_NAMES.slice(0, setup.nodes), ...(setup.quietNode ? [QUIET_NAME] : [])];
  const engineArgs =
    setup.engine === 'redis'
      ? ['--engine', 'redis', '--redis-url', (redis as RedisMonitor).url, '--redis-prefix', prefix as string]
      : setup.engine === 'nats'
        ? natsEngineArgs(nats as NatsMonitor, `s6${slug}`)
        : ['--engine', 'memory'];
  const specs: ServerSpec[] = names.map((name) => ({ kind: 'herald', label: `${setup.label} node ${name}`, heraldArgs: engineArgs }));
  const run: SetupRun = {
    label: setup.label,
    engine: setup.engine,
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
  let nodes: RunningServer[];
  try {
    nodes = await startServers(specs);
  } catch (error) {
    run.error = `start: ${error instanceof Error ? error.message : String(error)}`;
    if (redis !== undefined && prefix !== undefined) run.keysDeleted = await redis.deleteKeys(prefix).catch(() => -1);
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

    run.rssMiB = nodes.map((n, i) => ({ name: names[i], mib: rssBytes(n.pid) / 2 ** 20 }));

    const rig: Rig = {
      setup, nodes, names, fleet, probeFleet, pusher,
      redis: setup.engine === 'redis' ? redis : undefined,
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
    if (redis !== undefined && prefix !== undefined) run.keysDeleted = await redis.deleteKeys(prefix).catch(() => -1);
  }
}

// ---------------------------------------------------------------------------

export const clusterScenario: Scenario = {
  name: 's6-cluster',
  description: 'S6 cluster: one topic, 6,000 subscribers on 1 memory node vs 1, 2, 3 Redis-engine nodes and 1, 3 NATS-engine nodes; pushes to node A; node, Redis and nats-server CPU',
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
    let redis: RedisMonitor | undefined;
    try {
      redis = await RedisMonitor.open(redisUrl, ctx.log);
      ctx.log(`  Redis ${redis.version} at ${redisUrl}, pid ${redis.pid ?? '(not readable)'}, key prefix ${basePrefix}*`);
    } catch (error) {
      errors.push(`Redis: ${error instanceof Error ? error.message : String(error)}; the Redis set-ups are skipped`);
    }
    // BENCH_S6_ENGINES=nats,redis (comma-separated) runs only those engines' set-ups; default all.
    const only = process.env.BENCH_S6_ENGINES?.split(',').map((e) => e.trim());
    let nats: NatsMonitor | undefined;
    try {
      nats = await NatsMonitor.start();
      ctx.log(`  nats-server ${nats.version} (private, JetStream) at ${nats.url}, pid ${nats.pid}`);
    } catch (error) {
      errors.push(`NATS: ${error instanceof Error ? error.message : String(error)}; the NATS set-ups are skipped`);
    }
    const runs: SetupRun[] = [];
    try {
      for (const setup of CLUSTER_SETUPS) {
        if (setup.engine === 'redis' && redis === undefined) continue;
        if (setup.engine === 'nats' && nats === undefined) continue;
        if (only !== undefined && !only.includes(setup.engine)) continue;
        const run = await runSetup(ctx, setup, plan, redis, basePrefix, nats);
        runs.push(run);
        if (run.error !== undefined) {
          errors.push(`${setup.label}: ${run.error}`);
          ctx.log(`  ${setup.label} FAILED: ${run.error.split('\n')[0]}`);
        } else if (run.best === undefined) errors.push(`${setup.label}: not even the first step was sustained`);
        if (run.numsub && (run.numsub.fanout !== run.numsub.expectedFanout || run.numsub.probe !== run.numsub.expectedProbe)) {
          errors.push(`${setup.label}: PUBSUB NUMSUB ${JSON.stringify(run.numsub)}`);
        }
        if (run.quiet && run.quiet.fanoutPublications !== 0) {
          errors.push(`${setup.label}: the quiet node routed ${run.quiet.fanoutPublications} fan-out publications (0 expected)`);
        }
      }
    } finally {
      await nats?.stop().catch(() => undefined);
      if (redis !== undefined) {
        const left = await redis.deleteKeys(basePrefix).catch(() => -1);
        if (left !== 0) ctx.log(`  deleted ${left} leftover keys under ${basePrefix}`);
        await redis.close();
      }
    }
    if (runs.length === 0) throw new Error(errors.join('; ') || 'no set-up ran');
    return {
      ...summaryOf(runs),
      tables: [stepsTableOf(runs)],
      params: {
        ...plan,
        payloadBytes: PAYLOAD_BYTES,
        api: 'POST /v1/pushData to node A',
        fanoutTopic: FANOUT_TOPIC,
        probeTopic: PROBE_TOPIC,
        setups: CLUSTER_SETUPS,
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
        'every process shares the 2 cores: more nodes spread connections and fan-out work, they cannot add CPU here.',
      ],
      errors,
    };
  },
};
