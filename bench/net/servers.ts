/**
 * Starting the servers under test as child processes: Herald exactly as a
 * user runs it (`node <flags> dist/src/main.js --ws-port … --api-port …`) and
 * the `ws` baseline (bench/servers/ws-baseline.ts). One at a time.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { sleep, stopChild, track } from '../lib/children.js';
import { heraldNodeFlags } from '../lib/herald-flags.js';
import type { UwsBinary } from '../servers/uws-loader.js';

export const HOST = '127.0.0.1';
export const WS_PATH = '/ws';

const HERALD_MAIN = fileURLToPath(new URL('../../src/main.js', import.meta.url));
const BASELINE_MAIN = fileURLToPath(new URL('../servers/ws-baseline.js', import.meta.url));
const UWS_MAIN = fileURLToPath(new URL('../servers/uws-peer.js', import.meta.url));

/** Herald, the `ws` baseline, or the uWebSockets.js peer (bench/servers/uws-peer.ts). */
export type ServerKind = 'herald' | 'ws' | 'uws';

let uwsBinary: UwsBinary | undefined;

/** The uWS.js binary the last uWS.js peer of this run loaded (stock or patched), for the output and JSON. */
export function uwsBinaryInUse(): UwsBinary | undefined {
  return uwsBinary;
}

export interface ServerSpec {
  kind: ServerKind;
  /** Shown in tables: `Herald`, `Herald merge 10ms`, `ws`. */
  label: string;
  /** Herald options added to the common ones (per scenario). */
  heraldArgs?: string[];
  env?: Record<string, string>;
  /** Herald's entry script when not this checkout's (the previous commit's `dist/src/main.js`: see `previousHerald`). */
  main?: string;
}

/**
 * The entry script of another build of Herald to run beside this one, from
 * `BENCH_PREVIOUS_MAIN` (e.g. a worktree of the previous commit, built:
 * `<worktree>/dist/src/main.js`); its label from `BENCH_PREVIOUS_LABEL`
 * (default `Herald previous`). Undefined when not set. Scenarios with
 * set-ups rather than contestants (S6) are run twice instead, the second time
 * with `BENCH_HERALD_MAIN` naming the other build for every Herald child.
 */
export function previousHerald(): { main: string; label: string } | undefined {
  const main = process.env.BENCH_PREVIOUS_MAIN;
  if (main === undefined || main === '') return undefined;
  return { main, label: process.env.BENCH_PREVIOUS_LABEL ?? 'Herald previous' };
}

export interface RunningServer {
  spec: ServerSpec;
  pid: number;
  wsPort: number;
  apiPort: number;
  /** The command line, for the JSON. */
  command: string[];
  /** Still running? */
  alive(): boolean;
  /** The last few KiB of its stdout/stderr. */
  output(): string;
  stop(): Promise<void>;
}

/** A free TCP port on the loopback (the OS picks it; released at once). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, HOST, () => {
      const port = (server.address() as { port: number }).port;
      server.close(() => resolve(port));
    });
  });
}

let helpText: string | undefined;

/** Whether Herald's `--help` lists `flag` (options being added while this bench is used). */
export function heraldSupports(flag: string): boolean {
  if (helpText === undefined) {
    try {
      helpText = execFileSync(process.execPath, [HERALD_MAIN, '--help'], { encoding: 'utf8', timeout: 10_000 });
    } catch {
      helpText = '';
    }
  }
  return new RegExp(`(^|\\s)${flag.replace(/[-]/g, '\\-')}(\\s|,|$)`, 'm').test(helpText);
}

/** Node flags for the ws baseline: none (as ws users run it), or `BENCH_WS_NODE_FLAGS` for a comparison at equal flags. */
function baselineNodeFlags(): string[] {
  return (process.env.BENCH_WS_NODE_FLAGS ?? '').split(/\s+/).filter((f) => f.length > 0);
}

export async function startServer(spec: ServerSpec): Promise<RunningServer> {
  const wsPort = await freePort();
  let apiPort = await freePort();
  while (apiPort === wsPort) apiPort = await freePort();
  const command =
    spec.kind === 'herald'
      ? [
          process.execPath,
          ...heraldNodeFlags(),
          spec.main ?? (process.env.BENCH_HERALD_MAIN || HERALD_MAIN),
          '--ws-host', HOST,
          '--ws-port', String(wsPort),
          '--api-port', String(apiPort),
          '--grpc-port', '0',
          '--heartbeat-timeout', '10m',
          '--log-level', 'warn',
          ...(spec.heraldArgs ?? []),
        ]
      : [process.execPath, ...baselineNodeFlags(), spec.kind === 'uws' ? UWS_MAIN : BASELINE_MAIN, '--host', HOST, '--ws-port', String(wsPort), '--api-port', String(apiPort)];
  const child: ChildProcess = track(
    spawn(command[0], command.slice(1), { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...spec.env } }),
  );
  let out = '';
  const collect = (chunk: Buffer) => {
    out = (out + chunk.toString('utf8')).slice(-8192);
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  const alive = () => child.exitCode === null && child.signalCode === null;
  const server: RunningServer = {
    spec,
    pid: child.pid as number,
    wsPort,
    apiPort,
    command: command.map((c) => (c === process.execPath ? 'node' : c)),
    alive,
    output: () => out,
    // Herald drains on SIGTERM (and writes its --cpu-prof profile on exit); give it time.
    stop: () => stopChild(child, 'SIGTERM', spec.kind === 'herald' ? 15_000 : 3000),
  };
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (!alive()) throw new Error(`${spec.label} exited at start (${child.exitCode ?? child.signalCode}):\n${out}`);
    try {
      const res = await fetch(`http://${HOST}:${apiPort}/readyz`);
      await res.arrayBuffer();
      if (res.status === 200) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await server.stop();
      throw new Error(`${spec.label} not ready after 20 s:\n${out}`);
    }
    await sleep(50);
  }
  if (spec.kind === 'uws') {
    const line = /^uws-peer binary (.*)$/m.exec(out);
    if (line === null) throw new Error(`${spec.label} did not say which binary it loaded:\n${out}`);
    uwsBinary = JSON.parse(line[1]) as UwsBinary;
  }
  return server;
}

/**
 * Start `specs` one after the other (several Herald nodes of one cluster);
 * if one fails to start, stop those already running and rethrow.
 */
export async function startServers(specs: readonly ServerSpec[]): Promise<RunningServer[]> {
  const started: RunningServer[] = [];
  try {
    for (const spec of specs) started.push(await startServer(spec));
    return started;
  } catch (error) {
    await Promise.all(started.map((s) => s.stop().catch(() => undefined)));
    throw error;
  }
}

/** Stop every server of `servers` (in parallel), ignoring failures. */
export async function stopServers(servers: readonly RunningServer[]): Promise<void> {
  await Promise.all(servers.map((s) => s.stop().catch(() => undefined)));
}

/**
 * The samples of `GET /metrics` on a Herald server's API port (Prometheus
 * text format), keyed by the name with its labels as printed, e.g.
 * `herald_messages_sent_total`.
 */
export async function serverMetrics(server: RunningServer, timeoutMs = 5_000): Promise<Map<string, number>> {
  const res = await fetch(`http://${HOST}:${server.apiPort}/metrics`, { signal: AbortSignal.timeout(timeoutMs) });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`${server.spec.label}: GET /metrics answered ${res.status}`);
  const values = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line.length === 0 || line.charCodeAt(0) === 35 /* # */) continue;
    const space = line.lastIndexOf(' ');
    if (space > 0) values.set(line.slice(0, space), Number(line.slice(space + 1)));
  }
  return values;
}
