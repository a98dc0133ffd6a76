#!/usr/bin/env node
// Runs every compiled test file (dist/test/**/*.test.js) with node:test, one
// file at a time (tests bind ports and start processes), and fails the run if
// a test changed a tracked file. Extra arguments are
// substrings that filter the file list, e.g. `npm test -- frame-parser`.
import { readdirSync, statSync } from 'node:fs';
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

const filters = process.argv.slice(2);
const files = collect('dist/test', [])
  .filter((f) => filters.length === 0 || filters.some((s) => f.includes(s)))
  .sort();
if (files.length === 0) {
  console.error('no test files matched');
  process.exit(1);
}
/** Tracked files that differ from HEAD (null outside a git checkout). */
function changedTrackedFiles() {
  const git = spawnSync('git', ['diff', '--name-only', 'HEAD'], { encoding: 'utf8' });
  return git.status === 0 ? new Set(git.stdout.split('\n').filter(Boolean)) : null;
}

const before = changedTrackedFiles();
const result = spawnSync(process.execPath, ['--test', '--test-concurrency=1', ...files], { stdio: 'inherit' });
// Tests never write tracked files: a run that changed one fails, naming it.
const after = changedTrackedFiles();
const written = before === null || after === null ? [] : [...after].filter((f) => !before.has(f));
if (written.length > 0) {
  console.error(`tests changed tracked files (write to a temporary directory instead): ${written.join(', ')}`);
  process.exit(1);
}
process.exit(result.status ?? 1);
