/**
 * S5 — unicast: 10,000 connections, each logged in as its own user (u0 …
 * u9999) and subscribed privately to `inbox`; the pusher sends batches of
 * 100–500 items (`POST /v1/push`), each `{uid, topic: "inbox"}` to a random
 * user, at stepped rates of pushes (items) per second. Herald checks HS256
 * JWTs (`--jwt-secret`, tokens minted by the load clients with jose); the
 * baseline takes the credential as the uid.
 */
import { randomBytes } from 'node:crypto';
import type { Result, RunContext, Scenario } from '../lib/types.js';
import { comparison, contestants, ms, pct, rate, runParams, stepsTable, withSession } from './common.js';
import { LoadFleet } from './fleet.js';
import type { SteppedRun } from './s2-fanout.js';
import { P99_BOUND_MS, bestSustained, bestWithin, firstFailed, runSteps, type StepPlan } from './steps.js';

const PUSH_STEPS = [10e3, 20e3, 30e3, 40e3, 50e3, 75e3, 100e3, 150e3, 200e3, 300e3, 400e3, 600e3, 800e3];
const QUICK_PUSH_STEPS = [10e3];

export const unicastScenario: Scenario = {
  name: 's5-unicast',
  description: 'S5 unicast: 10,000 logged-in users on a private topic, batches of 100–500 pushes via POST /v1/push',
  async run(ctx: RunContext): Promise<Result> {
    const users = ctx.quick ? 1_000 : 10_000;
    const stepMs = ctx.quick ? 1_000 : 5_000;
    const drainMs = ctx.quick ? 300 : 2_000;
    const warmupMs = ctx.quick ? 300 : 2_000;
    const processes = LoadFleet.processesFor(users);
    const secret = randomBytes(32).toString('hex');
    const plan: StepPlan[] = (ctx.quick ? QUICK_PUSH_STEPS : PUSH_STEPS).map((r) => ({ rate: r, nominalDeliveries: r }));
    const runs: SteppedRun[] = [];
    const errors: string[] = [];
    for (const spec of contestants(['--jwt-secret', secret, '--jwt-algorithms', 'HS256'])) {
      ctx.log(`  ${spec.label}: ${users} users on private topic inbox`);
      const run = await withSession(spec, { processes, pusher: true }, async ({ server, fleet, pusher }) => {
        const connect = await fleet.connect(server, users, 256);
        if (connect.ok < users) throw new Error(`${spec.label}: only ${connect.ok}/${users} connected ${JSON.stringify(connect.errors)}`);
        const sub = await fleet.subscribe({
          kind: 'private',
          topic: 'inbox',
          credential: spec.kind === 'herald' ? 'jwt' : 'uid',
          secret,
          uidPrefix: 'u',
        });
        if (sub.received < sub.expected) throw new Error(`${spec.label}: only ${sub.received}/${sub.expected} login/subscribe replies ${JSON.stringify(sub.replyErrors)}`);
        ctx.log(`  ${spec.label}: ${users} logins + private subscriptions in ${sub.elapsedMs} ms`);
        return runSteps(
          {
            server,
            fleet,
            pusher: pusher!,
            plan,
            stepMs,
            drainMs,
            connections: users,
            thorough: !ctx.quick,
            push: {
              api: 'batch',
              payloadBytes: 100,
              target: { kind: 'users', users, uidPrefix: 'u', topic: 'inbox' },
              batchMin: 100,
              batchMax: 500,
              maxOutstanding: 16,
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
    const labels = runs.map((r) => r.label);
    const table = comparison(labels, [
      { name: 'highest sustained step: offered pushes/s', values: runs.map((r) => r.best?.offeredPerSec ?? 0), format: rate },
      { name: 'pushes/s accepted there', values: runs.map((r) => r.best?.acceptedPerSec ?? 0), format: rate },
      { name: 'pushes/s delivered there', values: runs.map((r) => r.best?.receivedPerSec ?? 0), format: rate },
      { name: 'p50 latency at that step (ms)', values: runs.map((r) => r.best?.p50Ms), format: ms },
      { name: 'p99 latency at that step (ms)', values: runs.map((r) => r.best?.p99Ms), format: ms },
      { name: 'server CPU at that step (% of a core)', values: runs.map((r) => r.best?.serverCpu), format: pct },
      { name: 'load clients CPU at that step', values: runs.map((r) => r.best?.clientCpu), format: pct },
      { name: `highest sustained step with p99 ≤ ${P99_BOUND_MS / 1000} s: pushes/s`, values: runs.map((r) => bestWithin(r.steps)?.offeredPerSec ?? 0), format: rate },
    { name: '… p99 latency there (ms)', values: runs.map((r) => bestWithin(r.steps)?.p99Ms), format: ms },
    { name: 'lowest step not sustained: offered/s', values: runs.map((r) => firstFailed(r.steps)?.offeredPerSec), format: rate },
      { name: '… delivered/s there', values: runs.map((r) => firstFailed(r.steps)?.receivedPerSec), format: rate },
    ]);
    return {
      ...table,
      tables: [stepsTable('Steps (one delivery per push; CPU in % of one core):', runs, 'pushes')],
      params: { users, processes, stepMs, drainMs, warmupMs, payloadBytes: 100, batch: '100–500 items, POST /v1/push', plan, ...runParams() },
      details: runs,
      notes: ['sustained: ≥ 95 % of the offered pushes delivered within the step + drain, none refused or left unsent, no connection lost.'],
      errors,
    };
  },
};
