/**
 * Preloaded into a Herald started by bench/tools/idle-memory.ts (never part
 * of Herald itself): `node --expose-gc --import <this> dist/src/main.js …`.
 * On SIGUSR2 it runs full GCs (a second apart), prints one line `gc-hook {json}` with the
 * process's memory after them, and — when GC_HOOK_SNAPSHOT_DIR is set —
 * writes a heap snapshot there and names it in the line. A signal keeps the
 * server's code untouched; a preload keeps the hook out of production runs.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeHeapSnapshot } from 'node:v8';

const exposedGc = (globalThis as { gc?: () => void }).gc;
if (exposedGc === undefined) throw new Error('gc-hook needs --expose-gc');
const gc: () => void = exposedGc;
const snapshotDir = process.env.GC_HOOK_SNAPSHOT_DIR;
let count = 0;

function vmRss(): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
  return m === null ? NaN : Number(m[1]) * 1024;
}

process.on('SIGUSR2', () => {
  // Two passes a second apart: the first may only schedule finalizers / weak callbacks that the
  // second collects, and V8 sweeps and releases freed pages concurrently, after gc() returns.
  gc();
  setTimeout(report, 1000);
});

function report(): void {
  gc();
  const mem = process.memoryUsage();
  const out: Record<string, unknown> = { n: ++count, heapUsed: mem.heapUsed, heapTotal: mem.heapTotal, external: mem.external, arrayBuffers: mem.arrayBuffers, rss: vmRss() };
  if (snapshotDir !== undefined) out.snapshot = writeHeapSnapshot(join(snapshotDir, `herald-${process.pid}-${count}.heapsnapshot`));
  process.stdout.write(`gc-hook ${JSON.stringify(out)}\n`);
}
