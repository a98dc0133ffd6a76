/**
 * S1 — idle connections: memory and CPU a server spends on connections that
 * only sit there. 19,000 connections (two load processes × 9,500), each
 * subscribed to the same topic; the server's RSS (VmRSS) before connecting —
 * after it is listening and warmed by one connect/subscribe/disconnect — and
 * after all are subscribed plus a quiet pause; then its CPU over an idle
 * window, from /proc/<pid>/stat.
 */
import { sleep } from '../lib/children.js';
import { cpuSeconds, machineCpu, machineDelta, rssBytes } from '../lib/proc.js';
import type { Result, RunContext, Scenario } from '../lib/types.js';
import { UWS_LABEL, comparison, contestants, int, pct, runParams, withSession } from './common.js';
import { LoadFleet } from './fleet.js';
import { ratio, ratiosTable } from './targets.js';

/** Issue 15: idle memory per subscribed connection at most this (uWS.js measured 933–943 B). */
const IDLE_BYTES_TARGET = 940;

interface IdleOutcome {
  label: string;
  connected: number;
  failed: number;
  connectErrors: Record<string, number>;
  subscribed: number;
  rssBeforeBytes: number;
  rssAfterBytes: number;
  bytesPerConnection: number;
  /** Cores (1 = one core) over the idle window. */
  serverIdleCpu: number;
  clientIdleCpu: number;
  /** Busy cores on the whole machine during the idle window (others' processes included). */
  machineIdleCpu: number;
  openAtEnd: number;
  closes: Record<string, number>;
}

export const idleScenario: Scenario = {
  name: 's1-idle',
  description: 'S1 idle connections: RSS per connection and idle CPU, Herald vs a plain ws server',
  async run(ctx: RunContext): Promise<Result> {
    const connections = ctx.quick ? 1_000 : 19_000;
    const quietMs = ctx.quick ? 300 : 3_000;
    const idleMs = ctx.quick ? 500 : 10_000;
    const inFlight = 256;
    const processes = LoadFleet.processesFor(connections);
    const outcomes: IdleOutcome[] = [];
    const errors: string[] = [];
    for (const spec of contestants()) {
      ctx.log(`  ${spec.label}: ${connections} connections over ${processes} load processes`);
      const outcome = await withSession(spec, { processes, pusher: false }, async ({ server, fleet }) => {
        await fleet.connect(server, 1, 1);
        await fleet.subscribe({ kind: 'topic', topic: 'idle' });
        await fleet.closeAll();
        await sleep(ctx.quick ? 300 : 1000);
        const rssBefore = rssBytes(server.pid);
        const connect = await fleet.connect(server, connections, inFlight);
        const sub = await fleet.subscribe({ kind: 'topic', topic: 'idle' });
        await sleep(quietMs);
        const rssAfter = rssBytes(server.pid);
        const c0 = cpuSeconds(server.pid);
        const s0 = await fleet.stats();
        const m0 = machineCpu();
        const t0 = performance.now();
        await sleep(idleMs);
        const c1 = cpuSeconds(server.pid);
        const m1 = machineCpu();
        const s1 = await fleet.stats();
        const seconds = (performance.now() - t0) / 1000;
        return {
          label: spec.label,
          connected: connect.ok,
          failed: connect.failed,
          connectErrors: connect.errors,
          subscribed: sub.received,
          rssBeforeBytes: rssBefore,
          rssAfterBytes: rssAfter,
          bytesPerConnection: connect.ok > 0 ? (rssAfter - rssBefore) / connect.ok : NaN,
          serverIdleCpu: (c1 - c0) / seconds,
          clientIdleCpu: (s1.cpuUs - s0.cpuUs) / 1e6 / seconds,
          machineIdleCpu: machineDelta(m0, m1, seconds).busyCores,
          openAtEnd: s1.open,
          closes: s1.closes,
        };
      });
      outcomes.push(outcome);
      ctx.log(
        `  ${spec.label}: ${outcome.connected} connected, RSS ${(outcome.rssBeforeBytes / 2 ** 20).toFixed(1)} → ` +
          `${(outcome.rssAfterBytes / 2 ** 20).toFixed(1)} MiB = ${int(outcome.bytesPerConnection)} B/connection, ` +
          `idle CPU ${(outcome.serverIdleCpu * 100).toFixed(2)} %`,
      );
      if (outcome.connected < connections) errors.push(`${spec.label}: only ${outcome.connected}/${connections} connected ${JSON.stringify(outcome.connectErrors)}`);
      if (outcome.subscribed < outcome.connected) errors.push(`${spec.label}: only ${outcome.subscribed}/${outcome.connected} subscribed`);
      if (outcome.openAtEnd < outcome.connected) errors.push(`${spec.label}: ${outcome.connected - outcome.openAtEnd} connections lost while idle ${JSON.stringify(outcome.closes)}`);
    }
    const labels = outcomes.map((o) => o.label);
    const table = comparison(labels, [
      { name: 'connections', values: outcomes.map((o) => o.connected), format: int },
      { name: 'RSS before (MiB)', values: outcomes.map((o) => o.rssBeforeBytes / 2 ** 20), format: (v) => v.toFixed(1) },
      { name: 'RSS after (MiB)', values: outcomes.map((o) => o.rssAfterBytes / 2 ** 20), format: (v) => v.toFixed(1) },
      { name: 'RSS per connection (bytes, lower is better)', values: outcomes.map((o) => o.bytesPerConnection), format: int },
      { name: `server CPU idle over ${idleMs / 1000} s (% of a core)`, values: outcomes.map((o) => o.serverIdleCpu), format: (v) => `${(v * 100).toFixed(2)} %` },
      { name: 'load clients CPU idle (% of a core)', values: outcomes.map((o) => o.clientIdleCpu), format: pct },
      { name: 'whole machine busy meanwhile (% of a core)', values: outcomes.map((o) => o.machineIdleCpu), format: pct },
    ]);
    const herald = outcomes.find((o) => o.label === 'Herald');
    const uws = outcomes.find((o) => o.label === UWS_LABEL);
    const targets = [
      ratio('idle B/connection Herald/uWS.js', herald?.bytesPerConnection, uws?.bytesPerConnection, { op: '≤', bound: 1 }),
      // The absolute bound, as a ratio to 940 B.
      ratio('idle B/connection Herald/940 B', herald?.bytesPerConnection, herald === undefined ? undefined : IDLE_BYTES_TARGET, { op: '≤', bound: 1 }),
    ];
    return {
      ...table,
      tables: [ratiosTable('Issue 15 targets:', targets)],
      targets,
      params: { connections, processes, inFlight, quietMs, idleMs, topic: 'idle (all connections)', ...runParams() },
      details: outcomes,
      notes: ['RSS per connection = (VmRSS after − VmRSS before) / connections; no forced GC in the server.'],
      errors,
    };
  },
};
