/**
 * S9 — the cost of webhooks at a connection storm. One Herald node (memory
 * engine) takes 10,000 connections (256 in flight), each subscribing to one
 * of 1,000 topics, then every connection closes: per connection a connect,
 * a subscribe, an unsubscribe and a disconnect event, plus an occupied and a
 * vacated event per topic. Run twice: webhooks off, and on (all events to one
 * receiver in its own process, which checks every signature). Reported:
 * connects/s, the storm's duration (connect + subscribe + close), Herald's CPU
 * over the storm and until its last event was delivered, events delivered
 * and dropped (Herald's counters) and received (the receiver's).
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { sleep, stopChild, track } from '../lib/children.js';
import { cpuSeconds } from '../lib/proc.js';
import type { Result, RunContext, Scenario } from '../lib/types.js';
import { comparison, int, pct, rate, runParams, withSession } from './common.js';
import { LoadFleet } from './fleet.js';
import type { RunningServer } from './servers.js';

const RECEIVER = fileURLToPath(new URL('./webhook-receiver.js', import.meta.url));
const SECRET = 'bench-webhook-secret';

interface ReceiverStats {
  requests: number;
  badSignatures: number;
  events: number;
  counts: Record<string, number>;
}

interface StormOutcome {
  label: string;
  connected: number;
  subscribed: number;
  connectsPerSec: number;
  stormMs: number;
  /** Herald's CPU (cores) over the storm. */
  serverCpu: number;
  /** Herald's CPU seconds from the storm's start until its last event was delivered. */
  serverCpuSeconds: number;
  delivered: number;
  dropped: number;
  received: number;
}

async function heraldCounter(server: RunningServer, name: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${server.apiPort}/metrics`)).text();
  let sum = 0;
  for (const line of text.split('\n')) if (line.startsWith(`${name}{`)) sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  return sum;
}

export const webhooksScenario: Scenario = {
  name: 's9-webhooks',
  description: 'S9 webhooks at a connection storm: 10,000 connects+subscribes then disconnects, webhooks off vs on',
  async run(ctx: RunContext): Promise<Result> {
    const connections = ctx.quick ? 1_000 : 10_000;
    const topics = connections / 10;
    const processes = LoadFleet.processesFor(connections);
    const child = track(spawn(process.execPath, [RECEIVER, SECRET], { stdio: ['ignore', 'pipe', 'inherit'] }));
    const port = await new Promise<number>((resolve, reject) => {
      let out = '';
      child.stdout!.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        if (out.includes('\n')) resolve((JSON.parse(out.split('\n')[0]) as { port: number }).port);
      });
      child.once('exit', () => reject(new Error('the webhook receiver exited')));
    });
    const receiverStats = async (): Promise<ReceiverStats> => (await (await fetch(`http://127.0.0.1:${port}/stats`)).json()) as ReceiverStats;
    const webhooks = JSON.stringify([{ url: `http://127.0.0.1:${port}/hooks`, secret: SECRET }]);
    const outcomes: StormOutcome[] = [];
    const errors: string[] = [];
    try {
      for (const [label, args] of [['webhooks off', []], ['webhooks on', ['--webhooks', webhooks]]] as const) {
        const spec = { kind: 'herald' as const, label, heraldArgs: [...args] };
        const outcome = await withSession(spec, { processes, pusher: false }, async ({ server, fleet }) => {
          await fleet.connect(server, 1, 1);
          await fleet.closeAll();
          await sleep(ctx.quick ? 200 : 1000);
          const r0 = await receiverStats();
          const d0 = await heraldCounter(server, 'herald_webhook_events_delivered_total');
          const c0 = cpuSeconds(server.pid);
          const t0 = performance.now();
          const connect = await fleet.connect(server, connections, 256);
          const sub = await fleet.subscribe({ kind: 'multi', perConnection: 1, topics, seed: 9, prefix: 'w' });
          await fleet.closeAll();
          const stormMs = performance.now() - t0;
          const c1 = cpuSeconds(server.pid);
          // Until Herald's delivered + dropped counters stop moving (bounded): its last batches are out.
          let last = -1;
          let delivered = 0;
          let dropped = 0;
          const deadline = performance.now() + (ctx.quick ? 5_000 : 30_000);
          for (let stable = 0; stable < 3 && performance.now() < deadline; ) {
            await sleep(100);
            delivered = (await heraldCounter(server, 'herald_webhook_events_delivered_total')) - d0;
            dropped = await heraldCounter(server, 'herald_webhook_events_dropped_total');
            stable = delivered + dropped === last ? stable + 1 : 0;
            last = delivered + dropped;
          }
          const r1 = await receiverStats();
          if (r1.badSignatures > 0) errors.push(`${label}: ${r1.badSignatures} batches with a bad signature`);
          return {
            label,
            connected: connect.ok,
            subscribed: sub.received,
            connectsPerSec: connect.elapsedMs > 0 ? connect.ok / (connect.elapsedMs / 1000) : 0,
            stormMs,
            serverCpu: (c1 - c0) / (stormMs / 1000),
            serverCpuSeconds: cpuSeconds(server.pid) - c0,
            delivered,
            dropped,
            received: r1.events - r0.events,
          };
        });
        ctx.log(
          `  ${label}: ${outcome.connected} connects at ${Math.round(outcome.connectsPerSec)}/s, storm ${(outcome.stormMs / 1000).toFixed(2)} s, ` +
            `Herald CPU ${(outcome.serverCpu * 100).toFixed(0)} %, events delivered ${outcome.delivered}, dropped ${outcome.dropped}, received ${outcome.received}`,
        );
        if (outcome.connected < connections) errors.push(`${label}: only ${outcome.connected} of ${connections} connected`);
        outcomes.push(outcome);
      }
    } finally {
      await stopChild(child);
    }
    const table = comparison(
      outcomes.map((o) => o.label),
      [
        { name: 'connections (each subscribed, then closed)', values: outcomes.map((o) => o.connected), format: int },
        { name: 'connects/s', values: outcomes.map((o) => o.connectsPerSec), format: rate },
        { name: 'storm: connect + subscribe + close (s)', values: outcomes.map((o) => o.stormMs / 1000), format: (v) => v.toFixed(2) },
        { name: 'Herald CPU over the storm (% of a core)', values: outcomes.map((o) => o.serverCpu), format: pct },
        { name: 'Herald CPU until the last event was delivered (s)', values: outcomes.map((o) => o.serverCpuSeconds), format: (v) => v.toFixed(2) },
        { name: 'webhook events delivered', values: outcomes.map((o) => o.delivered), format: int },
        { name: 'webhook events dropped', values: outcomes.map((o) => o.dropped), format: int },
        { name: 'webhook events received (receiver)', values: outcomes.map((o) => o.received), format: int },
      ],
      [{ label: 'on/off', of: 'webhooks on', to: 'webhooks off' }],
    );
    // No ws baseline here: keep only the on/off ratio.
    table.columns = table.columns.filter((column) => !/^r\d+$/.test(column.key));
    return {
      ...table,
      params: { connections, topics, processes, inFlight: 256, ...runParams() },
      details: outcomes,
      notes: [
        'Events per connection: connect, subscribe, unsubscribe, disconnect; per topic: channel_occupied and channel_vacated.',
        'Defaults: batches of 100 events or 100 ms, at most 100,000 queued per URL (beyond: dropped and counted).',
        'The receiver is a separate process on loopback that checks every HMAC signature.',
      ],
      errors,
    };
  },
};
