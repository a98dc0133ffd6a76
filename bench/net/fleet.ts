/**
 * A set of load-client processes (bench/load/load-client.ts) acting as one:
 * connections are split evenly between them, each process spreads its
 * source addresses over its own slice of 127.0.0.2–127.0.0.250, and their
 * counters and latency histograms are merged.
 */
import { Histogram } from '../lib/histogram.js';
import type { ConnectResult, LoadStats, SubscribeResult, SubscribeSpec } from '../load/ipc.js';
import { HOST, WS_PATH, type RunningServer } from './servers.js';
import { Worker, childModule } from './worker.js';

/** Largest number of sockets one load process may hold (the hard limit is 20,000 descriptors). */
export const MAX_CONNECTIONS_PER_PROCESS = 19_000;
/**
 * Node flags of the load processes: a larger young generation means fewer
 * scavenges at high message rates. `BENCH_LOAD_NODE_FLAGS` adds more (e.g.
 * `--cpu-prof --cpu-prof-dir=/tmp/prof-load`).
 */
const LOAD_NODE_FLAGS = ['--max-semi-space-size=32', ...(process.env.BENCH_LOAD_NODE_FLAGS ?? '').split(/\s+/).filter(Boolean)];

export interface FleetConnectResult {
  ok: number;
  failed: number;
  errors: Record<string, number>;
  /** First TCP connect (any process) to last greeting (any process), ms. */
  elapsedMs: number;
  latency: Histogram;
}

export interface FleetStats {
  received: number;
  bytes: number;
  latency: Histogram;
  /** CPU time of all load processes so far, µs. */
  cpuUs: number;
  open: number;
  closes: Record<string, number>;
  protocolErrors: number;
  perProcess: { received: number; cpuUs: number; open: number; rssBytes: number }[];
}

function addCounts(into: Record<string, number>, from: Record<string, number>): void {
  for (const [k, v] of Object.entries(from)) into[k] = (into[k] ?? 0) + v;
}

export class LoadFleet {
  private constructor(
    readonly workers: Worker[],
    readonly transport: string,
  ) {}

  /** Number of load processes: `BENCH_LOAD_PROCS`, else enough for `connections` at ≤ 9,500 each, at least 2. */
  static processesFor(connections: number): number {
    const env = Number(process.env.BENCH_LOAD_PROCS);
    const wanted = Number.isInteger(env) && env > 0 ? env : Math.max(2, Math.ceil(connections / 9_500));
    return Math.max(wanted, Math.ceil(connections / MAX_CONNECTIONS_PER_PROCESS));
  }

  /**
   * The request path each connection opens: the WebSocket path, or for SSE
   * load processes (`start(n, 'sse')`) `/v1/sse?topic=…`, its subscription.
   */
  path = WS_PATH;

  /** Per-connection bound from TCP connect to greeting (ConnectArgs.perConnectionTimeoutMs); unset: none. */
  perConnectionTimeoutMs: number | undefined;

  /** `kind` 'sse': processes holding Server-Sent Events connections (bench/load/sse-load-client.ts). */
  static async start(processes: number, kind: 'websocket' | 'sse' = 'websocket'): Promise<LoadFleet> {
    const module = childModule(kind === 'sse' ? '../load/sse-load-client.js' : '../load/load-client.js');
    const workers: Worker[] = [];
    for (let i = 0; i < processes; i++) workers.push(new Worker(`load-${i}`, module, LOAD_NODE_FLAGS));
    const infos = await Promise.all(workers.map((w) => w.request<{ transport: string }>('info', {}, 10_000)));
    return new LoadFleet(workers, infos[0].transport);
  }

  get pids(): number[] {
    return this.workers.map((w) => w.pid);
  }

  /** Source addresses of process `i`: every n-th of 127.0.0.2 … 127.0.0.250. */
  private addresses(i: number): string[] {
    const out: string[] = [];
    for (let last = 2 + i; last <= 250; last += this.workers.length) out.push(`127.0.0.${last}`);
    return out;
  }

  /** Open `total` connections to `server`, `inFlight` at a time over all processes; each is done at its greeting. */
  async connect(server: RunningServer, total: number, inFlight: number, timeoutMs = 120_000): Promise<FleetConnectResult> {
    return this.connectFrom(server, total, inFlight, timeoutMs, 0);
  }

  /**
   * Open `total` connections spread evenly over `servers` (server j gets
   * ⌊total / k⌋, the first `total % k` one more), one server after the other,
   * each batch split over all processes as {@link connect} does. Connection
   * indices (uids, topic picks) run on across servers, so they are the same
   * as one `connect` of `total` would give. Returns the merged result and how
   * many connections each server got.
   */
  async connectSpread(
    servers: readonly RunningServer[],
    total: number,
    inFlight: number,
    timeoutMs = 120_000,
  ): Promise<FleetConnectResult & { perServer: { wsPort: number; ok: number; failed: number }[] }> {
    const k = servers.length;
    if (k === 0) throw new RangeError('connectSpread needs at least one server');
    const perServer: { wsPort: number; ok: number; failed: number }[] = [];
    const errors: Record<string, number> = {};
    const latency = new Histogram();
    let base = 0;
    let elapsedMs = 0;
    for (let j = 0; j < k; j++) {
      const count = Math.floor(total / k) + (j < total % k ? 1 : 0);
      const r = await this.connectFrom(servers[j], count, inFlight, timeoutMs, base);
      base += count;
      addCounts(errors, r.errors);
      latency.merge(r.latency.snapshot());
      elapsedMs += r.elapsedMs;
      perServer.push({ wsPort: servers[j].wsPort, ok: r.ok, failed: r.failed });
    }
    return {
      ok: perServer.reduce((a, s) => a + s.ok, 0),
      failed: perServer.reduce((a, s) => a + s.failed, 0),
      errors,
      elapsedMs,
      latency,
      perServer,
    };
  }

  private async connectFrom(server: RunningServer, total: number, inFlight: number, timeoutMs: number, firstIndex: number): Promise<FleetConnectResult> {
    const n = this.workers.length;
    let first = firstIndex;
    const jobs = this.workers.map((w, i) => {
      const count = Math.floor(total / n) + (i < total % n ? 1 : 0);
      const args = {
        host: HOST,
        port: server.wsPort,
        path: this.path,
        count,
        inFlight: Math.max(1, Math.floor(inFlight / n) + (i < inFlight % n ? 1 : 0)),
        addresses: this.addresses(i),
        firstIndex: first,
        timeoutMs,
        perConnectionTimeoutMs: this.perConnectionTimeoutMs,
      };
      first += count;
      return w.request<ConnectResult>('connect', { args }, timeoutMs + 10_000);
    });
    const results = await Promise.all(jobs);
    const errors: Record<string, number> = {};
    let start = Infinity;
    let end = -Infinity;
    for (const r of results) {
      addCounts(errors, r.errors);
      if (r.ok > 0) {
        start = Math.min(start, Number(BigInt(r.startNs)));
        end = Math.max(end, Number(BigInt(r.endNs)));
      }
    }
    return {
      ok: results.reduce((a, r) => a + r.ok, 0),
      failed: results.reduce((a, r) => a + r.failed, 0),
      errors,
      elapsedMs: end > start ? (end - start) / 1e6 : 0,
      latency: Histogram.from(results.map((r) => r.latency)),
    };
  }

  async subscribe(spec: SubscribeSpec, timeoutMs = 60_000): Promise<SubscribeResult> {
    const results = await Promise.all(
      this.workers.map((w) => w.request<SubscribeResult>('subscribe', { spec, timeoutMs }, timeoutMs + 30_000)),
    );
    const replyErrors: Record<string, number> = {};
    for (const r of results) addCounts(replyErrors, r.replyErrors);
    return {
      connections: results.reduce((a, r) => a + r.connections, 0),
      expected: results.reduce((a, r) => a + r.expected, 0),
      received: results.reduce((a, r) => a + r.received, 0),
      replyErrors,
      elapsedMs: Math.max(...results.map((r) => r.elapsedMs)),
    };
  }

  private merge(all: LoadStats[]): FleetStats {
    const closes: Record<string, number> = {};
    for (const s of all) addCounts(closes, s.closes);
    return {
      received: all.reduce((a, s) => a + s.received, 0),
      bytes: all.reduce((a, s) => a + s.bytes, 0),
      latency: Histogram.from(all.map((s) => s.latency)),
      cpuUs: all.reduce((a, s) => a + s.cpuUs, 0),
      open: all.reduce((a, s) => a + s.open, 0),
      closes,
      protocolErrors: all.reduce((a, s) => a + s.protocolErrors, 0),
      perProcess: all.map((s) => ({ received: s.received, cpuUs: s.cpuUs, open: s.open, rssBytes: s.rssBytes })),
    };
  }

  /** Zero the message counters and histograms (CPU keeps counting); returns the state right after. */
  async reset(): Promise<FleetStats> {
    return this.merge(await Promise.all(this.workers.map((w) => w.request<LoadStats>('reset', {}, 10_000))));
  }

  async stats(): Promise<FleetStats> {
    return this.merge(await Promise.all(this.workers.map((w) => w.request<LoadStats>('stats', {}, 10_000))));
  }

  async closeAll(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.request('closeAll', {}, 20_000)));
  }

  async stop(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.stop()));
  }
}
