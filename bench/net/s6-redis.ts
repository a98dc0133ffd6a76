/**
 * S6's view of Redis: connecting (loopback only, starting a local
 * redis-server when nothing answers on the default port), sampling
 * `INFO stats/cpu/commandstats` less the bench's own INFO traffic, turning two
 * samples into per-second and per-publication figures, `PUBSUB NUMSUB`
 * checks, and deleting a set-up's keys. The Redis server is only read, never
 * signalled; the only writes are deletes of keys under the bench's own prefix.
 */
import { spawnSync } from 'node:child_process';
import { Redis } from 'ioredis';
import { sleep } from '../lib/children.js';
import { cpuSecondsOf, processName } from '../lib/proc.js';

/** Loopback only: the bench never sends traffic elsewhere. */
function checkLoopback(url: string): void {
  const host = new URL(url).hostname.replace(/^\[|\]$/g, '');
  if (!(host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host))) {
    throw new Error(`BENCH_REDIS_URL must point at this machine's loopback, not ${host}`);
  }
}

export interface RedisSample {
  /** performance.now() when the answer arrived. */
  t: number;
  /** used_cpu_user + used_cpu_sys (getrusage of the whole redis-server), s. */
  cpuS: number;
  /** utime + stime from /proc/<pid>/stat, s (10 ms resolution); NaN when not readable. */
  procCpuS: number;
  /** INFO counters less what the bench's own INFO calls added before this sample. */
  commands: number;
  netInBytes: number;
  netOutBytes: number;
  /** `INFO commandstats`: calls and µs inside the command, per command. */
  cmd: Record<string, { calls: number; usec: number }>;
}

/** Reads one Redis server's counters; writes nothing but deletes of the bench's own keys. */
export class RedisMonitor {
  /** What the monitor's own commands added to the counters so far. */
  private ownCommands = 0;
  private ownIn = 0;
  private ownOut = 0;

  private constructor(
    private readonly client: Redis,
    readonly url: string,
    /** redis-server's PID (INFO server), when it is a process of this machine we can read. */
    readonly pid: number | undefined,
    readonly version: string,
  ) {}

  static async open(url: string, log: (line: string) => void): Promise<RedisMonitor> {
    checkLoopback(url);
    let client = await RedisMonitor.connect(url);
    if (client === undefined) {
      // As the tests do (test/helpers/redis.ts): start one when nothing answers on the default port.
      const u = new URL(url);
      if (u.port !== '' && u.port !== '6379') throw new Error(`no Redis answers at ${url}`);
      log(`  no Redis at ${url}: starting redis-server --daemonize yes (loopback, no persistence)`);
      const started = spawnSync('redis-server', ['--daemonize', 'yes', '--port', '6379', '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
        encoding: 'utf8',
      });
      if (started.error !== undefined || started.status !== 0) throw new Error(`no Redis at ${url}, and redis-server could not be started`);
      for (let i = 0; i < 50 && client === undefined; i++) {
        await sleep(100);
        client = await RedisMonitor.connect(url);
      }
      if (client === undefined) throw new Error(`no Redis at ${url}`);
    }
    const server = parseInfo(String(await client.call('INFO', 'server')));
    const pid = Number(server.get('process_id'));
    const readable = Number.isInteger(pid) && (processName(pid) ?? '').includes('redis');
    return new RedisMonitor(client, url, readable ? pid : undefined, server.get('redis_version') ?? '?');
  }

  private static async connect(url: string): Promise<Redis | undefined> {
    const client = new Redis(url, {
      lazyConnect: true,
      connectionName: 'herald-bench-s6',
      maxRetriesPerRequest: 1,
      connectTimeout: 2_000,
      retryStrategy: () => null,
    });
    client.on('error', () => undefined);
    try {
      await client.connect();
      await client.ping();
      return client;
    } catch {
      client.disconnect();
      return undefined;
    }
  }

  async sample(): Promise<RedisSample> {
    const own = { commands: this.ownCommands, in: this.ownIn, out: this.ownOut };
    const args = ['stats', 'cpu', 'commandstats'];
    const text = String(await this.client.call('INFO', ...args));
    const t = performance.now();
    // This INFO counts in the next sample's delta: one command, its request and its reply.
    this.ownCommands += 1;
    this.ownIn += respLength(['INFO', ...args]);
    this.ownOut += Buffer.byteLength(text) + String(Buffer.byteLength(text)).length + 5;
    const info = parseInfo(text);
    const cmd: Record<string, { calls: number; usec: number }> = {};
    for (const [key, value] of info) {
      if (!key.startsWith('cmdstat_')) continue;
      const calls = /calls=(\d+)/.exec(value);
      const usec = /usec=(\d+)/.exec(value);
      cmd[key.slice('cmdstat_'.length)] = { calls: Number(calls?.[1] ?? 0), usec: Number(usec?.[1] ?? 0) };
    }
    return {
      t,
      cpuS: Number(info.get('used_cpu_user')) + Number(info.get('used_cpu_sys')),
      procCpuS: this.pid === undefined ? NaN : cpuSecondsOf([this.pid])[0],
      commands: Number(info.get('total_commands_processed')) - own.commands,
      netInBytes: Number(info.get('total_net_input_bytes')) - own.in,
      netOutBytes: Number(info.get('total_net_output_bytes')) - own.out,
      cmd,
    };
  }

  /**
   * Subscribers of `channel` (one per node that wants it): PUBSUB NUMSUB, or with `sharded`
   * PUBSUB SHARDNUMSUB (a shard channel of a Redis Cluster, asked of the master serving its slot).
   */
  async numsub(channel: string, sharded = false): Promise<number> {
    this.ownCommands++;
    const reply = (await this.client.call('PUBSUB', sharded ? 'SHARDNUMSUB' : 'NUMSUB', channel)) as [string, number];
    return Number(reply[1]);
  }

  /** Wait until NUMSUB (SHARDNUMSUB with `sharded`) of `channel` is `expected` (at most `timeoutMs`); the last count. */
  async awaitNumsub(channel: string, expected: number, timeoutMs = 5_000, sharded = false): Promise<number> {
    const deadline = performance.now() + timeoutMs;
    let n = await this.numsub(channel, sharded);
    while (n !== expected && performance.now() < deadline) {
      await sleep(50);
      n = await this.numsub(channel, sharded);
    }
    return n;
  }

  /**
   * Delete every key starting with `prefix` (SCAN + UNLINK); how many. `oneByOne`: one UNLINK per
   * key, as a Redis Cluster node refuses a multi-key command whose keys are in different slots.
   */
  async deleteKeys(prefix: string, oneByOne = false): Promise<number> {
    if (!/^[\w:-]+$/.test(prefix)) throw new RangeError(`refusing a prefix with glob characters: ${prefix}`);
    let cursor = '0';
    let deleted = 0;
    do {
      const [next, keys] = await this.client.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      cursor = next;
      if (oneByOne) for (const key of keys) deleted += await this.client.unlink(key);
      else if (keys.length > 0) deleted += await this.client.unlink(...keys);
    } while (cursor !== '0');
    return deleted;
  }

  async close(): Promise<void> {
    await this.client.quit().catch(() => this.client.disconnect());
  }
}

function parseInfo(text: string): Map<string, string> {
  const map = new Map<string, string>();
  for (const line of text.split('\r\n')) {
    const colon = line.indexOf(':');
    if (colon > 0 && line[0] !== '#') map.set(line.slice(0, colon), line.slice(colon + 1));
  }
  return map;
}

/** Bytes of a RESP array of bulk strings, as a client sends a command. */
function respLength(parts: string[]): number {
  let n = `*${parts.length}\r\n`.length;
  for (const p of parts) n += `$${Buffer.byteLength(p)}\r\n`.length + Buffer.byteLength(p) + 2;
  return n;
}

/** Redis activity between two samples. */
export interface RedisDelta {
  seconds: number;
  /** Cores (1 = one core busy): INFO cpu, and /proc. */
  cpu: number;
  procCpu: number;
  commandsPerSec: number;
  netInPerSec: number;
  netOutPerSec: number;
  /** Per accepted push (= publication), when there were any. */
  perPublish?: {
    cpuUs: number;
    commands: number;
    netInBytes: number;
    netOutBytes: number;
    /** µs inside EVALSHA/EVAL (the publish script, commands it calls included). */
    scriptUs: number;
    /** PUBLISH calls (from the script) per push: 1 expected. */
    publishes: number;
  };
}

/** What happened in Redis between samples `a` and `b`; per publication when `publishes` > 0. */
export function redisDelta(a: RedisSample, b: RedisSample, publishes: number): RedisDelta {
  const seconds = Math.max(1e-9, (b.t - a.t) / 1000);
  const d = (f: (s: RedisSample) => number) => f(b) - f(a);
  const cmd = (name: string, field: 'calls' | 'usec') => (b.cmd[name]?.[field] ?? 0) - (a.cmd[name]?.[field] ?? 0);
  return {
    seconds,
    cpu: d((s) => s.cpuS) / seconds,
    procCpu: d((s) => s.procCpuS) / seconds,
    commandsPerSec: d((s) => s.commands) / seconds,
    netInPerSec: d((s) => s.netInBytes) / seconds,
    netOutPerSec: d((s) => s.netOutBytes) / seconds,
    perPublish:
      publishes > 0
        ? {
            cpuUs: (d((s) => s.cpuS) * 1e6) / publishes,
            commands: d((s) => s.commands) / publishes,
            netInBytes: d((s) => s.netInBytes) / publishes,
            netOutBytes: d((s) => s.netOutBytes) / publishes,
            scriptUs: (cmd('evalsha', 'usec') + cmd('eval', 'usec')) / publishes,
            publishes: cmd('publish', 'calls') / publishes,
          }
        : undefined,
  };
}
