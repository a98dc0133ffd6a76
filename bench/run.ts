/**
 * Entry point of `npm run bench` (built to dist/bench/run.js).
 *
 *   npm run bench                     every registered scenario
 *   npm run bench -- parser           only the named scenarios, in the order given
 *   npm run bench -- --quick          short smoke run (seconds; numbers only indicative)
 *   npm run bench -- --json           print only the JSON document on stdout
 *   npm run bench -- --out FILE       write the JSON there instead of bench/results/latest.json
 *   npm run bench -- --list           list the scenarios
 *   npm run bench -- --charts DIR     write the SVG charts there (default: docs/bench for a full run, none for --quick)
 *   npm run bench -- --no-charts      write no chart
 *
 * Exit status: 0 when every scenario succeeded, 1 when one failed, 2 on bad usage.
 */
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadavg } from 'node:os';
import { SCENARIOS } from './scenarios.js';
import { environment, exposeGc } from './lib/env.js';
import { renderTable } from './lib/format.js';
import { writeCharts } from './lib/bench-charts.js';
import { uwsBinaryInUse } from './net/servers.js';
import type { Result, RunContext, Scenario } from './lib/types.js';

/** Repository root: this file runs as <root>/dist/bench/run.js. */
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const DEFAULT_OUT = resolve(ROOT, 'bench', 'results', 'latest.json');
const DEFAULT_CHARTS = resolve(ROOT, 'docs', 'bench');

interface Options {
  names: string[];
  json: boolean;
  quick: boolean;
  out: string;
  list: boolean;
  /** Where the SVG charts go; null: none. undefined: the default for the kind of run. */
  charts: string | null | undefined;
}

class UsageError extends Error {}

function usage(): string {
  return [
    'usage: npm run bench -- [scenario ...] [--quick] [--json] [--out FILE] [--charts DIR | --no-charts] [--list]',
    '',
    'scenarios:',
    ...SCENARIOS.map((s) => `  ${s.name.padEnd(10)} ${s.description}`),
  ].join('\n');
}

function parseArgs(argv: string[]): Options {
  const options: Options = { names: [], json: false, quick: false, out: DEFAULT_OUT, list: false, charts: undefined };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--json') options.json = true;
    else if (arg === '--quick') options.quick = true;
    else if (arg === '--list') options.list = true;
    else if (arg === '--out') {
      const file = argv[++i];
      if (file === undefined) throw new UsageError('--out needs a file name');
      options.out = resolve(file);
    } else if (arg.startsWith('--out=')) options.out = resolve(arg.slice('--out='.length));
    else if (arg === '--no-charts') options.charts = null;
    else if (arg === '--charts') {
      const dir = argv[++i];
      if (dir === undefined) throw new UsageError('--charts needs a directory');
      options.charts = resolve(dir);
    } else if (arg === '--help' || arg === '-h') throw new UsageError('');
    else if (arg.startsWith('-')) throw new UsageError(`unknown option ${arg}`);
    else options.names.push(arg);
  }
  const known = new Set(SCENARIOS.map((s) => s.name));
  const unknown = options.names.filter((n) => !known.has(n));
  if (unknown.length > 0) throw new UsageError(`unknown scenario ${unknown.join(', ')}`);
  return options;
}

interface ScenarioRecord {
  name: string;
  description: string;
  ok: boolean;
  durationMs: number;
  error?: string;
  result?: Result;
}

async function main(argv: string[]): Promise<number> {
  let options: Options;
  try {
    options = parseArgs(argv);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    if (error.message) console.error(`bench: ${error.message}`);
    console.error(usage());
    return 2;
  }
  if (options.list) {
    for (const s of SCENARIOS) console.log(`${s.name}\t${s.description}`);
    return 0;
  }

  const selected: Scenario[] =
    options.names.length === 0
      ? [...SCENARIOS]
      : options.names.map((n) => SCENARIOS.find((s) => s.name === n) as Scenario);
  const log = options.json ? () => {} : (line: string) => console.log(line);
  const gc = exposeGc();
  const env = environment(gc !== null, ROOT);
  const startedAt = new Date().toISOString();

  log(
    `herald bench${options.quick ? ' (quick)' : ''}: ${selected.map((s) => s.name).join(', ')} — ` +
      `node ${env.node}, ${env.cpus} × ${env.cpuModel}, load ${env.loadavg.join(' ')}`,
  );
  if (env.git?.srcDirty) log(`note: src/ has uncommitted changes; measuring the working tree, not ${env.git.commit.slice(0, 7)}`);
  const records: ScenarioRecord[] = [];
  for (const scenario of selected) {
    const ctx: RunContext = { quick: options.quick, log, gc };
    log(`[${scenario.name}] ${scenario.description}`);
    const t0 = performance.now();
    try {
      const result = await scenario.run(ctx);
      const durationMs = Math.round(performance.now() - t0);
      const ok = (result.errors ?? []).length === 0;
      records.push({ name: scenario.name, description: scenario.description, ok, durationMs, result });
      log(`[${scenario.name}] ${ok ? 'done' : 'done WITH ERRORS'} in ${(durationMs / 1000).toFixed(1)} s`);
      if (!ok && options.json) for (const e of result.errors ?? []) console.error(`[${scenario.name}] FAILED: ${e}`);
    } catch (error) {
      const durationMs = Math.round(performance.now() - t0);
      const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
      records.push({ name: scenario.name, description: scenario.description, ok: false, durationMs, error: message });
      if (options.json) console.error(`[${scenario.name}] FAILED: ${message}`);
      else log(`[${scenario.name}] FAILED: ${message}`);
    }
  }

  const document = {
    schema: 1,
    startedAt,
    command: ['node', 'dist/bench/run.js', ...argv].join(' '),
    quick: options.quick,
    environment: env,
    /** Load average when the run ended (the start's is in environment.loadavg): a jump means interference. */
    loadavgAtEnd: loadavg().map((l) => Math.round(l * 100) / 100),
    /** The uWebSockets.js binary the uWS.js contestant ran (stock or patched), when one ran. */
    uwsBinary: uwsBinaryInUse() ?? null,
    scenarios: records,
  };
  const text = `${JSON.stringify(document, null, 2)}\n`;
  mkdirSync(dirname(options.out), { recursive: true });
  const tmp = `${options.out}.${process.pid}.tmp`;
  writeFileSync(tmp, text);
  renameSync(tmp, options.out);
  const chartsDir = options.charts === undefined ? (options.quick ? null : DEFAULT_CHARTS) : options.charts;
  const charts = chartsDir === null ? [] : writeCharts(document, chartsDir);

  if (options.json) {
    process.stdout.write(text);
  } else {
    for (const r of records) {
      console.log(`\n== ${r.name}${options.quick ? ' (quick run: indicative only)' : ''} ==`);
      if (!r.result) {
        console.log('FAILED (see above)');
        continue;
      }
      console.log(renderTable(r.result.columns, r.result.rows));
      for (const table of r.result.tables ?? []) {
        console.log(`\n${table.title}`);
        console.log(renderTable(table.columns, table.rows));
      }
      for (const note of r.result.notes ?? []) console.log(`  ${note}`);
      for (const error of r.result.errors ?? []) console.log(`  FAILED: ${error.split('\n')[0]}`);
    }
    const uws = uwsBinaryInUse();
    if (uws !== undefined) console.log(`\nuWS.js contestant: ${uws.version}, ${uws.kind} binary ${uws.path}`);
    console.log(`\nJSON written to ${options.out}`);
    for (const chart of charts) console.log(`chart written to ${chart}`);
  }
  return records.every((r) => r.ok) ? 0 : 1;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  },
);
