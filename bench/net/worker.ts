/** The coordinator side of a child process driven over IPC (load client or pusher). */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { exited, sleep, stopChild, track } from '../lib/children.js';
import type { Answer } from '../load/ipc.js';

/** Compiled module of a child, relative to dist/bench/net/. */
export function childModule(relative: string): string {
  return fileURLToPath(new URL(relative, import.meta.url));
}

export class Worker {
  readonly child: ChildProcess;
  private nextId = 1;
  private readonly waiting = new Map<number, { resolve(v: unknown): void; reject(e: Error): void; timer: NodeJS.Timeout }>();
  private exitError: Error | undefined;

  constructor(
    readonly name: string,
    module: string,
    nodeFlags: string[] = [],
  ) {
    // execArgv is set explicitly: children must not inherit the coordinator's flags (e.g. --cpu-prof).
    this.child = track(fork(module, [], { execArgv: nodeFlags, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }));
    this.child.on('message', (answer: Answer) => {
      const w = this.waiting.get(answer.id);
      if (w === undefined) return;
      this.waiting.delete(answer.id);
      clearTimeout(w.timer);
      if (answer.ok) w.resolve(answer.result);
      else w.reject(new Error(`${this.name}: ${answer.error}`));
    });
    this.child.on('exit', (code, signal) => {
      this.exitError = new Error(`${this.name} exited (${signal ?? code})`);
      for (const w of this.waiting.values()) {
        clearTimeout(w.timer);
        w.reject(this.exitError);
      }
      this.waiting.clear();
    });
  }

  get pid(): number {
    return this.child.pid as number;
  }

  request<T>(cmd: string, args: Record<string, unknown> = {}, timeoutMs = 60_000): Promise<T> {
    if (this.exitError) return Promise.reject(this.exitError);
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(id);
        reject(new Error(`${this.name}: ${cmd} timed out after ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiting.set(id, { resolve: resolve as (v: unknown) => void, reject, timer });
      this.child.send({ id, cmd, ...args });
    });
  }

  /** Ask the child to exit; kill it by PID if it does not within a second. */
  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const done = exited(this.child);
    this.request('exit', {}, 1000).catch(() => undefined);
    const gone = await Promise.race([done.then(() => true), sleep(1500).then(() => false)]);
    if (!gone) await stopChild(this.child, 'SIGKILL', 1000);
  }
}
