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
// The run fails if a test changed a tracked file (tests write to temp dirs).
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

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
const filters = args.filter((a) => a !== '--unit');
const files = collect('dist/test', [])
  .filter((f) => filters.length === 0 || filters.some((s) => f.includes(s)))
  .sort();
if (files.length === 0) {
  console.error('no test files matched');
  process.exit(1);
}
const unit = files.filter(isUnit);
const integration = unitOnly ? [] : files.filter((f) => !isUnit(f));

/** Tracked files that differ from HEAD (null outside a git checkout). */
function changedTrackedFiles() {
  const git = spawnSync('git', ['diff', '--name-only', 'HEAD'], { encoding: 'utf8' });
  return git.status === 0 ? new Set(git.stdout.split('\n').filter(Boolean)) : null;
}

function runGroup(group, concurrency) {
  if (group.length === 0) return 0;
  const result = spawnSync(process.execPath, ['--test', `--test-concurrency=${concurrency}`, ...group], { stdio: 'inherit' });
  return result.status ?? 1;
}

const before = changedTrackedFiles();
const started = Date.now();
const unitStatus = runGroup(unit, Math.max(1, availableParallelism()));
const unitSeconds = ((Date.now() - started) / 1000).toFixed(1);
const integrationStatus = runGroup(integration, 1);
const seconds = ((Date.now() - started) / 1000).toFixed(1);
console.error(
  `test files: ${unit.length} unit (parallel, ${unitSeconds} s)` +
    (unitOnly ? '' : `, ${integration.length} integration (serial); ${seconds} s in all`) +
    `; unit ${unitStatus === 0 ? 'passed' : 'FAILED'}` +
    (unitOnly ? '' : `, integration ${integrationStatus === 0 ? 'passed' : 'FAILED'}`),
);
// Tests never write tracked files: a run that changed one fails, naming it.
const after = changedTrackedFiles();
const written = before === null || after === null ? [] : [...after].filter((f) => !before.has(f));
if (written.length > 0) {
  console.error(`tests changed tracked files (write to a temporary directory instead): ${written.join(', ')}`);
  process.exit(1);
}
process.exit(unitStatus !== 0 ? unitStatus : integrationStatus);
