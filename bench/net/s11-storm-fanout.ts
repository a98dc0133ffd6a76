/**
 * S11 — storm during fan-out: does a flush starve accepts and upgrades?
 * N subscribers (default 10,000, two load processes) hold one topic while
 * the pusher sends 20 pushes/s of 100 bytes to it (`POST /v1/pushData`);
 * then M newcomers (default 10,000, two more load processes, 256 in flight)
 * connect and each subscribes to a topic of their own. Measured per server:
 * - the time from the first newcomer's TCP connect to the last newcomer's
 *   subscribe reply (connect + subscribe), capped at `BENCH_S11_CAP_S`
 *   (default 120 s): past it the scenario says "did not finish within X s"
 *   and counts who got in;
 * - the fan-out to the first group before the storm (a quiet window) and
 *   during it: deliveries/s, p50/p99, delivered share — "fan-out unchanged"
 *   means the storm window matches the quiet one.
 * Issue 15 target: Herald's connect time ≤ 1.2× uWS.js's in the same run.
 *
 * The server holds subscribers + newcomers sockets at once (20,000 by
 * default), past a descriptor limit of 20,000: before connecting the scenario
 * raises the server's limit (prlimit, needs CAP_SYS_RESOURCE) or, when it
 * cannot, makes the first group smaller so that all newcomers fit (the same
 * size for every contestant: limit − newcomers − 256), and says so
 * (`BENCH_S11_FIT=0` skips this, to reproduce the loss). Each newcomer has its own
 * bound (`BENCH_S11_CONNECT_TIMEOUT_S`, default 30 s) from TCP connect to
 * greeting, so one the server never accepts fails with a reason instead of
 * holding the storm until the cap; failures are counted by reason.
 */
import { sleep } from '../lib/children.js';
import { cpuSeconds, descriptors, listenBacklog, listenCounters, raiseDescriptorLimit } from '../lib/proc.js';
import type { Result, RunContext, Scenario } from '../lib/types.js';
import type { PushRunArgs, PushRunResult } from '../load/ipc.js';
import { UWS_LABEL, comparison, contestants, int, ms, pct, rate, runParams, withSession } from './common.js';
import { LoadFleet, type FleetStats } from './fleet.js';
import { ratio, ratiosTable } from './targets.js';
import type { Worker } from './worker.js';

const PUSHES_PER_SEC = 20;
const IN_FLIGHT = 256;
/** Length of each pusher run: the pusher offers in slices so it can stop when the storm ends. */
const SLICE_MS = 1_000;
/** Descriptors left to the server beyond its sockets (listeners, epoll, pipes, the pusher's connections). */
const FD_MARGIN = 256;

/** Fan-out to the first group over one window. */
export interface FanoutWindow {
  seconds: number;
  offeredPerSec: number;
  receivedPerSec: number;
  /** Received over offered deliveries (0–1). */
  delivered: number;
  p50Ms: number;
  p99Ms: number;
  serverCpu: number;
}

export interface StormFanoutOutcome {
  label: string;
  subscribers: number;
  newcomers: number;
  /** First-group size asked for; `subscribers` is smaller only when the server's descriptor limit could not be raised. */
  subscribersWanted: number;
  /** Newcomers sent. */
  attempted: number;
  /** The server's descriptor limit during the run, whether the scenario raised it, and its descriptors before the storm. */
  fdLimit: number;
  fdLimitRaised: boolean;
  fdsBefore: number;
  /** The server's listen backlog (accept-queue bound, `ss -lnt`). */
  listenBacklog: number;
  /** Machine-wide ListenOverflows / ListenDrops over the storm (/proc/net/netstat). */
  listenOverflows: number;
  listenDrops: number;
  /** Newcomers that failed to connect (reasons in connectErrors). */
  failed: number;
  /** Newcomers connected and subscribed (replied 20001) when the storm ended or the cap passed. */
  connected: number;
  subscribed: number;
  /** The storm ended (every newcomer in or failed) within the cap. */
  finished: boolean;
  /** Finished with every attempted newcomer connected and subscribed. */
  complete: boolean;
  capS: number;
  /** First connect → last subscribe reply (or the cap), ms. */
  stormMs: number;
  connectMs: number;
  subscribeMs: number;
  connectErrors: Record<string, number>;
  /** Server CPU time over the storm (the fan-out's included) per 1,000 newcomers connected, ms. */
  serverCpuMsPer1000: number;
  quiet: FanoutWindow;
  storm: FanoutWindow;
  /** First group's connections lost during the run. */
  lost: number;
}

function envInt(name: string, fallback: number): number {
  const v = Number(process.env[name]);
  return Number.isInteger(v) && v > 0 ? v : fallback;
}

function window(before: FleetStats, after: FleetStats, seconds: number, subscribers: number, cpu: number): FanoutWindow {
  const received = after.received - before.received;
  const offered = PUSHES_PER_SEC * subscribers;
  return {
    seconds,
    offeredPerSec: offered,
    receivedPerSec: received / seconds,
    delivered: received / (offered * seconds),
    p50Ms: after.latency.quantileUs(0.5) / 1000,
    p99Ms: after.latency.quantileUs(0.99) / 1000,
    serverCpu: cpu / seconds,
  };
}

/** Keep the pusher offering 20 pushes/s in slices until `running()` says stop (bounded by `untilMs`). */
async function pushWhile(pusher: Worker, push: Omit<PushRunArgs, 'durationMs' | 'seed'>, running: () => boolean, untilMs: number): Promise<PushRunResult[]> {
  const runs: PushRunResult[] = [];
  for (let seed = 1; running() && performance.now() < untilMs; seed++) {
    const args: PushRunArgs = { ...push, durationMs: SLICE_MS, seed };
    runs.push(await pusher.request<PushRunResult>('run', { args }, SLICE_MS + push.answerTimeoutMs + 15_000));
  }
  return runs;
}

export const stormFanoutScenario: Scenario = {
  name: 's11-storm-fanout',
  description: 'S11 storm during fan-out: 10,000 newcomers connect + subscribe while 20 pushes/s go to 10,000 subscribers',
  async run(ctx: RunContext): Promise<Result> {
    const subscribers = envInt('BENCH_S11_SUBSCRIBERS', ctx.quick ? 1_000 : 10_000);
    const newcomers = envInt('BENCH_S11_NEWCOMERS', ctx.quick ? 1_000 : 10_000);
    const capS = envInt('BENCH_S11_CAP_S', ctx.quick ? 20 : 120);
    const perConnectionS = envInt('BENCH_S11_CONNECT_TIMEOUT_S', 30);
    const quietMs = ctx.quick ? 1_000 : 5_000;
    const warmupMs = ctx.quick ? 500 : 2_000;
    const processes = LoadFleet.processesFor(subscribers);
    const newcomerProcesses = LoadFleet.processesFor(newcomers);
    const push: Omit<PushRunArgs, 'durationMs' | 'seed'> = {
      api: 'pushData',
      rate: PUSHES_PER_SEC,
      payloadBytes: 100,
      target: { kind: 'topics', topics: ['fanout'], counts: [subscribers] },
      batchMax: 1,
      maxOutstanding: 64,
      answerTimeoutMs: 5_000,
    };
    const outcomes: StormFanoutOutcome[] = [];
    const errors: string[] = [];
    const unfinished: string[] = [];
    for (const spec of contestants()) {
      ctx.log(`  ${spec.label}: up to ${subscribers} subscribers at ${PUSHES_PER_SEC} pushes/s, then ${newcomers} newcomers (cap ${capS} s)`);
      const outcome = await withSession(spec, { processes, pusher: true, pusherSockets: 4 }, async ({ server, fleet, pusher }) => {
        // The server holds both groups at once: raise its descriptor limit if needed, else shrink the first group.
        const needed = subscribers + newcomers + FD_MARGIN;
        const fit = process.env.BENCH_S11_FIT !== '0';
        const fdLimitRaised = fit && descriptors(server.pid).soft < needed && raiseDescriptorLimit(server.pid, needed);
        const fdLimit = descriptors(server.pid).soft;
        const group = !fit || fdLimit >= needed ? subscribers : Math.max(1, fdLimit - newcomers - FD_MARGIN);
        if (group < subscribers) ctx.log(`  ${spec.label}: descriptor limit ${fdLimit} (could not raise it): first group of ${group} instead of ${subscribers}`);
        const attempted = newcomers;
        const groupPush = { ...push, target: { kind: 'topics' as const, topics: ['fanout'], counts: [group] } };
        const first = await fleet.connect(server, group, IN_FLIGHT);
        if (first.ok < group) throw new Error(`${spec.label}: only ${first.ok}/${group} connected ${JSON.stringify(first.errors)}`);
        const sub = await fleet.subscribe({ kind: 'topic', topic: 'fanout' });
        if (sub.received < group) throw new Error(`${spec.label}: only ${sub.received}/${group} subscribed`);
        const fds = descriptors(server.pid);
        const backlog = listenBacklog(server.wsPort);
        const newcomerFleet = await LoadFleet.start(newcomerProcesses);
        newcomerFleet.perConnectionTimeoutMs = perConnectionS * 1000;
        let pushing = true;
        const hardEnd = performance.now() + warmupMs + quietMs + capS * 1000 + 30_000;
        const pushes = pushWhile(pusher!, groupPush, () => pushing, hardEnd);
        try {
          await sleep(warmupMs);
          // Quiet window: the fan-out alone.
          const q0 = await fleet.reset();
          const qc0 = cpuSeconds(server.pid);
          const qt0 = performance.now();
          await sleep(quietMs);
          const q1 = await fleet.stats();
          const quiet = window(q0, q1, (performance.now() - qt0) / 1000, group, cpuSeconds(server.pid) - qc0);
          // Storm window: newcomers connect, then subscribe, while the fan-out goes on.
          const s0 = await fleet.reset();
          const l0 = listenCounters();
          const sc0 = cpuSeconds(server.pid);
          const st0 = performance.now();
          const capMs = capS * 1000;
          const connect = await newcomerFleet.connect(server, attempted, IN_FLIGHT, capMs);
          const connectMs = performance.now() - st0;
          const left = Math.max(1_000, capMs - connectMs);
          const subscribed = connect.ok > 0 ? await newcomerFleet.subscribe({ kind: 'topic', topic: 'newcomers' }, left) : { received: 0 };
          const stormMs = performance.now() - st0;
          const s1 = await fleet.stats();
          const l1 = listenCounters();
          const cpu = cpuSeconds(server.pid) - sc0;
          const storm = window(s0, s1, stormMs / 1000, group, cpu);
          const finished = connect.ok + connect.failed === attempted && subscribed.received === connect.ok && stormMs <= capMs;
          return {
            label: spec.label,
            subscribers: group,
            subscribersWanted: subscribers,
            newcomers,
            attempted,
            fdLimit,
            fdLimitRaised,
            fdsBefore: fds.open,
            listenBacklog: backlog,
            listenOverflows: l1.overflows - l0.overflows,
            listenDrops: l1.drops - l0.drops,
            failed: connect.failed,
            connected: connect.ok,
            subscribed: subscribed.received,
            finished,
            complete: finished && connect.ok === newcomers,
            capS,
            stormMs: Math.min(stormMs, finished ? stormMs : capMs),
            connectMs,
            subscribeMs: stormMs - connectMs,
            connectErrors: connect.errors,
            serverCpuMsPer1000: connect.ok > 0 ? (cpu * 1e6) / connect.ok : NaN,
            quiet,
            storm,
            lost: group - s1.open,
          } satisfies StormFanoutOutcome;
        } finally {
          pushing = false;
          await pushes.catch(() => undefined);
          await newcomerFleet.closeAll().catch(() => undefined);
          await newcomerFleet.stop().catch(() => undefined);
        }
      });
      outcomes.push(outcome);
      const failures = outcome.failed > 0 ? ` — ${outcome.failed} failed to connect ${JSON.stringify(outcome.connectErrors)}` : '';
      ctx.log(
        `  ${spec.label}: ${outcome.finished ? `newcomers in after ${(outcome.stormMs / 1000).toFixed(2)} s${failures}` : `did not finish within ${capS} s (${outcome.connected} connected, ${outcome.subscribed} subscribed${failures})`}; ` +
          `fan-out ${Math.round(outcome.quiet.receivedPerSec)}/s (p99 ${outcome.quiet.p99Ms.toFixed(1)} ms) quiet → ` +
          `${Math.round(outcome.storm.receivedPerSec)}/s (p99 ${outcome.storm.p99Ms.toFixed(1)} ms) during the storm`,
      );
      // Not finishing within the cap is a measured result (ws is expected to), not a failure of the run.
      if (!outcome.finished) unfinished.push(`${spec.label}: did not finish within ${capS} s (${outcome.connected}/${outcome.attempted} connected, ${outcome.subscribed} subscribed).`);
      if (outcome.failed > 0) unfinished.push(`${spec.label}: ${outcome.failed} of ${outcome.attempted} newcomers failed to connect: ${JSON.stringify(outcome.connectErrors)} (listen backlog ${outcome.listenBacklog}, machine ListenOverflows +${outcome.listenOverflows}, ListenDrops +${outcome.listenDrops}).`);
      if (outcome.subscribers < subscribers) unfinished.push(`${spec.label}: a first group of ${outcome.subscribers} instead of ${subscribers}: the server's descriptor limit is ${outcome.fdLimit} and could not be raised.`);
      if (outcome.lost > 0) errors.push(`${spec.label}: ${outcome.lost} subscribers of the first group lost`);
    }
    const labels = outcomes.map((o) => o.label);
    const seconds = (o: StormFanoutOutcome) => (o.finished ? o.stormMs / 1000 : NaN);
    /** The target compares only storms in which every newcomer got in. */
    const completeSeconds = (o: StormFanoutOutcome) => (o.complete ? o.stormMs / 1000 : NaN);
    const table = comparison(labels, [
      { name: 'newcomers connected + subscribed (s, lower is better)', values: outcomes.map(seconds), format: (v) => v.toFixed(2) },
      { name: '… of which connect (s)', values: outcomes.map((o) => (o.finished ? o.connectMs / 1000 : NaN)), format: (v) => v.toFixed(2) },
      { name: 'newcomers in when it ended', values: outcomes.map((o) => o.subscribed), format: int },
      { name: 'newcomers failed to connect (reasons in the notes)', values: outcomes.map((o) => o.failed), format: int },
      { name: 'listen backlog (accept queue bound)', values: outcomes.map((o) => o.listenBacklog), format: int },
      { name: 'ListenOverflows during the storm (machine-wide)', values: outcomes.map((o) => o.listenOverflows), format: int },
      { name: 'server descriptor limit', values: outcomes.map((o) => o.fdLimit), format: int },
      { name: 'server CPU in the storm per 1,000 newcomers (ms, fan-out included)', values: outcomes.map((o) => o.serverCpuMsPer1000), format: (v) => v.toFixed(1) },
      { name: 'fan-out quiet: deliveries/s', values: outcomes.map((o) => o.quiet.receivedPerSec), format: rate },
      { name: 'fan-out during the storm: deliveries/s', values: outcomes.map((o) => o.storm.receivedPerSec), format: rate },
      { name: 'fan-out quiet: p50 (ms)', values: outcomes.map((o) => o.quiet.p50Ms), format: ms },
      { name: '… p99 (ms)', values: outcomes.map((o) => o.quiet.p99Ms), format: ms },
      { name: 'fan-out during the storm: p50 (ms)', values: outcomes.map((o) => o.storm.p50Ms), format: ms },
      { name: '… p99 (ms)', values: outcomes.map((o) => o.storm.p99Ms), format: ms },
      { name: 'server CPU during the storm', values: outcomes.map((o) => o.storm.serverCpu), format: pct },
    ]);
    const herald = outcomes.find((o) => o.label === 'Herald');
    const uws = outcomes.find((o) => o.label === UWS_LABEL);
    const targets = [
      ratio('connect + subscribe time Herald/uWS.js', herald && completeSeconds(herald), uws && completeSeconds(uws), { op: '≤', bound: 1.2 }),
      ratio('Herald fan-out deliveries/s storm/quiet', herald?.storm.receivedPerSec, herald?.quiet.receivedPerSec, { op: '≥', bound: 0.95 }),
      ratio('Herald fan-out p99 storm/quiet', herald?.storm.p99Ms, herald?.quiet.p99Ms, { op: '≤', bound: 1.2 }),
    ];
    return {
      ...table,
      tables: [ratiosTable('Issue 15 targets:', targets)],
      targets,
      params: { subscribers, newcomers, capS, perConnectionTimeoutS: perConnectionS, quietMs, warmupMs, pushesPerSec: PUSHES_PER_SEC, payloadBytes: 100, inFlight: IN_FLIGHT, processes, newcomerProcesses, ...runParams() },
      details: outcomes,
      notes: [
        `A newcomer is in when its 20001 subscribe reply arrived; a contestant past ${capS} s did not finish (its time shows –).`,
        'Fan-out windows: deliveries to the first group per second of the window (the storm window lasts as long as the storm), latency from the pusher stamp.',
        ...unfinished,
      ],
      errors,
    };
  },
};
