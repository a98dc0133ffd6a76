/**
 * Micro-benchmark of the Redis control plane's presence (not run by the tests):
 *
 *   npm run build && node dist/bench/control/presence-redis.js
 *
 * On a private redis-server (a random loopback port, no persistence, killed at
 * the end), so INFO commandstats counts only this run:
 * 1. presenceStats and presence of a 10,000-member topic: time per call;
 * 2. presence upkeep: one node holding 19,000 entries — on one topic, on
 *    1,900 topics of 10, and on 19,000 topics of 1 — over several refresh
 *    periods: Redis commands (client calls and the commands scripts run),
 *    Redis CPU and the node's CPU, per refresh period and per second at the
 *    default TTL (30 s, refresh every 10 s).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import type { ControlHandler, PresenceEntry } from '../../src/control/control-plane.js';
import { RedisControlPlane } from '../../src/control/redis-control-plane.js';
import { RedisProcess } from '../../test/helpers/redis.js';

const MEMBERS = 10_000;
const UPKEEP_ENTRIES = 19_000;
const UPKEEP_TTL_MS = 3_000; // refresh every second; costs per period scale to any TTL
const UPKEEP_PERIODS = 4;
const DEFAULT_REFRESH_S = 10;

function handlerOf(plane: RedisControlPlane): ControlHandler {
  return {
    apply: () => 0,
    localInfo: () => ({ id: plane.nodeId, address: '127.0.0.1:1', connections: 0, subscriptions: 0, uptimeMs: 0, version: 'bench' }),
    localChannels: () => [],
    onJoinLeave: () => {},
  };
}

function entry(plane: RedisControlPlane, n: number, uid: string): PresenceEntry {
  return { client: `${plane.nodeId}.${n}`, uid, node: plane.nodeId, connectedAt: Date.now() };
}

async function timeCalls(label: string, calls: number, call: () => Promise<unknown>): Promise<void> {
  for (let i = 0; i < Math.min(10, calls); i++) await call(); // warm-up (script load, JIT)
  const samples: number[] = [];
  for (let i = 0; i < calls; i++) {
    const start = process.hrtime.bigint();
    await call();
    samples.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  samples.sort((a, b) => a - b);
  const mean = samples.reduce((a, b) => a + b, 0) / samples.length;
  const pct = (p: number): number => samples[Math.min(samples.length - 1, Math.floor(p * samples.length))];
  console.log(`${label.padEnd(44)} ${calls} calls  mean ${mean.toFixed(3)} ms  p50 ${pct(0.5).toFixed(3)} ms  p99 ${pct(0.99).toFixed(3)} ms`);
}

/** INFO commandstats as name → calls, and Redis CPU seconds. */
async function redisCounters(admin: Redis): Promise<{ calls: Map<string, number>; cpu: number }> {
  const stats = await admin.info('commandstats');
  const calls = new Map<string, number>();
  for (const match of stats.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) calls.set(match[1], Number(match[2]));
  const cpuInfo = await admin.info('cpu');
  const user = Number(/used_cpu_user:([\d.]+)/.exec(cpuInfo)?.[1] ?? 0);
  const sys = Number(/used_cpu_sys:([\d.]+)/.exec(cpuInfo)?.[1] ?? 0);
  return { calls, cpu: user + sys };
}

async function waitForClients(plane: RedisControlPlane, topic: string, count: number): Promise<void> {
  const deadline = Date.now() + 60_000;
  while ((await plane.presenceStats(topic)).clients < count) {
    if (Date.now() > deadline) throw new Error(`${topic}: fewer than ${count} entries after 60 s`);
    await sleep(50);
  }
}

async function upkeep(url: string, admin: Redis, label: string, topics: number): Promise<void> {
  const prefix = `bench-upkeep-${topics}:`;
  const plane = new RedisControlPlane({ url, prefix, presenceTtlMs: UPKEEP_TTL_MS });
  await plane.start(handlerOf(plane));
  const perTopic = UPKEEP_ENTRIES / topics;
  for (let i = 0; i < UPKEEP_ENTRIES; i++) plane.presenceAdd(`t${i % topics}`, entry(plane, i, `u${i}`));
  await waitForClients(plane, `t${topics - 1}`, perTopic);
  await sleep(UPKEEP_TTL_MS / 3); // let one refresh pass before counting
  const before = await redisCounters(admin);
  const cpuBefore = process.cpuUsage();
  const start = Date.now();
  await sleep(UPKEEP_PERIODS * (UPKEEP_TTL_MS / 3));
  const seconds = (Date.now() - start) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  const after = await redisCounters(admin);
  let clientCalls = 0;
  let scriptCalls = 0;
  const detail: string[] = [];
  for (const [name, calls] of after.calls) {
    const delta = calls - (before.calls.get(name) ?? 0);
    if (delta <= 0 || name === 'info') continue; // INFO: this script's own measuring
    detail.push(`${name} ${delta}`);
    // Everything else the node sends is a script call; the rest ran inside the scripts.
    if (name === 'evalsha' || name === 'eval' || name.startsWith('script')) clientCalls += delta;
    else scriptCalls += delta;
  }
  const periods = seconds / (UPKEEP_TTL_MS / 3000);
  const nodeCpuMsPerPeriod = (cpu.user + cpu.system) / 1000 / periods;
  const redisCpuMsPerPeriod = ((after.cpu - before.cpu) * 1000) / periods;
  console.log(
    `${label.padEnd(30)} per refresh: ${(clientCalls / periods).toFixed(0)} client calls, ${(scriptCalls / periods).toFixed(0)} commands in scripts, ` +
      `Redis CPU ${redisCpuMsPerPeriod.toFixed(1)} ms, node CPU ${nodeCpuMsPerPeriod.toFixed(1)} ms`,
  );
  console.log(
    `${''.padEnd(30)} at the default TTL (refresh every ${DEFAULT_REFRESH_S} s): ${(clientCalls / periods / DEFAULT_REFRESH_S).toFixed(1)} calls/s, ` +
      `${((clientCalls + scriptCalls) / periods / DEFAULT_REFRESH_S).toFixed(0)} commands/s in all, ` +
      `${((clientCalls + scriptCalls) / periods / DEFAULT_REFRESH_S / UPKEEP_ENTRIES).toFixed(4)} per connection per s; ` +
      `Redis CPU ${((redisCpuMsPerPeriod / (DEFAULT_REFRESH_S * 1000)) * 100).toFixed(3)} %, node CPU ${((nodeCpuMsPerPeriod / (DEFAULT_REFRESH_S * 1000)) * 100).toFixed(3)} %`,
  );
  console.log(`${''.padEnd(30)} (${detail.join(', ')} over ${periods.toFixed(1)} periods)`);
  await plane.close();
}

const server = await RedisProcess.start();
const admin = new Redis(server.url);
try {
  console.log(`redis ${(/redis_version:(\S+)/.exec(await admin.info('server')) ?? [])[1]} on ${server.url} (private, no persistence)`);
  const reader = new RedisControlPlane({ url: server.url, prefix: 'bench-read:' });
  await reader.start(handlerOf(reader));
  const topic = 'big';
  for (let i = 0; i < MEMBERS; i++) reader.presenceAdd(topic, entry(reader, i, `u${i % 7_000}`));
  await waitForClients(reader, topic, MEMBERS);
  console.log(`topic of ${MEMBERS} members, ${(await reader.presenceStats(topic)).users} users`);
  await timeCalls('presenceStats', 500, () => reader.presenceStats(topic));
  await timeCalls('presence, limit 100', 200, () => reader.presence(topic, 100));
  await timeCalls('presence, limit 1,000', 50, () => reader.presence(topic, 1_000));
  await timeCalls('presence, limit 10,000 (everyone)', 20, () => reader.presence(topic, 10_000));
  await reader.close();

  await upkeep(server.url, admin, '19,000 entries, 1 topic', 1);
  await upkeep(server.url, admin, '19,000 entries, 1,900 topics', 1_900);
  await upkeep(server.url, admin, '19,000 entries, 19,000 topics', 19_000);
} finally {
  admin.disconnect();
  await server.kill();
}
