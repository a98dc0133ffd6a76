/**
 * S8 — the subscribe proxy's cost: subscribes per second and subscribe latency (send → reply,
 * p50/p99) for topics of a `"subscribe": "proxy"` namespace, with the backend a local HTTP process
 * (bench/servers/proxy-backend.ts) that allows every check at once:
 *
 * - baseline: the same namespace with `"subscribe": "anyone"` (no backend call);
 * - proxy, cache off: every subscribe is one HTTP call (keep-alive, at most 64 in flight);
 * - the same over gRPC (herald.v1.Backend, one HTTP/2 channel);
 * - proxy, cache on (`--subscribe-proxy-cache 10m`): a first pass (misses: a call and a cache
 *   insert each), then a second pass on fresh connections with the same topics (hits: no call).
 *
 * The load is one process (bench/load/subscribe-driver.ts): C gpush connections, each subscribing
 * to its own topics one after another (the next when the previous is answered), all at once; so
 * the rate is bounded by latency × C, as for a reconnect storm of C clients.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { SubscribeRun } from '../load/subscribe-driver.js';
import { stopChild, track } from '../lib/children.js';
import { cpuSeconds } from '../lib/proc.js';
import type { Result, RunContext, Scenario } from '../lib/types.js';
import { int, ms, pct, runParams } from './common.js';
import { HOST, WS_PATH, startServer, type RunningServer } from './servers.js';
import { Worker, childModule } from './worker.js';

const BACKEND_MAIN = fileURLToPath(new URL('../servers/proxy-backend.js', import.meta.url));

interface Outcome extends SubscribeRun {
  setup: string;
  heraldCpu: number;
  backendCpu: number;
}

/** Start the backend; resolves with its port and process once it prints `listening <port>`. */
async function startBackend(grpcBackend: boolean): Promise<{ port: number; pid: number; stop(): Promise<void> }> {
  const args = [BACKEND_MAIN, '--host', HOST, ...(grpcBackend ? ['--grpc'] : [])];
  const child = track(spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] }));
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const match = /listening (\d+)/.exec(out);
      if (match) resolve(Number(match[1]));
    });
    child.once('exit', (code) => reject(new Error(`proxy backend exited (${code})`)));
  });
  return { port, pid: child.pid as number, stop: () => stopChild(child, 'SIGTERM', 3000) };
}

export const proxyScenario: Scenario = {
  name: 's8-proxy',
  description: 'S8 subscribe proxy: subscribes/s and subscribe latency p50/p99 with a local HTTP (and gRPC) backend, cache miss and hit, against no proxy',
  async run(ctx: RunContext): Promise<Result> {
    const connections = ctx.quick ? 20 : 64;
    const perConnection = ctx.quick ? 50 : 1000;
    const dir = mkdtempSync(join(tmpdir(), 'herald-bench-s8-'));
    const backend = await startBackend(false);
    const grpcBackend = await startBackend(true);
    const url = `http://${HOST}:${backend.port}/herald/subscribe`;
    const grpcUrl = `grpc://${HOST}:${grpcBackend.port}`;
    const outcomes: Outcome[] = [];
    const errors: string[] = [];
    const config = (name: string, subscribe: 'anyone' | 'proxy'): string => {
      const file = join(dir, `${name}.json`);
      writeFileSync(file, JSON.stringify({ namespaces: [{ topics: 'p:*', subscribe }] }));
      return file;
    };
    const common = ['--max-subscriptions-per-connection', String(perConnection + 10)];
    const setups = [
      { label: 'no proxy (anyone)', args: ['--config', config('anyone', 'anyone')], passes: ['no proxy (anyone)'] },
      { label: 'proxy, cache off', args: ['--config', config('proxy', 'proxy'), '--subscribe-proxy-url', url], passes: ['proxy, cache off (miss)'] },
      {
        label: 'proxy over gRPC, cache off',
        args: ['--config', config('proxy', 'proxy'), '--subscribe-proxy-url', grpcUrl],
        passes: ['proxy over gRPC, cache off (miss)'],
        backendPid: grpcBackend.pid,
      },
      {
        label: 'proxy, cache 10m',
        args: ['--config', config('proxy', 'proxy'), '--subscribe-proxy-url', url, '--subscribe-proxy-cache', '10m'],
        passes: ['proxy, cache on: 1st pass (miss)', 'proxy, cache on: 2nd pass (hit)'],
      },
    ];
    try {
      for (const setup of setups) {
        let server: RunningServer | undefined;
        const driver = new Worker('subscribe-driver', childModule('../load/subscribe-driver.js'));
        try {
          server = await startServer({ kind: 'herald', label: `Herald ${setup.label}`, heraldArgs: [...common, ...setup.args] });
          // Warm-up (JIT, keep-alive sockets, gRPC channel) on other topics, not recorded: the measured
          // passes then compare steady states, and the cache's first pass still misses.
          const wsUrl = `ws://${HOST}:${server.wsPort}${WS_PATH}`;
          await driver.request('run', { url: wsUrl, connections, perConnection: Math.max(10, perConnection / 10), prefix: 'p:warm:' }, 300_000);
          for (const pass of setup.passes) {
            const h0 = cpuSeconds(server.pid);
            const backendPid = 'backendPid' in setup ? (setup.backendPid as number) : backend.pid;
            const b0 = cpuSeconds(backendPid);
            const run = await driver.request<SubscribeRun>(
              'run',
              { url: wsUrl, connections, perConnection, prefix: 'p:' },
              300_000,
            );
            const outcome: Outcome = {
              ...run,
              setup: pass,
              heraldCpu: (cpuSeconds(server.pid) - h0) / run.seconds,
              backendCpu: (cpuSeconds(backendPid) - b0) / run.seconds,
            };
            outcomes.push(outcome);
            ctx.log(`  ${pass}: ${int(run.perSecond)} subscribes/s, p50 ${ms(run.p50Ms)} ms, p99 ${ms(run.p99Ms)} ms, codes ${JSON.stringify(run.codes)}`);
            if ((run.codes['20001'] ?? 0) !== run.subscribes) errors.push(`${pass}: not every subscribe was allowed: ${JSON.stringify(run.codes)}`);
          }
          if (!server.alive()) throw new Error(`Herald ${setup.label} died:\n${server.output()}`);
        } finally {
          await driver.stop().catch(() => undefined);
          await server?.stop().catch(() => undefined);
        }
      }
    } finally {
      await backend.stop();
      await grpcBackend.stop();
      rmSync(dir, { recursive: true, force: true });
    }
    const base = outcomes[0]?.perSecond;
    return {
      columns: [
        { key: 'setup', label: 'setup' },
        { key: 'rate', label: 'subscribes/s', format: 'rtext' },
        { key: 'vsBase', label: 'vs no proxy', format: 'rtext' },
        { key: 'p50', label: 'p50 ms', format: 'rtext' },
        { key: 'p99', label: 'p99 ms', format: 'rtext' },
        { key: 'max', label: 'max ms', format: 'rtext' },
        { key: 'herald', label: 'Herald CPU', format: 'rtext' },
        { key: 'backend', label: 'backend CPU', format: 'rtext' },
      ],
      rows: outcomes.map((o) => ({
        setup: o.setup,
        rate: int(o.perSecond),
        vsBase: base ? `${(o.perSecond / base).toFixed(2)}×` : '–',
        p50: ms(o.p50Ms),
        p99: ms(o.p99Ms),
        max: ms(o.maxMs),
        herald: pct(o.heraldCpu),
        backend: pct(o.backendCpu),
      })),
      params: { connections, perConnection, subscribes: connections * perConnection, backend: 'bench/servers/proxy-backend.ts (allows at once)', ...runParams() },
      details: outcomes,
      notes: [
        `${connections} connections each subscribe to ${perConnection} topics one after another (after an unrecorded warm-up pass on other topics); latency = send → reply, measured in the load process.`,
        'Cache hits: fresh connections subscribing the same (anonymous uid, topic) pairs as the first pass.',
        'Backend, load and Herald share the machine: the proxy rows include the backend\'s CPU.',
      ],
      errors,
    };
  },
};
