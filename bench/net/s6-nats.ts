/**
 * S6's NATS set-ups: Herald nodes on `--engine nats` against a private
 * nats-server (JetStream, file store in a temp dir, monitoring on), started by
 * the bench on free loopback ports and stopped (by its PID) when S6 ends — the
 * shared 4222 is never used, so the counts are Herald's alone.
 *
 * Per step the monitor samples the server's CPU (/proc/<pid>/stat) and its
 * /varz counters: messages and bytes in and out (client traffic: JetStream
 * publishes and acks, republished copies, history reads). Per publication:
 * those deltas divided by the accepted pushes, over step + drain.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sleep } from '../lib/children.js';
import { cpuSeconds } from '../lib/proc.js';

const BINARY = existsSync('/usr/sbin/nats-server') ? '/usr/sbin/nats-server' : 'nats-server';

/** The NATS set-ups S6 runs after the Redis ones (a quiet node on the 3-node one, as with Redis). */
export const NATS_SETUPS = [
  { label: 'nats ×1', engine: 'nats' as const, nodes: 1, quietNode: false },
  { label: 'nats ×3', engine: 'nats' as const, nodes: 3, quietNode: true },
];

export interface NatsSample {
  t: number;
  cpuS: number;
  inMsgs: number;
  outMsgs: number;
  inBytes: number;
  outBytes: number;
}

/** nats-server activity between two samples. */
export interface NatsDelta {
  seconds: number;
  /** Cores (1 = one core busy), /proc. */
  cpu: number;
  msgsPerSec: number;
  bytesOutPerSec: number;
  /** Per accepted push (= publication), when there were any. */
  perPublish?: { cpuUs: number; msgsIn: number; msgsOut: number; bytesIn: number; bytesOut: number };
}

async function freePort(): Promise<number> {
  return await new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export class NatsMonitor {
  private constructor(
    private readonly child: ChildProcess,
    readonly url: string,
    private readonly monitorUrl: string,
    private readonly storeDir: string,
    readonly version: string,
  ) {}

  get pid(): number {
    return this.child.pid as number;
  }

  /** Start a private nats-server with JetStream and monitoring; rejects if it does not answer within 10 s. */
  static async start(): Promise<NatsMonitor> {
    const storeDir = await mkdtemp(join(tmpdir(), 'herald-bench-nats-'));
    const [port, monitorPort] = [await freePort(), await freePort()];
    const child = spawn(BINARY, ['-a', '127.0.0.1', '-p', String(port), '-m', String(monitorPort), '-js', '-sd', storeDir], { stdio: 'ignore' });
    const monitorUrl = `http://127.0.0.1:${monitorPort}`;
    for (let i = 0; i < 100; i++) {
      if (child.exitCode !== null) break;
      try {
        const varz = (await (await fetch(`${monitorUrl}/varz`)).json()) as { version?: string };
        return new NatsMonitor(child, `nats://127.0.0.1:${port}`, monitorUrl, storeDir, String(varz.version));
      } catch {
        await sleep(100);
      }
    }
    if (child.exitCode === null) process.kill(child.pid as number, 'SIGKILL');
    await rm(storeDir, { recursive: true, force: true });
    throw new Error(`nats-server (${BINARY}) did not start`);
  }

  async sample(): Promise<NatsSample> {
    const varz = (await (await fetch(`${this.monitorUrl}/varz`)).json()) as Record<string, number>;
    return {
      t: performance.now(),
      cpuS: cpuSeconds(this.pid),
      inMsgs: varz.in_msgs,
      outMsgs: varz.out_msgs,
      inBytes: varz.in_bytes,
      outBytes: varz.out_bytes,
    };
  }

  async stop(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      const exited = new Promise((resolve) => this.child.once('exit', resolve));
      process.kill(this.pid, 'SIGTERM');
      await exited;
    }
    await rm(this.storeDir, { recursive: true, force: true });
  }
}

/** `--engine nats` flags of a set-up's nodes (its own prefix: stream and buckets apart from other set-ups). */
export function natsEngineArgs(monitor: NatsMonitor, prefix: string): string[] {
  return ['--engine', 'nats', '--nats-url', monitor.url, '--nats-prefix', prefix];
}

export function natsDelta(a: NatsSample, b: NatsSample, publishes: number): NatsDelta {
  const seconds = Math.max(1e-9, (b.t - a.t) / 1000);
  const d = (f: (s: NatsSample) => number) => f(b) - f(a);
  return {
    seconds,
    cpu: d((s) => s.cpuS) / seconds,
    msgsPerSec: (d((s) => s.inMsgs) + d((s) => s.outMsgs)) / seconds,
    bytesOutPerSec: d((s) => s.outBytes) / seconds,
    perPublish:
      publishes > 0
        ? {
            cpuUs: (d((s) => s.cpuS) * 1e6) / publishes,
            msgsIn: d((s) => s.inMsgs) / publishes,
            msgsOut: d((s) => s.outMsgs) / publishes,
            bytesIn: d((s) => s.inBytes) / publishes,
            bytesOut: d((s) => s.outBytes) / publishes,
          }
        : undefined,
  };
}
