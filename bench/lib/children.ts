/**
 * Every child process the network scenarios start (servers, load clients,
 * pushers) is registered here, so that none outlives the bench: on normal
 * exit, on an uncaught failure and on SIGINT/SIGTERM, each one still running
 * is killed by its own PID (never by name).
 */
import type { ChildProcess } from 'node:child_process';

const live = new Set<ChildProcess>();
let installed = false;

function running(child: ChildProcess): boolean {
  return child.pid !== undefined && child.exitCode === null && child.signalCode === null;
}

/** SIGKILL every registered child that is still running. */
export function killAllChildren(): void {
  for (const child of live) {
    if (!running(child)) continue;
    try {
      process.kill(child.pid as number, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

function install(): void {
  if (installed) return;
  installed = true;
  process.on('exit', killAllChildren);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      killAllChildren();
      process.exit(signal === 'SIGINT' ? 130 : 143);
    });
  }
}

/** Register `child` for cleanup; it is forgotten once it exits. */
export function track<T extends ChildProcess>(child: T): T {
  install();
  live.add(child);
  child.once('exit', () => live.delete(child));
  return child;
}

/** Resolves when `child` has exited (at once if it already has). */
export function exited(child: ChildProcess): Promise<void> {
  if (!running(child)) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

/**
 * Stop `child`: `signal` first, SIGKILL if it has not exited after
 * `graceMs`. Resolves once it has exited.
 */
export async function stopChild(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM', graceMs = 3000): Promise<void> {
  if (!running(child)) return;
  const done = exited(child);
  try {
    process.kill(child.pid as number, signal);
  } catch {
    return;
  }
  const timer = setTimeout(() => {
    if (running(child)) {
      try {
        process.kill(child.pid as number, 'SIGKILL');
      } catch {
        // gone
      }
    }
  }, graceMs);
  await done;
  clearTimeout(timer);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
