#!/usr/bin/env node
// Runs the compiled test files (dist/test/**/*.test.js) with node:test.
//
// Two groups:
// - unit: files that import no I/O (no node:net/http/https/http2/tls/dgram/
//   cluster/child_process, no test helper, no ws, ioredis, grpc or browser):
//   they run in parallel, one process per core;
// - integration: everything else (they bind ports, start processes, Redis,
//   Chromium): one file at a time, after the unit files.
//
// `--unit` runs only the unit group (`npm run test:unit`). Other arguments are
// substrings that filter the file list, e.g. `npm test -- frame-parser`.
//
// Transports: the integration files of the gateway, e2e, limits, client and sse
// suites then run a second time with HERALD_TEST_TRANSPORT=net (the first run
// serves on raw TCP handles, see test/helpers/server.ts) — always in a full
// run, and with filters only when `--transport-net` is given.
// The run fails if a test changed a tracked file (tests write to temp dirs).
//
// Lanes: without --timings, the net pass runs beside the raw integration pass
// (two processes, one file at a time each, on two cores); its output goes to a
// temp file, printed when it ends. Files that bind fixed ports, start
// processes or touch shared services run in the net pass only after the raw
// pass is over (NET_AFTER), so the two lanes never share a port or a service.
//
// `--timings` ends the run with the slowest files: the serial groups then run
// one `node --test` process per file (each file had its own process anyway),
// timed by the wall clock; unit files, still in parallel, by the time in their
// top-level tests (scripts/test-timings-reporter.mjs).
import { closeSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

function collect(dir, out) {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) collect(path, out);
    else if (name.endsWith('.test.js')) out.push(path);
  }
  return out;
}

const IO_IMPORT =
  /from ['"](?:node:)?(?:net|http|https|http2|tls|dgram|cluster|child_process)['"]|from ['"](?:\.\.\/)+helpers\/|from ['"](?:ws|ioredis|@grpc\/[\w-]+|playwright-core)['"]/;

/** A unit file imports nothing that does I/O (see above). */
function isUnit(file) {
  return !IO_IMPORT.test(readFileSync(file, 'utf8'));
}

const args = process.argv.slice(2);
const unitOnly = args.includes('--unit');
const timings = args.includes('--timings');
const filters = args.filter((a) => a !== '--unit' && a !== '--transport-net' && a !== '--timings');
const netPass = !unitOnly && (filters.length === 0 || args.includes('--transport-net'));
const files = collect('dist/test', [])
  .filter((f) => filters.length === 0 || filters.some((s) => f.includes(s)))
  .sort();
if (files.length === 0) {
  console.error('no test files matched');
  process.exit(1);
}
const unit = files.filter(isUnit);
const integration = unitOnly ? [] : files.filter((f) => !isUnit(f));
/** Suites that serve connections through the test helpers, so run again on the other transport. */
const BOTH_TRANSPORTS = /^dist\/test\/(?:gateway|e2e|limits|client|sse)\//;
const onNet = netPass ? integration.filter((f) => BOTH_TRANSPORTS.test(f.split('\\').join('/'))) : [];

/** Net-pass files that start processes or bind fixed ports: run after the raw pass, not beside it. */
const NET_AFTER = /\/(?:readme-snippet|transport-choice|python-client|sse-workers)\.test\.js$/;

/**
 * Start `group` in the background (one file at a time), its output into a temp
 * file; resolves with its status once it has ended and its output is printed.
 */
function startLane(group, env, label) {
  if (group.length === 0) return Promise.resolve(0);
  const dir = mkdtempSync(join(tmpdir(), 'herald-lane-'));
  const out = join(dir, 'out.txt');
  const fd = openSync(out, 'w');
  const child = spawn(process.execPath, ['--test', '--test-concurrency=1', ...group], { stdio: ['ignore', fd, fd], env });
  closeSync(fd);
  return new Promise((resolve) => {
    child.once('exit', (code, signal) => {
      console.error(`--- ${label} (${group.length} files, run beside the raw pass) ---`);
      process.stdout.write(readFileSync(out));
      rmSync(dir, { recursive: true, force: true });
      resolve(code ?? (signal ? 1 : 0));
    });
  });
}

/** Tracked files that differ from HEAD (null outside a git checkout). */
function changedTrackedFiles() {
  const git = spawnSync('git', ['diff', '--name-only', 'HEAD'], { encoding: 'utf8' });
  return git.status === 0 ? new Set(git.stdout.split('\n').filter(Boolean)) : null;
}

/** With --timings: { file, seconds, how } per file run. */
const timed = [];
const TIMINGS_REPORTER = fileURLToPath(new URL('./test-timings-reporter.mjs', import.meta.url));

function runGroup(group, concurrency, env = process.env, label = 'unit') {
  if (group.length === 0) return 0;
  if (timings && concurrency === 1) return runTimedOneByOne(group, env, label);
  const reporters = [];
  let timingsDir;
  if (timings) {
    // The usual reporter on stdout (node's default), and the per-file times into a file.
    timingsDir = mkdtempSync(join(tmpdir(), 'herald-timings-'));
    reporters.push(
      `--test-reporter=${process.stdout.isTTY ? 'spec' : 'tap'}`, '--test-reporter-destination=stdout',
      `--test-reporter=${TIMINGS_REPORTER}`, `--test-reporter-destination=${join(timingsDir, 'times.jsonl')}`,
    );
  }
  const result = spawnSync(process.execPath, ['--test', `--test-concurrency=${concurrency}`, ...reporters, ...group], { stdio: 'inherit', env });
  if (timingsDir !== undefined) {
    let lines = [];
    try {
      lines = readFileSync(join(timingsDir, 'times.jsonl'), 'utf8').split('\n').filter(Boolean);
    } catch {
      // No file: the run died before reporting.
    }
    for (const line of lines) {
      const { file, ms } = JSON.parse(line);
      timed.push({ file: file.slice(file.indexOf('dist/test/')), seconds: ms / 1000, how: `${label}, test time` });
    }
    rmSync(timingsDir, { recursive: true, force: true });
  }
  return result.status ?? 1;
}

/** A serial group, one process per file, each timed by the wall clock; the first failure's status. */
function runTimedOneByOne(group, env, label) {
  let status = 0;
  for (const file of group) {
    const began = process.hrtime.bigint();
    const result = spawnSync(process.execPath, ['--test', '--test-concurrency=1', file], { stdio: 'inherit', env });
    timed.push({ file, seconds: Number(process.hrtime.bigint() - began) / 1e9, how: `${label}, wall` });
    if (status === 0) status = result.status ?? 1;
  }
  return status;
}

/** The slowest files of the run, slowest first, and each group's total. */
function printTimings(limit = 25) {
  if (timed.length === 0) return;
  const totals = new Map();
  for (const { seconds, how } of timed) totals.set(how, (totals.get(how) ?? 0) + seconds);
  const lines = [...timed]
    .sort((a, b) => b.seconds - a.seconds)
    .slice(0, limit)
    .map(({ file, seconds, how }) => `${seconds.toFixed(1).padStart(7)} s  ${how.padEnd(22)} ${file}`);
  const sums = [...totals].map(([how, seconds]) => `${how}: ${seconds.toFixed(1)} s`).join('; ');
  console.error(`slowest test files (of ${timed.length}; ${sums}):\n${lines.join('\n')}`);
}

const before = changedTrackedFiles();
const started = Date.now();
const unitStatus = runGroup(unit, Math.max(1, availableParallelism()));
const unitSeconds = ((Date.now() - started) / 1000).toFixed(1);
const firstTransport = process.env.HERALD_TEST_TRANSPORT || 'raw';
const netEnv = { ...process.env, HERALD_TEST_TRANSPORT: 'net' };
const besideLane = timings ? [] : onNet.filter((f) => !NET_AFTER.test(f));
const afterLane = onNet.filter((f) => !besideLane.includes(f));
const lane = startLane(besideLane, netEnv, 'net pass (HERALD_TEST_TRANSPORT=net)');
const integrationStatus = runGroup(integration, 1, process.env, 'integration');
const laneStatus = await lane;
if (afterLane.length > 0) console.error(`again on the net transport (HERALD_TEST_TRANSPORT=net): ${afterLane.length} files`);
const netStatus = runGroup(afterLane, 1, netEnv, 'net pass') || laneStatus;
if (timings) printTimings();
const seconds = ((Date.now() - started) / 1000).toFixed(1);
const verdict = (status) => (status === 0 ? 'passed' : 'FAILED');
console.error(
  `test files: ${unit.length} unit (parallel, ${unitSeconds} s)` +
    (unitOnly ? '' : `, ${integration.length} integration (serial, ${firstTransport} transport)`) +
    (netPass ? `, ${onNet.length} of them again on net (${besideLane.length} beside the raw pass)` : unitOnly ? '' : ' (no net pass: filtered; add --transport-net)') +
    (unitOnly ? '' : `; ${seconds} s in all`) +
    `; unit ${verdict(unitStatus)}` +
    (unitOnly ? '' : `, integration ${verdict(integrationStatus)}`) +
    (netPass ? `, net pass ${verdict(netStatus)}` : ''),
);
// Tests never write tracked files: a run that changed one fails, naming it.
const after = changedTrackedFiles();
const written = before === null || after === null ? [] : [...after].filter((f) => !before.has(f));
if (written.length > 0) {
  console.error(`tests changed tracked files (write to a temporary directory instead): ${written.join(', ')}`);
  process.exit(1);
}
process.exit([unitStatus, integrationStatus, netStatus].find((status) => status !== 0) ?? 0);
