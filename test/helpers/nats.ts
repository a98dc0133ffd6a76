/**
 * A private nats-server (JetStream on, file store in a temp dir) for tests, on
 * loopback ports picked at run time — never the shared 4222, so a test may
 * kill and restart its own server. `restart()` reuses the port and the store
 * directory, as an operator restarting the server would.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

const HOST = '127.0.0.1';
const BINARY = existsSync('/usr/sbin/nats-server') ? '/usr/sbin/nats-server' : 'nats-server';

/** A free loopback port (listen on 0, close). */
async function freePort(): Promise<number> {
  return await new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, HOST, () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** True when a NATS server answers on `port` with its INFO line. */
async function answers(port: number, timeoutMs = 300): Promise<boolean> {
  return await new Promise((resolve) => {
    const socket = createConnection({ host: HOST, port });
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('data', (chunk) => done(chunk.toString().startsWith('INFO')));
    socket.once('error', () => done(false));
  });
}

export class NatsProcess {
  private child: ChildProcess | null = null;

  private constructor(
    readonly port: number,
    readonly monitorPort: number,
    readonly storeDir: string,
  ) {}

  get url(): string {
    return `nats://${HOST}:${this.port}`;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Start on free ports with a fresh store directory. */
  static async start(): Promise<NatsProcess> {
    const storeDir = await mkdtemp(join(tmpdir(), 'herald-nats-'));
    for (let attempt = 0; attempt < 5; attempt++) {
      const server = new NatsProcess(await freePort(), await freePort(), storeDir);
      if (await server.launch()) return server;
    }
    throw new Error('could not start a private nats-server');
  }

  /** Start again on the same port and store directory (after `stop`). */
  async restart(): Promise<void> {
    if (this.child !== null) throw new Error('nats-server is still running');
    for (let attempt = 0; attempt < 20; attempt++) {
      if (await this.launch()) return;
      await sleep(100);
    }
    throw new Error(`could not restart nats-server on port ${this.port}`);
  }

  /** Send `signal` (SIGTERM: orderly; SIGKILL: none) by PID and wait for the exit. */
  async stop(signal: 'SIGTERM' | 'SIGKILL' = 'SIGKILL'): Promise<void> {
    const child = this.child;
    if (child === null) return;
    this.child = null;
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    process.kill(child.pid as number, signal);
    await exited;
  }

  /** Stop and remove the store directory. */
  async dispose(): Promise<void> {
    await this.stop('SIGKILL');
    await rm(this.storeDir, { recursive: true, force: true });
  }

  /** The server's /varz monitoring numbers (messages, bytes, cpu). */
  async varz(): Promise<Record<string, unknown>> {
    const response = await fetch(`http://${HOST}:${this.monitorPort}/varz`);
    return (await response.json()) as Record<string, unknown>;
  }

  /** Spawn and wait until it answers; false if it exited first (port taken). */
  private async launch(): Promise<boolean> {
    const args = ['-a', HOST, '-p', String(this.port), '-m', String(this.monitorPort), '-js', '-sd', this.storeDir];
    const child = spawn(BINARY, args, { stdio: 'ignore' });
    let exited = false;
    child.once('exit', () => (exited = true));
    child.once('error', () => (exited = true));
    const deadline = Date.now() + 10_000;
    while (!exited && Date.now() < deadline) {
      if (await answers(this.port)) {
        this.child = child;
        return true;
      }
      await sleep(50);
    }
    if (!exited) process.kill(child.pid as number, 'SIGKILL');
    return false;
  }
}
