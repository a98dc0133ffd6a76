/**
 * S10 — Server-Sent Events beside WebSocket (issue 17): the same fan-out as
 * S2 — 10,000 subscribers of one topic, 100-byte pushes through
 * `POST /v1/pushData` at stepped rates — once with WebSocket subscribers
 * (load-client.ts) and once with `GET /v1/sse?topic=fanout` subscribers
 * (sse-load-client.ts), both against Herald (the `ws` baseline has no SSE).
 * Before the steps, idle memory per connection is read as S1 does it: the
 * server's RSS after a warm-up connect/close, and after all subscribers are
 * connected and subscribed plus a quiet pause; the delta over the count.
 *
 * The SSE load processes use `net.Socket`s (the WebSocket ones raw libuv
 * handles), so their own CPU per message is higher; the server is the same.
 */
import { sleep } from '../lib/children.js';
import { rssBytes } from '../lib/proc.js';
import type { Result, RunContext, Scenario } from '../lib/types.js';
import { comparison, int, runParams, stepsTable, withSession } from './common.js';
import type { ServerSpec } from './servers.js';
import { LoadFleet } from './fleet.js';
import { bestSustained, runSteps, type StepPlan } from './steps.js';
import { DELIVERY_STEPS, QUICK_DELIVERY_STEPS, deliveryComparison, type SteppedRun } from './s2-fanout.js';

const TOPIC = 'fanout';

interface TransportRun extends SteppedRun {
  connected: number;
  rssBeforeBytes: number;
  rssAfterBytes: number;
  bytesPerConnection: number;
}

export const sseScenario: Scenario = {
  name: 's10-sse',
  description: 'S10 SSE vs WebSocket: fan-out to 10,000 subscribers of one topic, and idle RSS per connection',
  async run(ctx: RunContext): Promise<Result> {
    const subscribers = ctx.quick ? 1_000 : 10_000;
    const stepMs = ctx.quick ? 1_000 : 5_000;
    const drainMs = ctx.quick ? 300 : 2_000;
    const warmupMs = ctx.quick ? 300 : 2_000;
    const quietMs = ctx.quick ? 300 : 3_000;
    const processes = LoadFleet.processesFor(subscribers);
    const plan: StepPlan[] = (ctx.quick ? QUICK_DELIVERY_STEPS : DELIVERY_STEPS).map((d) => ({ rate: d / subscribers, nominalDeliveries: d }));
    const spec: ServerSpec = { kind: 'herald', label: 'Herald', heraldArgs: [] };
    const runs: TransportRun[] = [];
    const errors: string[] = [];
    for (const load of ['websocket', 'sse'] as const) {
      const label = load === 'sse' ? 'Herald SSE' : 'Herald WebSocket';
      ctx.log(`  ${label}: ${subscribers} subscribers of one topic, ${processes} load processes`);
      const run = await withSession({ ...spec, label }, { processes, pusher: true, pusherSockets: 16, load }, async ({ server, fleet, pusher }) => {
        if (load === 'sse') fleet.path = `/v1/sse?topic=${TOPIC}`;
        // Warm-up, as S1: one connection in and out before the baseline reading.
        await fleet.connect(server, 1, 1);
        await fleet.subscribe({ kind: 'topic', topic: TOPIC });
        await fleet.closeAll();
        await sleep(ctx.quick ? 300 : 1000);
        const rssBefore = rssBytes(server.pid);
        const connect = await fleet.connect(server, subscribers, 256);
        if (connect.ok < subscribers) throw new Error(`${label}: only ${connect.ok}/${subscribers} connected ${JSON.stringify(connect.errors)}`);
        const sub = await fleet.subscribe({ kind: 'topic', topic: TOPIC });
        if (sub.received < subscribers) throw new Error(`${label}: only ${sub.received}/${subscribers} subscribed ${JSON.stringify(sub.replyErrors)}`);
        await sleep(quietMs);
        const rssAfter = rssBytes(server.pid);
        const stepped = await runSteps(
          {
            server,
            fleet,
            pusher: pusher!,
            plan,
            stepMs,
            drainMs,
            connections: subscribers,
            thorough: !ctx.quick,
            push: {
              api: 'pushData',
              payloadBytes: 100,
              target: { kind: 'topics', topics: [TOPIC], counts: [subscribers] },
              batchMax: 1,
              maxOutstanding: 64,
              answerTimeoutMs: 5_000,
            },
            log: ctx.log,
          },
          warmupMs,
        );
        return { connected: connect.ok, rssBeforeBytes: rssBefore, rssAfterBytes: rssAfter, bytesPerConnection: (rssAfter - rssBefore) / connect.ok, ...stepped };
      });
      const best = bestSustained(run.steps);
      runs.push({ label, ...run, best });
      ctx.log(`  ${label}: idle ${int(run.bytesPerConnection)} B/connection; best sustained ${best?.offeredPerSec ?? 0} deliveries/s`);
      if (best === undefined) errors.push(`${label}: not even the first step was sustained`);
    }
    const delivery = deliveryComparison(runs);
    const memory = comparison(
      runs.map((r) => r.label),
      [
        { name: 'connections', values: runs.map((r) => r.connected), format: int },
        { name: 'idle RSS per connection (bytes, lower is better)', values: runs.map((r) => r.bytesPerConnection), format: int },
      ],
    );
    return {
      ...delivery,
      tables: [
        { title: 'Idle memory (RSS delta over connections, subscribed, before the pushes):', ...memory },
        stepsTable('Steps (CPU in % of one core; machine busy in % of both cores):', runs, 'deliveries'),
      ],
      params: { subscribers, processes, stepMs, drainMs, warmupMs, quietMs, payloadBytes: 100, api: 'POST /v1/pushData', plan, ...runParams() },
      details: runs,
      notes: [
        'sustained: ≥ 95 % of the offered deliveries arrived within the step + drain, no push refused or left unsent, no connection lost.',
        'SSE load processes hold net.Sockets (WebSocket ones raw libuv handles): their CPU per message is higher; the server is the same binary.',
        'idle RSS per connection = (VmRSS after − VmRSS before) / connections, as S1; no forced GC in the server.',
      ],
      errors,
    };
  },
};
