/**
 * Redis for tests, on loopback only. `ensureRedis()` makes sure the shared
 * Redis answers on 127.0.0.1:6379 (starting one if not — engine tests are
 * never skipped). Tests keep to their own key prefix (`uniquePrefix()`) and
 * delete their keys with `deleteKeys` — never FLUSHALL/FLUSHDB, others use
 * this Redis too. Fault tests run a private `RedisProcess` on another port.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import { createConnection } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { waitUntil } from './wait.js';

export { waitUntil };

export const REDIS_HOST = '127.0.0.1';
export const REDIS_PORT = 6379;
export const REDIS_URL = `redis://${REDIS_HOST}:${REDIS_PORT}`;

/** Arguments for a throwaway server: loopback, no RDB, no AOF. */
function serverArgs(port: number): string[] {
  return ['--port', String(port), '--bind', REDIS_HOST, '--save', '', '--appendonly', 'no'];
}

/** True when something on `port` answers PING with +PONG within `timeoutMs`. */
export async function ping(port: number, timeoutMs = 500): Promise<boolean> {
  return (await inlineCommand(port, 'PING', timeoutMs))?.startsWith('+PONG') ?? false;
}

/** The pid of the redis-server on `port` (INFO server), or undefined. */
async function serverPid(port: number): Promise<number | undefined> {
  const info = await inlineCommand(port, 'INFO server', 1000);
  const match = info === undefined ? null : /process_id:(\d+)/.exec(info);
  return match === null ? undefined : Number(match[1]);
}

/**
 * Send one inline command over a raw socket; the reply text, or undefined on
 * error or timeout. Reads until one reply is complete (a +/-/: line or a bulk string).
 */
function inlineCommand(port: number, command: string, timeoutMs: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: REDIS_HOST, port });
    let reply = '';
    const done = (result: string | undefined): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(result);
    };
    const timer = setTimeout(() => done(undefined), timeoutMs);
    socket.on('connect', () => socket.write(`${command}\r\n`));
    socket.on('data', (chunk) => {
      reply += chunk.toString('latin1');
      const eol = reply.indexOf('\r\n');
      if (eol < 0) return;
      if (reply[0] !== '$') return done(reply);
      const length = Number(reply.slice(1, eol));
      if (length < 0 || reply.length >= eol + 2 + length + 2) done(reply);
    });
    socket.on('error', () => done(undefined));
  });
}


/**
 * Make sure Redis answers on 127.0.0.1:6379; if not, start one
 * (`redis-server --daemonize yes`, no persistence) and wait for it.
 * Returns its URL.
 */
export async function ensureRedis(): Promise<string> {
  if (await ping(REDIS_PORT)) return REDIS_URL;
  const started = spawnSync('redis-server', ['--daemonize', 'yes', ...serverArgs(REDIS_PORT)], { encoding: 'utf8' });
  if (started.error !== undefined || started.status !== 0) {
    throw new Error(`could not start redis-server: ${started.error?.message ?? started.stderr}`, { cause: started.error });
  }
  await waitUntil(() => ping(REDIS_PORT), `redis on port ${REDIS_PORT}`);
  return REDIS_URL;
}

/** A key prefix no other test run uses, e.g. `herald-test-1a2b3c4d5e6f:`. */
export function uniquePrefix(): string {
  return `herald-test-${randomBytes(6).toString('hex')}:`;
}

/** A plain client for assertions (PUBSUB, key inspection); the caller quits it. */
export function adminClient(url = REDIS_URL): Redis {
  return new Redis(url, { maxRetriesPerRequest: 1 });
}

/** Delete every key that starts with `prefix` (SCAN + UNLINK). Returns how many. */
export async function deleteKeys(redis: Redis, prefix: string): Promise<number> {
  if (!/^[\w:-]+$/.test(prefix)) throw new RangeError(`refusing a prefix with glob characters: ${prefix}`);
  let cursor = '0';
  let deleted = 0;
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length > 0) deleted += await redis.unlink(...keys);
  } while (cursor !== '0');
  return deleted;
}

/** Subscribers of `channel` across all connections (PUBSUB NUMSUB). */
export async function subscriberCount(redis: Redis, channel: string): Promise<number> {
  const reply = (await redis.call('PUBSUB', 'NUMSUB', channel)) as [string, number];
  return Number(reply[1]);
}

/**
 * A redis-server of the test's own, in the foreground so its PID is known:
 * on a random port from 6391, loopback, no persistence — so killing it loses
 * every key, as a real crash of a cache-only Redis would.
 */
export class RedisProcess {
  private child: ChildProcess | null = null;

  private constructor(readonly port: number) {}

  get url(): string {
    return `redis://${REDIS_HOST}:${this.port}`;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Start on a free random port (tries a few). */
  static async start(): Promise<RedisProcess> {
    for (let attempt = 0; attempt < 8; attempt++) {
      const port = 6391 + randomInt(2000);
      if (await ping(port, 200)) continue;
      const server = new RedisProcess(port);
      if (await server.launch()) return server;
    }
    throw new Error('could not start a private redis-server');
  }

  /** Start again on the same port (after `kill`). */
  async restart(): Promise<void> {
    if (this.child !== null) throw new Error('redis-server is still running');
    if (!(await this.launch())) throw new Error(`could not restart redis-server on port ${this.port}`);
  }

  /** SIGKILL by PID and wait for the exit: no shutdown, no goodbye to clients. */
  async kill(): Promise<void> {
    const child = this.child;
    if (child === null) return;
    this.child = null;
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    process.kill(child.pid as number, 'SIGKILL');
    await exited;
  }

  /** SIGSTOP: the server keeps its sockets but answers nothing (a hung Redis). */
  pause(): void {
    if (this.child?.pid !== undefined) process.kill(this.child.pid, 'SIGSTOP');
  }

  /** SIGCONT after `pause`. */
  resume(): void {
    if (this.child?.pid !== undefined) process.kill(this.child.pid, 'SIGCONT');
  }

  /** Spawn and wait until it answers PING; false if it exited first (port taken). */
  private async launch(): Promise<boolean> {
    const child = spawn('redis-server', serverArgs(this.port), { stdio: 'ignore' });
    let exited = false;
    child.once('exit', () => (exited = true));
    child.once('error', () => (exited = true));
    const deadline = Date.now() + 10_000;
    while (!exited && Date.now() < deadline) {
      if (await ping(this.port, 200)) {
        if ((await serverPid(this.port)) !== child.pid) break; // someone else's server holds the port
        this.child = child;
        return true;
      }
      await sleep(20);
    }
    if (!exited) child.kill('SIGKILL');
    return false;
  }
}
