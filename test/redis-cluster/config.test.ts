/** `--redis-cluster` wiring: the engine it builds, the seed list, and the control plane's choice of a cluster plane. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { pino } from 'pino';
import { createControlPlane } from '../../src/control/create-control-plane.js';
import { RedisControlPlane } from '../../src/control/redis-control-plane.js';
import { createEngine, splitRedisUrls } from '../../src/engine/create-engine.js';
import { RedisClusterEngine } from '../../src/engine/redis-cluster-engine.js';
import { RedisEngine } from '../../src/engine/redis-engine.js';
import { ensureRedis } from '../helpers/redis.js';

const logger = pino({ level: 'silent' });
const base = { engine: 'redis' as const, redisPrefix: 'h:', historySize: 10, historyTtlMs: 60_000, presenceTtlMs: 30_000, natsUrl: 'nats://127.0.0.1:4222', natsPrefix: 'herald' };

describe('--redis-cluster', () => {
  it('splits comma-separated seed URLs, dropping blanks', () => {
    assert.deepEqual(splitRedisUrls(' redis://a:1, redis://b:2,,'), ['redis://a:1', 'redis://b:2']);
    assert.deepEqual(splitRedisUrls('redis://a:1'), ['redis://a:1']);
  });

  it('builds a RedisClusterEngine with it, a RedisEngine without', async () => {
    const cluster = createEngine({ ...base, redisUrl: 'redis://127.0.0.1:1,redis://127.0.0.1:2', redisCluster: true }, logger);
    const single = createEngine({ ...base, redisUrl: 'redis://127.0.0.1:1' }, logger);
    assert.ok(cluster instanceof RedisClusterEngine);
    assert.ok(single instanceof RedisEngine);
    await Promise.all([cluster.close(), single.close()]);
  });

  it('refuses a prefix with a hash tag, and an empty seed list, with a RangeError', () => {
    assert.throws(() => createEngine({ ...base, redisPrefix: '{h}:', redisUrl: 'redis://127.0.0.1:1', redisCluster: true }, logger), RangeError);
    assert.throws(() => createEngine({ ...base, redisUrl: ' , ', redisCluster: true }, logger), RangeError);
  });

  it('builds a cluster control plane with it: hash-tagged prefixes and empty seed lists are refused with a RangeError', async () => {
    const cluster = createControlPlane({ ...base, redisUrl: 'redis://127.0.0.1:1,redis://127.0.0.1:2', redisCluster: true }, logger);
    assert.ok(cluster instanceof RedisControlPlane);
    await cluster.close();
    assert.throws(() => createControlPlane({ ...base, redisPrefix: '{h}:', redisUrl: 'redis://127.0.0.1:1', redisCluster: true }, logger), RangeError);
    assert.throws(() => createControlPlane({ ...base, redisUrl: ' , ', redisCluster: true }, logger), RangeError);
    // One Redis keeps its names: a tagged prefix is the user's business there.
    const single = createControlPlane({ ...base, redisPrefix: '{h}:', redisUrl: 'redis://127.0.0.1:1' }, logger);
    await single.close();
  });

  it('a seed that is a plain Redis is refused at once, naming why, not after the connect timeout', async () => {
    const url = await ensureRedis();
    const engine = new RedisClusterEngine({ urls: [url], prefix: 'h:', connectTimeoutMs: 60_000 });
    const handler = { onPublication: () => undefined };
    await assert.rejects(engine.start(handler as never), (error: Error) =>
      /not ready: the seed is not a Redis Cluster node \(.*cluster support disabled\): drop --redis-cluster/.test(error.message),
    );
    await engine.close();
  });
});
