/**
 * S7 — presence upkeep and presence reads at scale, on the Redis engine.
 *
 * Upkeep: one Herald node on the Redis engine (a fresh key prefix) holds
 * 19,000 idle connections (two load processes), each subscribed — to one
 * shared topic, or to its own topic (19,000 topics) — so every connection has
 * a presence entry in Redis that the node refreshes every TTL/3. Over an idle
 * window of two refresh periods: Herald's CPU, redis-server's CPU, and Redis
 * commands per second (INFO, less the bench's own), per connection. The same
 * node on the memory engine is the reference (its presence is a map in the
 * process: no Redis traffic).
 *
 * Reads: with every one of those connections on one topic (19,000 members),
 * `GET /v1/presence-stats` and `GET /v1/presence?limit=…` through the server
 * API, timed one after another (p50/p99 of 200 calls).
 */
import { sleep } from '../lib/children.js';
import { cpuSeconds } from '../lib/proc.js';
import type { Result, RunContext, Scenario } from '../lib/types.js';
import { int, pct, runParams, withSession } from './common.js';
import { LoadFleet } from './fleet.js';
import { RedisMonitor } from './s6-redis.js';
import type { ServerSpec } from './servers.js';

const REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';

interface UpkeepOutcome {
  label: string;
  connected: number;
  subscribed: number;
  serverCpu: number;
  redisCpu: number;
  redisCommandsPerSecond: number;
  commandsPerConnectionPerSecond: number;
  topCommands: Record<string, number>;
}

interface ReadOutcome {
  members: number;
  route: string;
  p50Ms: number;
  p99Ms: number;
  meanMs: number;
}

function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

export const presenceScenario: Scenario = {
  name: 's7-presence',
  description: 'S7 presence on Redis: upkeep per idle connection (CPU, Redis commands) and presence reads of a 10,000-member topic',
  async run(ctx: RunContext): Promise<Result> {
    const connections = ctx.quick ? 1_000 : 19_000;
    const ttlMs = ctx.quick ? 3_000 : 30_000;
    const windowMs = ctx.quick ? 2_000 : 2 * (ttlMs / 3);
    const processes = LoadFleet.processesFor(connections);
    const monitor = await RedisMonitor.open(REDIS_URL, ctx.log);
    const runId = `herald-bench-s7-${process.pid}-${Date.now().toString(36)}`;
    const upkeep: UpkeepOutcome[] = [];
    const reads: ReadOutcome[] = [];
    const errors: string[] = [];
    const setups: { spec: ServerSpec; spread: 'one topic' | 'a topic each' }[] = [
      { spec: { kind: 'herald', label: 'Herald memory engine, one topic', heraldArgs: ['--presence'] }, spread: 'one topic' },
      ...(['one topic', 'a topic each'] as const).map((spread, i) => ({
        spec: {
          kind: 'herald' as const,
          label: `Herald Redis engine, ${spread}`,
          heraldArgs: ['--engine', 'redis', '--redis-url', REDIS_URL, '--redis-prefix', `${runId}-${i}:`, '--presence', '--presence-ttl', `${ttlMs}ms`],
        },
        spread,
      })),
    ];
    try {
      for (const { spec, spread } of setups) {
        ctx.log(`  ${spec.label}: ${connections} connections`);
        const outcome = await withSession(spec, { processes, pusher: false }, async ({ server, fleet }) => {
          const connect = await fleet.connect(server, connections, 256);
          const sub = await fleet.subscribe(
            spread === 'one topic' ? { kind: 'topic', topic: 'presence' } : { kind: 'multi', perConnection: 1, topics: connections * 100, seed: 7, prefix: 'p' },
          );
          // Let the first refresh of every entry pass before measuring.
          await sleep(Math.min(ttlMs / 3 + 500, 12_000));
          const c0 = cpuSeconds(server.pid);
          const r0 = await monitor.sample();
          const t0 = performance.now();
          await sleep(windowMs);
          const c1 = cpuSeconds(server.pid);
          const r1 = await monitor.sample();
          const seconds = (performance.now() - t0) / 1000;
          const commands = (r1.commands - r0.commands) / seconds;
          const top: Record<string, number> = {};
          for (const [name, stat] of Object.entries(r1.cmd)) {
            const calls = (stat.calls - (r0.cmd[name]?.calls ?? 0)) / seconds;
            if (calls >= 0.5) top[name] = Math.round(calls * 10) / 10;
          }
          const result: UpkeepOutcome = {
            label: spec.label,
            connected: connect.ok,
            subscribed: sub.received,
            serverCpu: (c1 - c0) / seconds,
            redisCpu: (r1.procCpuS - r0.procCpuS) / seconds,
            redisCommandsPerSecond: commands,
            commandsPerConnectionPerSecond: connect.ok > 0 ? commands / connect.ok : NaN,
            topCommands: top,
          };
          if (spec.heraldArgs?.includes('redis') === true && spread === 'one topic') {
            // Reads of a topic with `readMembers` members (the first connections are on it).
            for (const route of ['/v1/presence-stats?topic=presence', '/v1/presence?topic=presence&limit=100', '/v1/presence?topic=presence&limit=1000']) {
              const times: number[] = [];
              let failures = 0;
              for (let i = 0; i < 200; i++) {
                const start = performance.now();
                const res = await fetch(`http://127.0.0.1:${server.apiPort}${route}`);
                await res.arrayBuffer();
                times.push(performance.now() - start);
                if (res.status !== 200 && failures++ === 0) errors.push(`${route}: ${res.status}`);
              }
              times.sort((a, b) => a - b);
              reads.push({
                members: sub.received,
                route,
                p50Ms: quantile(times, 0.5),
                p99Ms: quantile(times, 0.99),
                meanMs: times.reduce((s, v) => s + v, 0) / times.length,
              });
            }
          }
          return result;
        });
        upkeep.push(outcome);
        ctx.log(
          `  ${spec.label}: ${outcome.connected} connected, Herald ${pct(outcome.serverCpu)}, Redis ${pct(outcome.redisCpu)}, ` +
            `${outcome.redisCommandsPerSecond.toFixed(0)} Redis commands/s`,
        );
        if (outcome.connected < connections) errors.push(`${spec.label}: only ${outcome.connected}/${connections} connected`);
      }
    } finally {
      for (let i = 0; i < 2; i++) await monitor.deleteKeys(`${runId}-${i}:`).catch(() => 0);
      await monitor.close();
    }
    const columns = [
      { key: 'setup', label: 'setup' },
      { key: 'connections', label: 'connections', format: 'rtext' as const },
      { key: 'heraldCpu', label: 'Herald CPU (% core)', format: 'rtext' as const },
      { key: 'redisCpu', label: 'Redis CPU (% core)', format: 'rtext' as const },
      { key: 'commands', label: 'Redis commands/s', format: 'rtext' as const },
      { key: 'perConn', label: 'commands/s per 1,000 conns', format: 'rtext' as const },
    ];
    const rows = upkeep.map((o) => ({
      setup: o.label,
      connections: int(o.connected),
      heraldCpu: `${(o.serverCpu * 100).toFixed(2)} %`,
      redisCpu: Number.isFinite(o.redisCpu) ? `${(o.redisCpu * 100).toFixed(2)} %` : '–',
      commands: o.redisCommandsPerSecond.toFixed(1),
      perConn: (o.commandsPerConnectionPerSecond * 1000).toFixed(2),
    }));
    return {
      columns,
      rows,
      tables: [
        {
          title: `presence reads through the server API, Redis engine (a ${int(reads[0]?.members ?? 0)}-member topic, 200 calls each, one at a time)`,
          columns: [
            { key: 'route', label: 'route' },
            { key: 'p50', label: 'p50 ms', format: 'rtext' },
            { key: 'p99', label: 'p99 ms', format: 'rtext' },
            { key: 'mean', label: 'mean ms', format: 'rtext' },
          ],
          rows: reads.map((r) => ({ route: r.route, p50: r.p50Ms.toFixed(2), p99: r.p99Ms.toFixed(2), mean: r.meanMs.toFixed(2) })),
        },
      ],
      params: { connections, processes, ttlMs, windowMs, redisUrl: REDIS_URL, ...runParams() },
      details: { upkeep, reads },
      notes: [
        'Upkeep window = two presence refresh periods (TTL/3 each), after one full refresh; Redis commands exclude the bench\'s own INFO calls.',
        'The memory-engine row is the reference: its presence lives in the process, so it sends Redis nothing.',
      ],
      errors,
    };
  },
};
