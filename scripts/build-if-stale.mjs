#!/usr/bin/env node
// `npm start`'s prestart: compile only when dist/ is missing or older than the
// sources. `npm ci` has already built (the prepare script), so a start normally
// costs a walk over src/ (a few milliseconds), not a full tsc run (~10 s).
// After editing src/, `npm start` rebuilds by itself.
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));

function mtime(path) {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return undefined;
  }
}

/** Newest modification time of a file under `dir`. */
function newest(dir) {
  let latest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    latest = Math.max(latest, entry.isDirectory() ? newest(path) : (mtime(path) ?? 0));
  }
  return latest;
}

const built = mtime(join(root, 'dist', 'src', 'main.js'));
const sources = Math.max(newest(join(root, 'src')), mtime(join(root, 'tsconfig.json')) ?? 0);
if (built !== undefined && built >= sources) process.exit(0);

process.stderr.write(built === undefined ? 'herald: not built yet, building…\n' : 'herald: src/ changed since the last build, building…\n');
const result = spawnSync('npm', ['run', 'build'], { cwd: root, stdio: 'inherit', shell: process.platform === 'win32' });
process.exit(result.status ?? 1);
