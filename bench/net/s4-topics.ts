/**
 * S4 — many topics: 10,000 connections × 10 subscriptions each over 1,000
 * topics (seeded random, distinct per connection: ~100 subscribers a topic);
 * pushes of 100 bytes to random topics at stepped rates, as in S2. Pushes go
 * through the batch API `POST /v1/push` (what the pusher has due each
 * millisecond, ≤ 500 items a request), so the step measures the fan-out
 * rather than HTTP request handling; `BENCH_S4_API=pushData` sends one
 * `POST /v1/pushData` per push instead.
 */
import type { Result, RunContext, Scenario } from '../lib/types.js';
import { contestants, runParams, stepsTable, withSession } from './common.js';
import { LoadFleet } from './fleet.js';
import { deliveryComparison, type SteppedRun } from './s2-fanout.js';
import { bestSustained, runSteps, type StepPlan } from './steps.js';
import { subscriberCounts } from '../load/topics.js';

const SEED = 0x5eed;
/**
 * Offered deliveries per second. Lower than S2's: each push here reaches
 * ~100 connections, so a delivery costs nearly one socket write (S2's large
 * fan-outs let several pushes share one write per connection).
 */
const STEPS = [10e3, 20e3, 30e3, 40e3, 50e3, 75e3, 100e3, 250e3, 500e3, 1e6, 2e6, 4e6];
const QUICK_STEPS = [10e3];

export const topicsScenario: Scenario = {
  name: 's4-topics',
  description: 'S4 many topics: 10,000 connections × 10 of 1,000 topics, pushes to random topics at stepped rates',
  async run(ctx: RunContext): Promise<Result> {
    const connections = ctx.quick ? 1_000 : 10_000;
    const perConnection = 10;
    const topicCount = ctx.quick ? 100 : 1_000;
    const stepMs = ctx.quick ? 1_000 : 5_000;
    const drainMs = ctx.quick ? 300 : 2_000;
    const warmupMs = ctx.quick ? 300 : 2_000;
    const api = process.env.BENCH_S4_API === 'pushData' ? 'pushData' : 'batch';
    const processes = LoadFleet.processesFor(connections);
    const counts = subscriberCounts(connections, perConnection, topicCount, SEED);
    const topics = counts.map((_, i) => `topic-${i}`);
    const meanSubscribers = (connections * perConnection) / topicCount;
    const plan: StepPlan[] = (ctx.quick ? QUICK_STEPS : STEPS).map((d) => ({ rate: d / meanSubscribers, nominalDeliveries: d }));
    const runs: SteppedRun[] = [];
    const errors: string[] = [];
    for (const spec of contestants()) {
      ctx.log(`  ${spec.label}: ${connections} connections × ${perConnection} of ${topicCount} topics`);
      const run = await withSession(spec, { processes, pusher: true, pusherSockets: 16 }, async ({ server, fleet, pusher }) => {
        const connect = await fleet.connect(server, connections, 256);
        if (connect.ok < connections) throw new Error(`${spec.label}: only ${connect.ok}/${connections} connected ${JSON.stringify(connect.errors)}`);
        const sub = await fleet.subscribe({ kind: 'multi', perConnection, topics: topicCount, seed: SEED, prefix: 'topic-' });
        if (sub.received < sub.expected) throw new Error(`${spec.label}: only ${sub.received}/${sub.expected} subscriptions ${JSON.stringify(sub.replyErrors)}`);
        return runSteps(
          {
            server,
            fleet,
            pusher: pusher!,
            plan,
            stepMs,
            drainMs,
            connections,
            thorough: !ctx.quick,
            push: {
              api,
              payloadBytes: 100,
              target: { kind: 'topics', topics, counts },
              batchMax: 500,
              maxOutstanding: api === 'batch' ? 16 : 64,
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
    return {
      ...deliveryComparison(runs),
      tables: [stepsTable('Steps (pushes/s = topic pushes sent; CPU in % of one core):', runs, 'deliveries')],
      params: {
        connections,
        perConnection,
        topics: topicCount,
        subscribersPerTopic: { min: Math.min(...counts), max: Math.max(...counts), mean: meanSubscribers },
        seed: SEED,
        processes,
        stepMs,
        drainMs,
        warmupMs,
        payloadBytes: 100,
        api: api === 'batch' ? 'POST /v1/push (per-millisecond batches ≤ 500 items)' : 'POST /v1/pushData',
        plan,
        ...runParams(),
      },
      details: runs,
      notes: ['sustained: ≥ 95 % of the offered deliveries arrived within the step + drain, no push refused or left unsent, no connection lost.'],
      errors,
    };
  },
};
