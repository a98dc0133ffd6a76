/** What the network scenarios S1–S5 share: contestants, the session around one server, tables. */
import { heraldNodeFlags } from '../lib/herald-flags.js';
import type { Column, Row, Table } from '../lib/types.js';
import { LoadFleet } from './fleet.js';
import { fmtRate, type StepOutcome } from './steps.js';
import { heraldSupports, previousHerald, startServer, uwsBinaryInUse, type RunningServer, type ServerSpec } from './servers.js';
import { Worker, childModule } from './worker.js';

export const BASELINE_LABEL = 'ws';
export const UWS_LABEL = 'uWS.js';

/** Merge windows of the merge variants (S2): `BENCH_MERGE_WINDOWS`, comma-separated, else {@link DEFAULT_MERGE_WINDOWS}. */
export const DEFAULT_MERGE_WINDOWS = ['100ms', '500ms'];

export function mergeWindows(): string[] {
  const env = process.env.BENCH_MERGE_WINDOWS;
  if (env === undefined) return DEFAULT_MERGE_WINDOWS;
  return env.split(',').map((w) => w.trim()).filter((w) => w.length > 0);
}

/**
 * Herald (with `heraldArgs`), its merge-window variants when asked, the
 * previous build when `BENCH_PREVIOUS_MAIN` names one (servers.ts), the
 * uWebSockets.js peer, then the ws baseline. `BENCH_ONLY` (comma-separated labels) keeps only those, for
 * experiments; a published run has every contestant.
 */
export function contestants(heraldArgs: string[] = [], options: { mergeVariant?: boolean } = {}): ServerSpec[] {
  const list: ServerSpec[] = [{ kind: 'herald', label: 'Herald', heraldArgs }];
  if (options.mergeVariant && heraldSupports('--merge-window')) {
    for (const window of mergeWindows()) {
      list.push({ kind: 'herald', label: `Herald merge ${window}`, heraldArgs: [...heraldArgs, '--merge-window', window] });
    }
  }
  const previous = previousHerald();
  if (previous !== undefined) list.push({ kind: 'herald', label: previous.label, heraldArgs, main: previous.main });
  list.push({ kind: 'uws', label: UWS_LABEL });
  list.push({ kind: 'ws', label: BASELINE_LABEL });
  const only = process.env.BENCH_ONLY?.split(',').map((l) => l.trim());
  return only === undefined ? list : list.filter((s) => only.includes(s.label));
}

export interface Session {
  server: RunningServer;
  fleet: LoadFleet;
  pusher: Worker | undefined;
}

/**
 * Start `spec`'s server, `processes` load clients and (optionally) a pusher
 * aimed at the server's push API; run `body`; then close the clients and stop
 * every process, whatever happened.
 */
export async function withSession<T>(
  spec: ServerSpec,
  options: { processes: number; pusher: boolean; pusherSockets?: number; load?: 'websocket' | 'sse' },
  body: (session: Session) => Promise<T>,
): Promise<T> {
  const server = await startServer(spec);
  let fleet: LoadFleet | undefined;
  let pusher: Worker | undefined;
  try {
    fleet = await LoadFleet.start(options.processes, options.load);
    if (options.pusher) {
      pusher = new Worker('pusher', childModule('../load/pusher.js'));
      await pusher.request('init', { host: '127.0.0.1', port: server.apiPort, sockets: options.pusherSockets ?? 4 }, 10_000);
    }
    const result = await body({ server, fleet, pusher });
    if (!server.alive()) throw new Error(`${spec.label} died during the run:\n${server.output()}`);
    return result;
  } finally {
    await fleet?.closeAll().catch(() => undefined);
    await fleet?.stop().catch(() => undefined);
    await pusher?.stop().catch(() => undefined);
    await server.stop().catch(() => undefined);
  }
}

/** Process and flag details recorded in each scenario's params. */
export function runParams(): Record<string, unknown> {
  return {
    heraldNodeFlags: heraldNodeFlags(),
    heraldMergeWindowSupported: heraldSupports('--merge-window'),
    loadTransport: process.env.BENCH_LOAD_TRANSPORT === 'net' ? 'net' : 'raw',
    uwsBinary: uwsBinaryInUse() ?? null,
  };
}

export interface Metric {
  name: string;
  /** Values per contestant, in the order of the labels; null when not measured. */
  values: (number | null | undefined)[];
  format(value: number): string;
}

/** A further ratio column of {@link comparison}: the value of contestant `of` over that of `to` (labels). */
export interface ExtraRatio {
  label: string;
  of: string;
  to: string;
}

/**
 * Summary table: one row per metric, a column per contestant, and each Herald
 * variant / ws, then the `extra` ratios (e.g. one Herald variant over another).
 */
export function comparison(labels: string[], metrics: Metric[], extra: ExtraRatio[] = []): { columns: Column[]; rows: Row[] } {
  const base = labels.indexOf(BASELINE_LABEL);
  const columns: Column[] = [{ key: 'metric', label: 'metric' }];
  labels.forEach((l, i) => columns.push({ key: `v${i}`, label: l, format: 'rtext' }));
  const ratios = labels.map((_, i) => i).filter((i) => i !== base);
  for (const i of ratios) columns.push({ key: `r${i}`, label: `${labels[i]}/${BASELINE_LABEL}`, format: 'rtext' });
  extra.forEach((x, k) => columns.push({ key: `x${k}`, label: x.label, format: 'rtext' }));
  const rows = metrics.map((m) => {
    const row: Row = { metric: m.name };
    m.values.forEach((v, i) => (row[`v${i}`] = v === null || v === undefined || !Number.isFinite(v) ? '–' : m.format(v)));
    for (const i of ratios) {
      const a = m.values[i];
      const b = base >= 0 ? m.values[base] : undefined;
      row[`r${i}`] = typeof a === 'number' && typeof b === 'number' && b !== 0 && Number.isFinite(a) && Number.isFinite(b) ? `${(a / b).toFixed(2)}×` : '–';
    }
    extra.forEach((x, k) => {
      const a = m.values[labels.indexOf(x.of)];
      const b = m.values[labels.indexOf(x.to)];
      row[`x${k}`] = typeof a === 'number' && typeof b === 'number' && b !== 0 && Number.isFinite(a) && Number.isFinite(b) ? `${(a / b).toFixed(2)}×` : '–';
    });
    return row;
  });
  return { columns, rows };
}

export const pct = (cores: number): string => `${(cores * 100).toFixed(0)} %`;
export const ms = (v: number): string => (v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2));
export const rate = (v: number): string => fmtRate(v).replace('/s', '');
export const int = (v: number): string => Math.round(v).toLocaleString('en-US');

/**
 * One row per step and contestant, in rate order (a `(halfway)` row is the
 * refinement step run after the first failure). `unit`: the columns speak
 * of deliveries (S2, S4) or pushes (S5).
 */
export function stepsTable(title: string, runs: { label: string; steps: StepOutcome[] }[], unit: 'deliveries' | 'pushes'): Table {
  const columns: Column[] = [
    { key: 'server', label: 'server' },
    { key: 'offered', label: unit === 'pushes' ? 'offered pushes/s' : 'offered deliv/s', format: 'rtext' },
    ...(unit === 'pushes' ? [{ key: 'accepted', label: 'accepted/s', format: 'rtext' as const }] : [{ key: 'pushes', label: 'pushes/s', format: 'rtext' as const }]),
    { key: 'received', label: 'received/s', format: 'rtext' },
    { key: 'delivered', label: 'deliv %', format: 'rtext' },
    { key: 'p50', label: 'p50 ms', format: 'rtext' },
    { key: 'p99', label: 'p99 ms', format: 'rtext' },
    { key: 'max', label: 'max ms', format: 'rtext' },
    { key: 'serverCpu', label: 'server CPU', format: 'rtext' },
    { key: 'clientCpu', label: 'load CPU', format: 'rtext' },
    { key: 'pusherCpu', label: 'pusher CPU', format: 'rtext' },
    { key: 'softirq', label: 'softirq', format: 'rtext' },
    { key: 'other', label: 'other', format: 'rtext' },
    { key: 'machine', label: 'machine busy', format: 'rtext' },
    { key: 'ok', label: 'sustained' },
  ];
  const rows: Row[] = [];
  for (const run of runs) {
    for (const s of [...run.steps].sort((a, b) => a.pushRate - b.pushRate)) {
      rows.push({
        server: s.refinement ? `${run.label} (halfway)` : run.label,
        offered: rate(s.offeredPerSec),
        pushes: rate(s.sentPerSec),
        accepted: rate(s.acceptedPerSec),
        received: rate(s.receivedPerSec),
        delivered: `${(s.delivered * 100).toFixed(1)}`,
        p50: Number.isFinite(s.p50Ms) ? ms(s.p50Ms) : '–',
        p99: Number.isFinite(s.p99Ms) ? ms(s.p99Ms) : '–',
        max: Number.isFinite(s.maxMs) ? ms(s.maxMs) : '–',
        serverCpu: pct(s.serverCpu),
        clientCpu: pct(s.clientCpu),
        pusherCpu: pct(s.pusherCpu),
        softirq: pct(s.softirqCpu),
        other: pct(s.otherCpu),
        machine: `${(s.machineBusy * 100).toFixed(0)} %`,
        ok: s.sustained ? 'yes' : `no: ${s.reason}`,
      });
    }
  }
  return { title, columns, rows };
}
