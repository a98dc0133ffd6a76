/**
 * The shared engine suite on a Redis Cluster of this file's own (3 masters +
 * 3 replicas), plus what is particular to the cluster: the key layout keeps a
 * publication's keys and channel in one slot, and hash slots match Redis's.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { RedisClusterEngine } from '../../src/engine/redis-cluster-engine.js';
import { clusterChannel, clusterStreamKeys, hashSlot } from '../../src/engine/redis-cluster-keys.js';
import { streamOf } from '../../src/engine/engine.js';
import { RedisCluster } from '../helpers/redis-cluster.js';
import { runEngineSuite } from '../engine/engine-suite.js';

let cluster: RedisCluster;
before(async () => {
  cluster = await RedisCluster.start();
});
after(async () => {
  await cluster?.stop();
});

const runPrefix = `herald-test-${randomBytes(4).toString('hex')}:`;
let fixtures = 0;

runEngineSuite('RedisClusterEngine', async ({ historySize }) => {
  const engine = new RedisClusterEngine({ urls: cluster.urls.slice(0, 2), prefix: `${runPrefix}${++fixtures}:`, historySize });
  return {
    engine,
    routesByInterest: true,
    interestSettled: () => engine.settled(),
    async cleanup() {
      await engine.close();
    },
  };
});

describe('Redis Cluster key layout', () => {
  it('computes the same hash slot as CLUSTER KEYSLOT, hash tags included', async () => {
    const names = ['', 'a', 'herald:{t:news}', 'x{}y', '{}{a}', 'p:{u:é\\(x}seq', 'foo{bar}{zap}', 'x'.repeat(300), 'ünïcødé'];
    const node = cluster.nodes[0];
    for (const name of names) assert.equal(hashSlot(name), Number(await cluster.command(node, ['CLUSTER', 'KEYSLOT', name])), name);
  });

  it('keeps every key of a stream and its channel in one slot, and names stay distinct', () => {
    const cases = [
      { topic: 'news' },
      { uid: 'ann' },
      { uid: 'ann', topic: 'news' },
      {},
      { topic: 'a}b{c\\' },
      { uid: '}', topic: '{' },
    ];
    const seen = new Set<string>();
    for (const target of cases) {
      const keys = clusterStreamKeys('h:', streamOf(target));
      const channel = clusterChannel('h:', target.uid !== undefined ? { uid: target.uid } : target);
      for (const key of keys) {
        assert.equal(hashSlot(key), hashSlot(channel), `${key} vs ${channel}`);
        assert.ok(!seen.has(key), key);
        seen.add(key);
      }
    }
    assert.notEqual(clusterChannel('h:', { topic: 'a}' }), clusterChannel('h:', { topic: 'a{' }));
    assert.notEqual(clusterChannel('h:', { uid: 'x' }), clusterChannel('h:', { topic: 'x' }));
  });

  it('refuses a prefix holding a hash tag', () => {
    assert.throws(() => new RedisClusterEngine({ urls: cluster.urls, prefix: 'h{x}:' }), RangeError);
  });
});
