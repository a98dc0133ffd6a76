import { createRequire } from 'node:module';
import { runInNewContext } from 'node:vm';
import { setFlagsFromString } from 'node:v8';
import * as os from 'node:os';
import * as http from 'node:http';
import { readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';

const require = createRequire(import.meta.url);

/** Whether `name` resolves from where `ws` lives (ws loads its optional add-ons that way). */
function resolvableFromWs(name: string): boolean {
  try {
    const wsRequire = createRequire(require.resolve('ws'));
    wsRequire.resolve(name);
    return true;
  } catch {
    return false;
  }
}

function cpuModel(): string {
  try {
    const line = readFileSync('/proc/cpuinfo', 'utf8')
      .split('\n')
      .find((l) => l.startsWith('model name'));
    if (line) return line.slice(line.indexOf(':') + 1).trim();
  } catch {
    // not Linux: fall back to os.cpus()
  }
  return os.cpus()[0]?.model ?? 'unknown';
}

export interface WsInfo {
  version: string;
  /** ws's optional native masking add-on; without it ws unmasks with a JS byte loop. */
  bufferutil: boolean;
  /** ws's optional native UTF-8 validator; without it ws uses `buffer.isUtf8` (Node ≥ 18.14) for ≥ 24 bytes. */
  utf8Validate: boolean;
  /** ws 8.23 first looks for native mask helpers on `node:http` (absent in Node 20). */
  httpWebsocketMask: boolean;
}

export function wsInfo(): WsInfo {
  const pkg = require('ws/package.json') as { version: string };
  return {
    version: pkg.version,
    bufferutil: resolvableFromWs('bufferutil'),
    utf8Validate: resolvableFromWs('utf-8-validate'),
    httpWebsocketMask: typeof (http as unknown as Record<string, unknown>).websocketMask === 'function',
  };
}

export interface GitInfo {
  commit: string;
  /** Uncommitted changes under src/ (the code measured differs from `commit`). */
  srcDirty: boolean;
}

/** The commit measured, when `root` is a git checkout; null otherwise. */
export function gitInfo(root: string): GitInfo | null {
  try {
    const git = (...args: string[]) =>
      execFileSync('git', ['-C', root, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    return { commit: git('rev-parse', 'HEAD'), srcDirty: git('status', '--porcelain', '--', 'src').length > 0 };
  } catch {
    return null;
  }
}

export interface Environment {
  node: string;
  v8: string;
  platform: string;
  arch: string;
  cpuModel: string;
  /** `os.availableParallelism()`, what `nproc` reports. */
  cpus: number;
  totalMemGiB: number;
  loadavg: number[];
  ws: WsInfo;
  gcExposed: boolean;
  git: GitInfo | null;
}

export function environment(gcExposed: boolean, root: string): Environment {
  return {
    node: process.version,
    v8: process.versions.v8,
    platform: process.platform,
    arch: process.arch,
    cpuModel: cpuModel(),
    cpus: os.availableParallelism(),
    totalMemGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    loadavg: os.loadavg().map((l) => Math.round(l * 100) / 100),
    ws: wsInfo(),
    gcExposed,
    git: gitInfo(root),
  };
}

/**
 * A full-GC function, so scenarios can start each timed round from a clean
 * heap. Uses `global.gc` when node runs with `--expose-gc`, else turns the
 * flag on at run time (the documented `v8.setFlagsFromString` trick).
 */
export function exposeGc(): (() => void) | null {
  const existing = (globalThis as { gc?: () => void }).gc;
  if (typeof existing === 'function') return existing;
  try {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as unknown;
    return typeof gc === 'function' ? (gc as () => void) : null;
  } catch {
    return null;
  }
}
