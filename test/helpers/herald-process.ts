/**
 * A Herald gateway as a child process: `node dist/src/main.js [--engine redis
 * …]` on loopback with ephemeral ports, for multi-node and fault tests. The
 * "herald started" JSON log line gives the WebSocket and push-API addresses.
 * `stop()` sends SIGTERM (graceful drain), `kill()` SIGKILL — always by the
 * child's own PID, never by name. Children still alive when the test process
 * exits are SIGKILLed by PID.
 *
 * Nothing here measures time: waits are bounded by generous safety timeouts.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { TEST_TRANSPORT, withTimeout } from './server.js';

/** The compiled entry point: dist/src/main.js. */
export const HERALD_MAIN = fileURLToPath(new URL('../../src/main.js', import.meta.url));

/** Safety bound for a child to start or exit (never a timing assertion). */
export const PROCESS_WAIT_MS = 20_000;

/** Every child still running, so a crashing test run leaves none behind. */
const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) {
    if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) {
      try {
        process.kill(child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }
});

export interface HeraldProcessOptions {
  /** `--engine redis --redis-url …`; without it, the default memory engine. */
  redisUrl?: string;
  /** With `redisUrl` (then a comma-separated list of seeds): `--redis-cluster`, a Redis Cluster. */
  redisCluster?: boolean;
  /** `--redis-prefix` (or `--nats-prefix` with `natsUrl`): unique per test run (see uniquePrefix()). */
  prefix?: string;
  /** `--engine nats --nats-url …` (a private nats-server, test/helpers/nats.ts). */
  natsUrl?: string;
  /** Extra flags, e.g. `['--jwt-secret', s, '--history-size', '5']`. */
  args?: readonly string[];
  /** A name for messages and logs, e.g. 'A'. */
  name?: string;
}

/** An answer from the push API. */
export interface HttpAnswer {
  status: number;
  text: string;
  /** The parsed JSON body, or undefined when it is not JSON. */
  json: any;
}

/** The environment without HERALD_* (a developer's settings must not change the outcome). */
function cleanEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) if (!key.startsWith('HERALD_')) env[key] = value;
  return env;
}

export class HeraldProcess {
  /** `ws://127.0.0.1:<port>/ws` */
  readonly wsUrl: string;
  /** `http://127.0.0.1:<port>` */
  readonly apiUrl: string;
  /** The "herald started" log record. */
  readonly started: Record<string, unknown>;
  /** Resolves with the exit code and signal once the child has exited. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private paused = false;

  private constructor(
    readonly name: string,
    private readonly child: ChildProcess,
    started: Record<string, unknown>,
    exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>,
    private readonly output: { stdout: string; stderr: string },
  ) {
    this.started = started;
    this.wsUrl = String(started.ws);
    this.apiUrl = String(started.api);
    this.exited = exited;
  }

  /** Spawn a node and wait for its "herald started" line; rejects (with its output) if it exits first. */
  static async start(options: HeraldProcessOptions): Promise<HeraldProcess> {
    const name = options.name ?? 'herald';
    const args = [
      HERALD_MAIN,
      ...(options.redisUrl === undefined
        ? []
        : ['--engine', 'redis', '--redis-url', options.redisUrl, '--redis-prefix', options.prefix ?? 'herald-test']),
      ...(options.redisUrl !== undefined && options.redisCluster === true ? ['--redis-cluster'] : []),
      ...(options.natsUrl === undefined ? [] : ['--engine', 'nats', '--nats-url', options.natsUrl, '--nats-prefix', options.prefix ?? 'herald-test']),
      '--ws-host', '127.0.0.1',
      '--ws-port', '0',
      '--api-host', '127.0.0.1',
      '--api-port', '0',
      '--grpc-host', '127.0.0.1',
      '--grpc-port', '0',
      '--heartbeat-timeout', '10m',
      // HERALD_* is not passed on (cleanEnv), so the test transport goes as a flag; options.args may override it.
      '--transport', TEST_TRANSPORT,
      ...(options.args ?? []),
    ];
    const child = spawn(process.execPath, args, { env: cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    running.add(child);
    const output = { stdout: '', stderr: '' };
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
      child.once('exit', (code, signal) => {
        running.delete(child);
        resolve({ code, signal });
      });
      child.once('error', (error) => {
        running.delete(child);
        output.stderr += `spawn error: ${error.message}\n`;
        resolve({ code: null, signal: null });
      });
    });
    let startedLine: Record<string, unknown> | undefined;
    let notify: (() => void) | undefined;
    let pendingLine = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      const text = chunk.toString('utf8');
      output.stdout += text;
      pendingLine += text;
      let eol: number;
      while ((eol = pendingLine.indexOf('\n')) >= 0) {
        const line = pendingLine.slice(0, eol);
        pendingLine = pendingLine.slice(eol + 1);
        if (startedLine !== undefined || !line.includes('herald started')) continue;
        try {
          startedLine = JSON.parse(line) as Record<string, unknown>;
          notify?.();
        } catch {
          // not a JSON log line
        }
      }
    });
    child.stderr!.on('data', (chunk: Buffer) => (output.stderr += chunk.toString('utf8')));
    const ready = new Promise<void>((resolve) => (notify = resolve));
    const outcome = await withTimeout(
      Promise.race([ready.then(() => 'started' as const), exited.then(() => 'exited' as const)]),
      `herald ${name} to start`,
      PROCESS_WAIT_MS,
    ).catch((error: Error) => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      throw new Error(`${error.message}\nstdout: ${output.stdout}\nstderr: ${output.stderr}`);
    });
    if (outcome === 'exited' || startedLine === undefined) {
      throw new Error(`herald ${name} exited before starting\nstdout: ${output.stdout}\nstderr: ${output.stderr}`);
    }
    return new HeraldProcess(name, child, startedLine, exited, output);
  }

  get pid(): number {
    return this.child.pid as number;
  }

  /** True until the child has exited. */
  get alive(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Everything written to stdout (the JSON log) so far. */
  get stdout(): string {
    return this.output.stdout;
  }

  get stderr(): string {
    return this.output.stderr;
  }

  /** SIGSTOP by PID: the process keeps its sockets but runs nothing (a stalled node, e.g. a long GC pause). */
  pause(): void {
    if (!this.alive) return;
    process.kill(this.pid, 'SIGSTOP');
    this.paused = true;
  }

  /** SIGCONT after {@link pause}. */
  resume(): void {
    if (!this.alive || !this.paused) return;
    process.kill(this.pid, 'SIGCONT');
    this.paused = false;
  }

  /** SIGTERM by PID and wait for the exit (SIGKILL if the drain overruns the safety bound). */
  async stop(): Promise<void> {
    if (!this.alive) return;
    this.resume();
    process.kill(this.pid, 'SIGTERM');
    try {
      await withTimeout(this.exited, `herald ${this.name} to drain and exit`, PROCESS_WAIT_MS);
    } catch (error) {
      await this.kill();
      throw error;
    }
  }

  /** SIGKILL by PID (a crash: no drain, no goodbye to clients or Redis) and wait for the exit. */
  async kill(): Promise<void> {
    if (!this.alive) return;
    process.kill(this.pid, 'SIGKILL');
    await withTimeout(this.exited, `herald ${this.name} to die`, PROCESS_WAIT_MS);
  }

  /** Any request to the push API; the body is read and parsed as JSON when it is JSON. */
  async request(path: string, init?: RequestInit): Promise<HttpAnswer> {
    const res = await fetch(`${this.apiUrl}${path}`, init);
    const text = await res.text();
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    return { status: res.status, text, json };
  }

  /** `POST /v1/pushData` of the UTF-8 `payload` to `target` (fields omitted when undefined). */
  pushData(target: { uid?: string; topic?: string }, payload: string): Promise<HttpAnswer> {
    return this.request('/v1/pushData', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ ...target, data: Buffer.from(payload, 'utf8').toString('base64') }),
    });
  }

  /** `GET /metrics` as text. */
  async metrics(): Promise<string> {
    const answer = await this.request('/metrics');
    if (answer.status !== 200) throw new Error(`herald ${this.name}: /metrics answered ${answer.status}`);
    return answer.text;
  }

  /** One sample of `/metrics` (`name` or `name{labels}` as rendered); throws when absent. */
  async metric(sample: string): Promise<number> {
    const text = await this.metrics();
    for (const line of text.split('\n')) {
      if (line.startsWith(`${sample} `)) return Number(line.slice(sample.length + 1));
    }
    throw new Error(`herald ${this.name}: no sample ${sample} in /metrics`);
  }
}

/** Start several nodes on one Redis and prefix (in parallel), named as given. */
export async function startHeralds(
  names: readonly string[],
  options: Omit<HeraldProcessOptions, 'name'>,
): Promise<HeraldProcess[]> {
  const results = await Promise.allSettled(names.map((name) => HeraldProcess.start({ ...options, name })));
  const started = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed !== undefined) {
    await Promise.allSettled(started.map((h) => h.kill()));
    throw failed.reason;
  }
  return started;
}

/** Stop every node still running (SIGTERM, SIGKILL on overrun); never throws. */
export async function stopAll(nodes: readonly (HeraldProcess | undefined)[]): Promise<void> {
  await Promise.allSettled(nodes.map((node) => node?.stop()));
}
