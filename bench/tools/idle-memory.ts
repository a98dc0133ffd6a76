/**
 * What an idle subscribed connection costs Herald, measured with forced GCs
 * rather than RSS alone (S1 reads RSS without a GC, so it carries ±50 B of
 * young-generation noise). Herald runs from dist with the memory engine and
 * `--max-semi-space-size=1` as in S1, plus `--expose-gc` and the bench-only
 * preload gc-hook.ts; the connections come from the load processes of the
 * network scenarios. At each step (default 5,000 then 10,000 connections, all
 * subscribed to `idle`), and once before connecting, the server runs full
 * GCs and reports heapUsed and VmRSS. JS heap per connection is the
 * difference between the last two steps divided by the connections added (so
 * start-up memory and the connect burst cancel out); RSS per connection is
 * counted from no connections, as S1 does, because RSS between two steps is
 * not monotone (memory freed after the first burst is reused by the next).
 *
 * With `--snapshots` it also writes a heap snapshot at each step and prints a
 * breakdown of the difference by constructor/type: objects and bytes (V8 self
 * size) per added connection. Snapshot writing grows RSS itself, so the RSS
 * figure of a `--snapshots` run is not comparable; measure RSS without it.
 *
 *   node dist/bench/tools/idle-memory.js [--runs 3] [--steps 5000,10000] [--snapshots [--keep-snapshots DIR]] [--top 30]
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { sleep } from '../lib/children.js';
import { HERALD_NODE_FLAGS } from '../lib/herald-flags.js';
import { withSession } from '../net/common.js';
import type { RunningServer, ServerSpec } from '../net/servers.js';

interface GcReport {
  n: number;
  heapUsed: number;
  heapTotal: number;
  external: number;
  arrayBuffers: number;
  rss: number;
  snapshot?: string;
}

interface Group {
  count: number;
  bytes: number;
}

function option(name: string, fallback: string): string {
  const i = process.argv.indexOf(name);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}

const runs = Number(option('--runs', '1'));
const steps = option('--steps', '5000,10000').split(',').map(Number);
const withSnapshots = process.argv.includes('--snapshots');
/** Keep the snapshots there (for a closer look in DevTools) instead of a temporary directory removed after the run. */
const keepDir = option('--keep-snapshots', '');
const top = Number(option('--top', '30'));
if (steps.length < 2 || steps.some((s, i) => !(s > 0) || (i > 0 && s <= steps[i - 1]))) throw new Error('--steps needs at least two increasing counts');

const hook = pathToFileURL(fileURLToPath(new URL('./gc-hook.js', import.meta.url))).href;
process.env.BENCH_HERALD_NODE_FLAGS = [...HERALD_NODE_FLAGS, '--expose-gc', '--import', hook].join(' ');

async function gcReport(server: RunningServer, n: number): Promise<GcReport> {
  process.kill(server.pid, 'SIGUSR2');
  const deadline = Date.now() + 120_000;
  const pattern = new RegExp(`^gc-hook (\\{"n":${n},.*\\})$`, 'm');
  for (;;) {
    const m = pattern.exec(server.output());
    if (m !== null) return JSON.parse(m[1]) as GcReport;
    if (!server.alive()) throw new Error(`server died:\n${server.output()}`);
    if (Date.now() > deadline) throw new Error(`no gc-hook report ${n}:\n${server.output()}`);
    await sleep(100);
  }
}

/** Self sizes of a heap snapshot's nodes grouped by `type:name` (strings, code and numbers by type only). */
function groups(file: string): Map<string, Group> {
  const snap = JSON.parse(readFileSync(file, 'utf8')) as {
    snapshot: { meta: { node_fields: string[]; node_types: [string[]] } };
    nodes: number[];
    strings: string[];
  };
  const fields = snap.snapshot.meta.node_fields;
  const types = snap.snapshot.meta.node_types[0];
  const width = fields.length;
  const iType = fields.indexOf('type');
  const iName = fields.indexOf('name');
  const iSize = fields.indexOf('self_size');
  const out = new Map<string, Group>();
  const byTypeOnly = new Set(['string', 'concatenated string', 'sliced string', 'code', 'number', 'bigint', 'symbol']);
  for (let i = 0; i < snap.nodes.length; i += width) {
    const type = types[snap.nodes[i + iType]];
    const key = byTypeOnly.has(type) ? type : `${type}:${snap.strings[snap.nodes[i + iName]].slice(0, 60)}`;
    let g = out.get(key);
    if (g === undefined) out.set(key, (g = { count: 0, bytes: 0 }));
    g.count++;
    g.bytes += snap.nodes[i + iSize];
  }
  return out;
}

function breakdown(before: Map<string, Group>, after: Map<string, Group>, added: number): string {
  const rows: { key: string; count: number; bytes: number }[] = [];
  for (const [key, g] of after) {
    const b = before.get(key) ?? { count: 0, bytes: 0 };
    rows.push({ key, count: (g.count - b.count) / added, bytes: (g.bytes - b.bytes) / added });
  }
  for (const [key, b] of before) if (!after.has(key)) rows.push({ key, count: -b.count / added, bytes: -b.bytes / added });
  rows.sort((x, y) => Math.abs(y.bytes) - Math.abs(x.bytes));
  const total = rows.reduce((a, r) => a + r.bytes, 0);
  const lines = [`  ${'objects/conn'.padStart(12)} ${'B/conn'.padStart(8)}  type:name   (total ${total.toFixed(1)} B/conn)`];
  for (const r of rows.slice(0, top)) lines.push(`  ${r.count.toFixed(2).padStart(12)} ${r.bytes.toFixed(1).padStart(8)}  ${r.key}`);
  return lines.join('\n');
}

const results: { heap: number; rss: number; external: number }[] = [];
for (let run = 1; run <= runs; run++) {
  const dir = !withSnapshots ? undefined : keepDir !== '' ? keepDir : mkdtempSync(join(tmpdir(), 'herald-idle-mem-'));
  const env: Record<string, string> = dir === undefined ? {} : { GC_HOOK_SNAPSHOT_DIR: dir };
  const spec: ServerSpec = { kind: 'herald', label: 'Herald', env };
  try {
    const reports: { connections: number; report: GcReport }[] = await withSession(spec, { processes: 2, pusher: false }, async ({ server, fleet }) => {
      // Warm the paths once (as S1 does), so the first step does not carry lazily compiled code.
      await fleet.connect(server, 1, 1);
      await fleet.subscribe({ kind: 'topic', topic: 'idle' });
      await fleet.closeAll();
      await sleep(500);
      // Step 0: no connections, after the warm-up (what S1 calls "before").
      const out: { connections: number; report: GcReport }[] = [{ connections: 0, report: await gcReport(server, 1) }];
      let open = 0;
      for (const [i, target] of steps.entries()) {
        const c = await fleet.connect(server, target - open, 256);
        if (c.failed > 0) throw new Error(`${c.failed} connections failed ${JSON.stringify(c.errors)}`);
        open += c.ok;
        const sub = await fleet.subscribe({ kind: 'topic', topic: 'idle' });
        if (sub.received < open) throw new Error(`only ${sub.received}/${open} subscribed`);
        await sleep(2000);
        out.push({ connections: open, report: await gcReport(server, i + 2) });
      }
      return out;
    });
    const zero = reports[0];
    const first = reports[reports.length - 2];
    const last = reports[reports.length - 1];
    const added = last.connections - first.connections;
    const per = (k: 'heapUsed' | 'rss' | 'external') => (last.report[k] - first.report[k]) / added;
    // RSS between two steps is not monotone (the first burst's freed memory stays with the process and
    // the next burst reuses it), so RSS is counted from no connections, as S1 does, but after a GC.
    const rssFromZero = (last.report.rss - zero.report.rss) / last.connections;
    const heapFromZero = (last.report.heapUsed - zero.report.heapUsed) / last.connections;
    results.push({ heap: per('heapUsed'), rss: rssFromZero, external: per('external') });
    for (const r of reports) {
      const m = r.report;
      console.log(`run ${run}: ${r.connections} conns: heapUsed ${(m.heapUsed / 2 ** 20).toFixed(2)} MiB, external ${(m.external / 2 ** 20).toFixed(2)} MiB, rss ${(m.rss / 2 ** 20).toFixed(2)} MiB`);
    }
    console.log(
      `run ${run}: per connection: JS heap ${per('heapUsed').toFixed(1)} B (${first.connections} → ${last.connections}; ` +
        `${heapFromZero.toFixed(1)} B from 0), external ${per('external').toFixed(1)} B, ` +
        `RSS ${rssFromZero.toFixed(1)} B (0 → ${last.connections}; ${per('rss').toFixed(1)} B ${first.connections} → ${last.connections})` +
        `${withSnapshots ? ' (RSS includes snapshot writing)' : ''}`,
    );
    if (withSnapshots && first.report.snapshot !== undefined && last.report.snapshot !== undefined) {
      console.log(`run ${run}: heap snapshot difference by type:name, per added connection`);
      console.log(breakdown(groups(first.report.snapshot), groups(last.report.snapshot), added));
    }
  } finally {
    if (dir !== undefined && keepDir === '') rmSync(dir, { recursive: true, force: true });
  }
}
if (runs > 1) {
  const fmt = (k: 'heap' | 'rss' | 'external') => results.map((r) => r[k].toFixed(0)).join(', ');
  console.log(`summary over ${runs} runs (B/connection): JS heap between the last two steps [${fmt('heap')}], external [${fmt('external')}], RSS from 0 [${fmt('rss')}]`);
}
