/**
 * S3 — connection storm: 19,000 connections opened with 256 in flight (split
 * over the load processes); a connection counts once its upgrade got 101 and
 * the greeting 20000 arrived. Handshakes per second over the whole storm
 * (first connect to last greeting, across processes), the connect-to-greeting
 * latency, and the server's CPU. Three storms per server (all connections
 * closed and a pause between them); the median storm by handshakes/s is
 * reported, every storm is in the JSON.
 */
import { sleep } from '../lib/children.js';
import { cpuSplit, machineCpu, machineDelta } from '../lib/proc.js';
import type { Result, RunContext, Scenario } from '../lib/types.js';
import { UWS_LABEL, comparison, contestants, int, ms, pct, rate, runParams, withSession } from './common.js';
import { ratio, ratiosTable } from './targets.js';
import { LoadFleet } from './fleet.js';

interface StormOutcome {
  label: string;
  connected: number;
  failed: number;
  errors: Record<string, number>;
  elapsedMs: number;
  handshakesPerSec: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  serverCpu: number;
  /** Server CPU time per 1,000 handshakes, ms. */
  serverCpuMsPer1000: number;
  /** …of which in the kernel (accept, the 101's write, close: system calls), ms. */
  serverSysMsPer1000: number;
  clientCpu: number;
  machineBusy: number;
  softirqCpu: number;
  /** Busy cores not explained by the server, load clients, softirq and the coordinator (other processes). */
  otherCpu: number;
}

interface StormRun {
  label: string;
  rounds: StormOutcome[];
  median: StormOutcome;
}

function envCount(name: string, fallback: number): number {
  const v = Number(process.env[name]);
  return Number.isInteger(v) && v > 0 ? v : fallback;
}

export const stormScenario: Scenario = {
  name: 's3-storm',
  description: 'S3 connection storm: 19,000 upgrades with 256 in flight, handshakes/s',
  async run(ctx: RunContext): Promise<Result> {
    // BENCH_S3_CONNECTIONS / BENCH_S3_ROUNDS: smaller or more storms for profiling and before/after checks.
    const connections = envCount('BENCH_S3_CONNECTIONS', ctx.quick ? 1_000 : 19_000);
    const inFlight = 256;
    const rounds = envCount('BENCH_S3_ROUNDS', ctx.quick ? 1 : 3);
    const processes = LoadFleet.processesFor(connections);
    const runs: StormRun[] = [];
    const errors: string[] = [];
    for (const spec of contestants()) {
      const outcomes = await withSession(spec, { processes, pusher: false }, async ({ server, fleet }) => {
        await fleet.connect(server, 1, 1);
        await fleet.closeAll();
        const list: StormOutcome[] = [];
        for (let round = 0; round < rounds; round++) {
          await sleep(ctx.quick ? 200 : 1000);
          const s0 = await fleet.stats();
          const c0 = cpuSplit(server.pid);
          const m0 = machineCpu();
          const self0 = process.cpuUsage();
          const t0 = performance.now();
          const r = await fleet.connect(server, connections, inFlight);
          const wall = (performance.now() - t0) / 1000;
          const c1 = cpuSplit(server.pid);
          const m1 = machineCpu();
          const self = process.cpuUsage(self0);
          const s1 = await fleet.stats();
          await fleet.closeAll();
          const machine = machineDelta(m0, m1, wall);
          const serverSeconds = c1.user - c0.user + (c1.system - c0.system);
          const serverCpu = serverSeconds / wall;
          const clientCpu = (s1.cpuUs - s0.cpuUs) / 1e6 / wall;
          const outcome: StormOutcome = {
            label: spec.label,
            connected: r.ok,
            failed: r.failed,
            errors: r.errors,
            elapsedMs: r.elapsedMs,
            handshakesPerSec: r.elapsedMs > 0 ? r.ok / (r.elapsedMs / 1000) : 0,
            p50Ms: r.latency.quantileUs(0.5) / 1000,
            p99Ms: r.latency.quantileUs(0.99) / 1000,
            maxMs: r.latency.maxUs / 1000,
            serverCpu,
            serverCpuMsPer1000: r.ok > 0 ? (serverSeconds * 1000 * 1000) / r.ok : NaN,
            serverSysMsPer1000: r.ok > 0 ? ((c1.system - c0.system) * 1000 * 1000) / r.ok : NaN,
            clientCpu,
            machineBusy: machine.busyShare,
            softirqCpu: machine.softirqCores,
            otherCpu: Math.max(0, machine.busyCores - machine.softirqCores - serverCpu - clientCpu - (self.user + self.system) / 1e6 / wall),
          };
          list.push(outcome);
          ctx.log(
            `  ${spec.label} storm ${round + 1}: ${outcome.connected} handshakes in ${(outcome.elapsedMs / 1000).toFixed(2)} s = ` +
              `${Math.round(outcome.handshakesPerSec)}/s, server CPU ${(outcome.serverCpu * 100).toFixed(0)} %, ` +
              `load ${(outcome.clientCpu * 100).toFixed(0)} %, softirq ${(outcome.softirqCpu * 100).toFixed(0)} %, other ${(outcome.otherCpu * 100).toFixed(0)} %`,
          );
          if (outcome.connected < connections) errors.push(`${spec.label} storm ${round + 1}: ${outcome.failed} connections failed ${JSON.stringify(outcome.errors)}`);
        }
        return list;
      });
      const sorted = [...outcomes].sort((a, b) => a.handshakesPerSec - b.handshakesPerSec);
      runs.push({ label: spec.label, rounds: outcomes, median: sorted[Math.floor(sorted.length / 2)] });
    }
    const labels = runs.map((r) => r.label);
    const m = runs.map((r) => r.median);
    const table = comparison(labels, [
      { name: 'handshakes completed (per storm)', values: m.map((o) => o.connected), format: int },
      { name: 'storm duration (s)', values: m.map((o) => o.elapsedMs / 1000), format: (v) => v.toFixed(2) },
      { name: 'handshakes/s (median storm)', values: m.map((o) => o.handshakesPerSec), format: rate },
      { name: 'handshakes/s, slowest storm', values: runs.map((r) => Math.min(...r.rounds.map((o) => o.handshakesPerSec))), format: rate },
      { name: 'handshakes/s, fastest storm', values: runs.map((r) => Math.max(...r.rounds.map((o) => o.handshakesPerSec))), format: rate },
      { name: 'connect→greeting p50 (ms)', values: m.map((o) => o.p50Ms), format: ms },
      { name: 'connect→greeting p99 (ms)', values: m.map((o) => o.p99Ms), format: ms },
      { name: 'connect→greeting max (ms)', values: m.map((o) => o.maxMs), format: ms },
      { name: 'server CPU (% of a core)', values: m.map((o) => o.serverCpu), format: pct },
      { name: 'server CPU per 1,000 handshakes (ms, lower is better)', values: m.map((o) => o.serverCpuMsPer1000), format: (v) => v.toFixed(1) },
      { name: '… of which user space (ms)', values: m.map((o) => o.serverCpuMsPer1000 - o.serverSysMsPer1000), format: (v) => v.toFixed(1) },
      { name: '… of which kernel (ms)', values: m.map((o) => o.serverSysMsPer1000), format: (v) => v.toFixed(1) },
      { name: 'load clients CPU', values: m.map((o) => o.clientCpu), format: pct },
      { name: 'kernel softirq (% of a core)', values: m.map((o) => o.softirqCpu), format: pct },
      { name: 'other processes (% of a core)', values: m.map((o) => o.otherCpu), format: pct },
      { name: 'machine busy (both cores)', values: m.map((o) => o.machineBusy), format: pct },
    ]);
    const herald = runs.find((r) => r.label === 'Herald')?.median;
    const uws = runs.find((r) => r.label === UWS_LABEL)?.median;
    const targets = [
      ratio('server CPU per 1,000 handshakes Herald/uWS.js', herald?.serverCpuMsPer1000, uws?.serverCpuMsPer1000, { op: '≤', bound: 1.2 }),
      ratio('handshakes/s Herald/uWS.js (bound by the load client)', herald?.handshakesPerSec, uws?.handshakesPerSec, { op: '≥', bound: 1 }),
    ];
    return {
      ...table,
      tables: [ratiosTable('Issue 15 targets (median storms):', targets)],
      targets,
      params: { connections, processes, inFlight, rounds, ...runParams() },
      details: runs,
      notes: [
        'A handshake is complete when the 101 response and the 20000 greeting have arrived.',
        `Each server gets ${rounds} storm(s); the columns show the median storm (by handshakes/s) unless a row says otherwise.`,
      ],
      errors,
    };
  },
};
