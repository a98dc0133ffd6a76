/**
 * S2 — fan-out: 10,000 subscribers of one topic (two load processes); the
 * pusher sends pushes of 100 bytes through `POST /v1/pushData` (keep-alive)
 * at stepped rates, so that the offered deliveries per second are 50 k, 100 k,
 * 250 k, 500 k, 1 M, 2 M, 3 M, 4 M, … Each step runs ~5 s plus a drain of at
 * most 2 s; the run stops at the first step that is not sustained (see
 * steps.ts), except that the 4 M and 8 M steps are run for every contestant
 * (the issue compares them there). The result is the highest sustained step. When Herald's `--help`
 * lists `--merge-window`, Herald also runs once per merge window of
 * `BENCH_MERGE_WINDOWS` (default 100 ms and 500 ms; see common.ts). The pusher
 * uses 16 keep-alive connections, as a busy backend would.
 */
import type { Result, RunContext, Scenario } from '../lib/types.js';
import { UWS_LABEL, comparison, contestants, ms, pct, rate, runParams, stepsTable, withSession } from './common.js';
import { LoadFleet } from './fleet.js';
import { fanoutRatios, ratiosTable } from './targets.js';
import { P99_BOUND_MS, bestSustained, bestWithin, firstFailed, runSteps, type StepOutcome, type StepPlan } from './steps.js';

export const DELIVERY_STEPS = [50e3, 100e3, 250e3, 500e3, 1e6, 2e6, 3e6, 4e6, 5e6, 6e6, 8e6, 10e6, 12e6, 16e6];
export const QUICK_DELIVERY_STEPS = [100e3];
/** Steps run for every contestant even past its first failure: issue 15 compares them there. */
export const ALWAYS_RUN_STEPS = [4e6, 8e6];

/** `BENCH_S2_STEPS` (comma-separated offered deliveries/s, e.g. `50e3,100e3`) replaces the plan, for smoke runs. */
function deliverySteps(quick: boolean): number[] {
  const env = process.env.BENCH_S2_STEPS;
  if (env === undefined || env.trim() === '') return quick ? QUICK_DELIVERY_STEPS : DELIVERY_STEPS;
  const steps = env.split(',').map((s) => Number(s.trim()));
  if (steps.some((s) => !Number.isFinite(s) || s <= 0)) throw new Error(`BENCH_S2_STEPS: not a list of positive numbers: ${env}`);
  return steps.sort((a, b) => a - b);
}

export interface SteppedRun {
  label: string;
  warmup: StepOutcome;
  steps: StepOutcome[];
  best: StepOutcome | undefined;
}

/** Summary rows shared by S2 and S4. */
export function deliveryComparison(runs: SteppedRun[]) {
  const labels = runs.map((r) => r.label);
  return comparison(labels, [
    { name: 'highest sustained step: offered deliveries/s', values: runs.map((r) => r.best?.offeredPerSec ?? 0), format: rate },
    { name: 'sustained deliveries/s (received)', values: runs.map((r) => r.best?.receivedPerSec ?? 0), format: rate },
    { name: 'p50 latency at that step (ms)', values: runs.map((r) => r.best?.p50Ms), format: ms },
    { name: 'p99 latency at that step (ms)', values: runs.map((r) => r.best?.p99Ms), format: ms },
    { name: 'server CPU at that step (% of a core)', values: runs.map((r) => r.best?.serverCpu), format: pct },
    { name: 'load clients CPU at that step', values: runs.map((r) => r.best?.clientCpu), format: pct },
    { name: 'kernel softirq at that step', values: runs.map((r) => r.best?.softirqCpu), format: pct },
    { name: `highest sustained step with p99 ≤ ${P99_BOUND_MS / 1000} s: deliveries/s`, values: runs.map((r) => bestWithin(r.steps)?.offeredPerSec ?? 0), format: rate },
    { name: '… p99 latency there (ms)', values: runs.map((r) => bestWithin(r.steps)?.p99Ms), format: ms },
    { name: 'lowest step not sustained: offered/s', values: runs.map((r) => firstFailed(r.steps)?.offeredPerSec), format: rate },
    { name: '… received/s there', values: runs.map((r) => firstFailed(r.steps)?.receivedPerSec), format: rate },
  ]);
}

export const fanoutScenario: Scenario = {
  name: 's2-fanout',
  description: 'S2 fan-out: one topic, 10,000 subscribers, stepped push rates via POST /v1/pushData',
  async run(ctx: RunContext): Promise<Result> {
    // BENCH_S2_SUBSCRIBERS: a smaller audience for experiments (BENCH_S2_STEPS: see deliverySteps).
    const subscribers = Number(process.env.BENCH_S2_SUBSCRIBERS) || (ctx.quick ? 1_000 : 10_000);
    const stepMs = ctx.quick ? 1_000 : 5_000;
    const drainMs = ctx.quick ? 300 : 2_000;
    const warmupMs = ctx.quick ? 300 : 2_000;
    const processes = LoadFleet.processesFor(subscribers);
    const plan: StepPlan[] = deliverySteps(ctx.quick).map((d) => ({ rate: d / subscribers, nominalDeliveries: d }));
    const runs: SteppedRun[] = [];
    const errors: string[] = [];
    for (const spec of contestants([], { mergeVariant: true })) {
      ctx.log(`  ${spec.label}: ${subscribers} subscribers of one topic, ${processes} load processes`);
      const run = await withSession(spec, { processes, pusher: true, pusherSockets: 16 }, async ({ server, fleet, pusher }) => {
        const connect = await fleet.connect(server, subscribers, 256);
        if (connect.ok < subscribers) throw new Error(`${spec.label}: only ${connect.ok}/${subscribers} connected ${JSON.stringify(connect.errors)}`);
        const sub = await fleet.subscribe({ kind: 'topic', topic: 'fanout' });
        if (sub.received < subscribers) throw new Error(`${spec.label}: only ${sub.received}/${subscribers} subscribed ${JSON.stringify(sub.replyErrors)}`);
        return runSteps(
          {
            server,
            fleet,
            pusher: pusher!,
            plan,
            stepMs,
            drainMs,
            connections: subscribers,
            thorough: !ctx.quick,
            alwaysRun: ALWAYS_RUN_STEPS,
            push: {
              api: 'pushData',
              payloadBytes: 100,
              target: { kind: 'topics', topics: ['fanout'], counts: [subscribers] },
              batchMax: 1,
              maxOutstanding: 64,
              answerTimeoutMs: 5_000,
            },
            log: ctx.log,
          },
          warmupMs,
        );
      });
      const best = bestSustained(run.steps);
      runs.push({ label: spec.label, ...run, best });
      if (best === undefined) errors.push(`${spec.label}: not even the first step was sustained`);
    }
    const targets = fanoutRatios(
      runs.find((r) => r.label === 'Herald')?.steps,
      runs.find((r) => r.label === UWS_LABEL)?.steps,
      ALWAYS_RUN_STEPS,
    );
    return {
      ...deliveryComparison(runs),
      tables: [
        stepsTable('Steps (CPU in % of one core; machine busy in % of both cores):', runs, 'deliveries'),
        ratiosTable('Issue 15 targets (Herald over uWS.js, same run):', targets),
      ],
      targets,
      params: { subscribers, processes, stepMs, drainMs, warmupMs, payloadBytes: 100, api: 'POST /v1/pushData', plan, ...runParams() },
      details: runs,
      notes: [
        'sustained: ≥ 95 % of the offered deliveries arrived within the step + drain, no push refused or left unsent, no connection lost.',
        'latency: pusher stamp (before the HTTP request) to the load client reading the frame; CLOCK_MONOTONIC across processes.',
      ],
      errors,
    };
  },
};
