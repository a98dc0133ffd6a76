/**
 * One S6 step: the pusher posts to node A at a fixed rate for a fixed time;
 * meanwhile every node's CPU (/proc), the engine's (Redis, the masters of a
 * Redis Cluster with each node apart, or nats-server), the load clients' and
 * the machine's are sampled over the push window, and what arrived is counted
 * until the drain ends. s6-cluster.ts runs the steps of each set-up.
 */
import { sleep } from '../lib/children.js';
import { Histogram } from '../lib/histogram.js';
import { cpuSecondsOf, machineCpu, machineDelta } from '../lib/proc.js';
import type { PushRunArgs, PushRunResult } from '../load/ipc.js';
import type { LoadFleet } from './fleet.js';
import type { ClusterSetup } from './s6-cluster.js';
import { redisDelta, type RedisDelta, type RedisSample } from './s6-redis.js';
import type { ShardDelta, ShardMonitor, ShardedSample } from './s6-redis-cluster.js';
import { natsDelta, type NatsDelta, type NatsMonitor, type NatsSample } from './s6-nats.js';
import { serverMetrics, type RunningServer } from './servers.js';
import { SUSTAINED_FRACTION, fmtRate, type StepOutcome } from './steps.js';
import type { Worker } from './worker.js';

export const PAYLOAD_BYTES = 100;


export interface Rig {
  setup: ClusterSetup;
  /** Every Herald node: the subscriber nodes (A first), then the quiet node if any. */
  nodes: RunningServer[];
  names: string[];
  fleet: LoadFleet;
  probeFleet: LoadFleet;
  pusher: Worker;
  /** One Redis, or the masters of a Redis Cluster summed (rcluster set). */
  redis: { sample(): Promise<RedisSample> } | undefined;
  rcluster?: ShardMonitor;
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
export interface ClusterStep extends Omit<StepOutcome, 'serverCpu' | 'serverSysCpu' | 'push' | 'retriedAfter'> {
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
  /** Redis Cluster set-ups: every cluster node, step start to end of drain, per accepted push. */
  shardsTotal?: ShardDelta[];
  push: Omit<PushRunResult, 'apiLatency'>;
  /** HTTP round trip of the push requests to node A (answered once Redis has answered, on the Redis engine). */
  apiP50Ms: number;
  apiP99Ms: number;
  retriedAfter?: ClusterStep;
}

export interface StepArgs {
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

export async function measure(rig: Rig, a: StepArgs): Promise<ClusterStep> {
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
  const sharded = rig.rcluster !== undefined && redis0 !== undefined && w.redis !== undefined && redisEnd !== undefined;
  const shardsTotal = sharded ? rig.rcluster?.deltas(redis0 as ShardedSample, redisEnd as ShardedSample, push.ok) : undefined;
  // Replicas (3-shard cluster) are not in the masters' sum: their CPU is not "other" either.
  const replicaCpu = sharded
    ? (rig.rcluster?.deltas(redis0 as ShardedSample, w.redis as ShardedSample, 0) ?? []).filter((d) => !d.master).reduce((x, d) => x + d.cpu, 0)
    : 0;
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
    shardsTotal,
    clientCpu,
    pusherCpu,
    machineBusy: machine.busyShare,
    softirqCpu: machine.softirqCores,
    otherCpu: Math.max(0, machine.busyCores - machine.softirqCores - nodesCpu - (redis?.cpu ?? 0) - replicaCpu - (nats?.cpu ?? 0) - clientCpu - pusherCpu - w.selfUs / 1e6 / windowS),
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

export function logStep(log: (line: string) => void, s: ClusterStep, prefix = ''): void {
  const perNode = s.nodes.map((n) => `${n.name} ${(n.cpu * 100).toFixed(0)}`).join('/');
  log(
    `  ${prefix}${fmtRate(s.offeredPerSec)} offered → ${fmtRate(s.receivedPerSec)} received (${(s.delivered * 100).toFixed(1)} %), ` +
      `p50 ${s.p50Ms.toFixed(1)} ms, p99 ${s.p99Ms.toFixed(1)} ms, nodes ${perNode} %, ` +
      (s.nats
        ? `nats-server ${(s.nats.cpu * 100).toFixed(1)} % ${Math.round(s.nats.msgsPerSec)} msg/s, `
        : `redis ${s.redis ? (s.redis.cpu * 100).toFixed(1) : '–'} % ${s.redis ? Math.round(s.redis.commandsPerSec) : '–'} cmd/s` +
          (s.shardsTotal ? ` (masters ${s.shardsTotal.filter((d) => d.master).map((d) => `:${d.port} ${(d.cpu * 100).toFixed(0)}`).join('/')} %)` : '') +
          ', ') +
      `load ${(s.clientCpu * 100).toFixed(0)} %, pusher ${(s.pusherCpu * 100).toFixed(0)} %, softirq ${(s.softirqCpu * 100).toFixed(0)} %, ` +
      `other ${(s.otherCpu * 100).toFixed(0)} %, machine ${(s.machineBusy * 100).toFixed(0)} %` +
      (s.refinement ? ' (refinement)' : '') +
      (s.sustained ? '' : ` — not sustained: ${s.reason}`),
  );
}
