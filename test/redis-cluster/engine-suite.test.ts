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

describe('Redis Cluster publish order', () => {
  it('keeps publish order when ioredis re-sends after MOVED (a stale slot map)', async () => {
    const engine = new RedisClusterEngine({ urls: cluster.urls.slice(0, 1), prefix: `${runPrefix}order:`, historySize: 10 });
    const positions: number[] = [];
    try {
      await engine.start({ onPublication: () => {} });
      const topic = `order-${randomBytes(4).toString('hex')}`;
      const slot = hashSlot(clusterStreamKeys(`${runPrefix}order:`, streamOf({ topic }))[0]);
      // ioredis's slot map (its `slots` array of node keys) now names a master that does not own the slot:
      // every command for it bounces with MOVED and is re-sent by ioredis, which also corrects the map at
      // the first MOVED, so publishes called after that go straight to the owner.
      const command = (engine as unknown as { command: { slots: string[][] } }).command;
      const owner = command.slots[slot][0];
      const other = (await cluster.masters()).find((node) => `127.0.0.1:${node.port}` !== owner);
      assert.ok(other, 'another master');
      command.slots[slot] = [`127.0.0.1:${other.port}`];
      const count = 300;
      const calls: Promise<unknown>[] = [];
      for (let i = 0; i < count; i++) {
        calls.push(engine.publish({ topic, data: Buffer.from(String(i)) }).then((p) => (positions[i] = p?.seq ?? -1)));
        // Calls spread over a few turns, so some are made after the map was corrected.
        if (i % 25 === 24) await new Promise((resolve) => setImmediate(resolve));
      }
      await Promise.all(calls);
      assert.deepEqual(positions, Array.from({ length: count }, (_, i) => i + 1));
      const history = await engine.history(streamOf({ topic }), { seq: count - 10, epoch: (await engine.head(streamOf({ topic }))).epoch });
      assert.equal(history.recovered, true);
      if (history.recovered) assert.deepEqual(history.publications.map((p) => p.data.toString()), Array.from({ length: 10 }, (_, i) => String(count - 10 + i)));
    } finally {
      await engine.close();
    }
  });
});
