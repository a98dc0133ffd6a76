/**
 * The shared control-plane suite on a Redis Cluster of this file's own
 * (3 masters + 3 replicas), plus what is particular to the cluster: each
 * group of keys a script touches sits in one hash slot, and topics whose
 * names hold `{` or `}` keep their presence keys together; webhook
 * occupancy (all of its keys under `{occ}`) runs on the cluster too.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { Cluster, Redis } from 'ioredis';
import { RedisControlPlane } from '../../src/control/redis-control-plane.js';
import { clusterNames } from '../../src/control/redis-control-names.js';
import { hashSlot } from '../../src/engine/redis-cluster-keys.js';
import { clusterSeed } from '../../src/engine/redis-connection.js';
import { RedisCluster } from '../helpers/redis-cluster.js';
import { RedisOccupancy } from '../../src/webhooks/redis-occupancy.js';
import { eventually, FakeHandler, runControlPlaneSuite, unique } from '../control/control-plane-suite.js';

let cluster: RedisCluster;
let admin: Cluster;
before(async () => {
  cluster = await RedisCluster.start();
  admin = new Cluster(cluster.urls.map(clusterSeed));
});
after(async () => {
  admin?.disconnect();
  await cluster?.stop();
});

const runPrefix = `herald-test-${randomBytes(4).toString('hex')}:`;
let fixtures = 0;

runControlPlaneSuite('RedisControlPlane on a Redis Cluster (3 nodes)', async ({ presenceTtlMs, replyTimeoutMs }) => {
  const prefix = `${runPrefix}${++fixtures}:`;
  // Each plane knows one seed only: the rest of the cluster is learnt from it.
  const planes = [0, 1, 2].map((i) => new RedisControlPlane({ clusterUrls: [cluster.urls[i]], prefix, presenceTtlMs, replyTimeoutMs }));
  const extra: Redis[] = [];
  return {
    planes,
    settled: (plane) => (plane as RedisControlPlane).settled(),
    fenceFor(topic) {
      // Sharded pub/sub orders messages per shard only: a fence in the topic's slot (found by trying names).
      const names = clusterNames(prefix);
      const slot = hashSlot(names.joinLeave(topic));
      for (let i = 0; ; i++) {
        const fence = `fence-${i}`;
        if (hashSlot(names.joinLeave(fence)) === slot) return fence;
      }
    },
    async addSilentNode() {
      // A hung node: SSUBSCRIBEd to the control channel on its shard and listed as live, but it never answers.
      const names = clusterNames(prefix);
      const master = await cluster.masterOf(hashSlot(names.control));
      const silent = new Redis(master.url);
      extra.push(silent);
      await silent.ssubscribe(names.control);
      const info = { id: 'silent', address: '127.0.0.1:1', connections: 0, subscriptions: 0, uptimeMs: 0, version: 'x', at: Date.now() };
      await admin.set(`${names.registry}:silent`, JSON.stringify(info), 'PX', 60_000);
      await admin.zadd(names.registry, Date.now() + 60_000, 'silent');
    },
    async cleanup() {
      await Promise.all(planes.map((plane) => plane.close()));
      for (const connection of extra) connection.disconnect();
      await admin.del(`${clusterNames(prefix).registry}:silent`, clusterNames(prefix).registry);
    },
  };
});

describe('RedisControlPlane on a Redis Cluster: key layout', () => {
  it('puts each script’s keys in one slot, and spreads topics over slots', () => {
    const names = clusterNames('h:');
    for (const topic of ['news', 'a}b', '}x', '{', 'a\\)b', '']) {
      const slots = new Set(names.presence(topic).map(hashSlot));
      assert.equal(slots.size, 1, `presence keys of ${JSON.stringify(topic)}`);
    }
    // Escaping is injective: `a}b` and `a` never share keys or channels.
    assert.notEqual(names.presence('a}b')[0], names.presence('a')[0]);
    assert.notEqual(names.joinLeave('a}b'), names.joinLeave('a'));
    assert.equal(hashSlot(names.registry), hashSlot(`${names.registry}:node-1`));
    assert.equal(hashSlot(names.control), hashSlot(names.reply('node-1')));
    const topicSlots = new Set(Array.from({ length: 20 }, (_, i) => hashSlot(names.presence(`topic-${i}`)[0])));
    assert.ok(topicSlots.size > 1, 'topics land in different slots');
  });

  it('keeps presence and join/leave working for topics whose names hold braces', async () => {
    const prefix = `${runPrefix}braces:`;
    const planes = [0, 1].map((i) => new RedisControlPlane({ clusterUrls: [cluster.urls[i]], prefix, presenceTtlMs: 1_500 }));
    try {
      const handlers = planes.map(
        (plane) => new FakeHandler({ id: plane.nodeId, address: '127.0.0.1:1', connections: 0, subscriptions: 0, uptimeMs: 0, version: 'test' }),
      );
      await Promise.all(planes.map((plane, i) => plane.start(handlers[i])));
      const topic = `${unique('br')}}{x}`;
      planes[1].watchJoinLeave(topic, true);
      await planes[1].settled();
      const entry = { client: 'c1', uid: 'u1', node: planes[0].nodeId, connectedAt: 1 };
      planes[0].presenceAdd(topic, entry);
      planes[0].publishJoinLeave({ kind: 'join', topic, entry });
      await eventually(() => planes[1].presenceStats(topic), (stats) => stats.clients === 1 && stats.users === 1, 'presence on another node');
      await eventually(async () => handlers[1].events, (events) => events.some((event) => event.topic === topic), 'join event on another node');
      const listed = await planes[1].presence(topic, 10);
      assert.deepEqual(listed, [entry]);
    } finally {
      await Promise.all(planes.map((plane) => plane.close()));
    }
  });
});

describe('webhook occupancy on a Redis Cluster', () => {
  it('runs its scripts on the cluster: a topic occupied and vacated is reported once each', async () => {
    const prefix = `${runPrefix}occ:`;
    type Seen = { node: string; type: string; topic: string };
    const seen: Seen[] = [];
    const local = [new Set<string>(), new Set<string>()];
    const occupancies = [0, 1].map((i) => new RedisOccupancy({ url: '', clusterUrls: [cluster.urls[i]], prefix, nodeId: `n${i}`, ttlMs: 3_000 }));
    try {
      await Promise.all(occupancies.map((occupancy, i) => occupancy.start((type, topic) => seen.push({ node: `n${i}`, type, topic }), () => local[i])));
      const topic = unique('room');
      const cause = { uid: null, client: 'c' };
      local[0].add(topic);
      occupancies[0].occupy(topic, cause);
      await eventually(async () => seen.filter((s) => s.topic === topic).length, (n) => n === 1, 'occupied reported');
      local[0].delete(topic);
      occupancies[0].vacate(topic, cause);
      const reports = await eventually(async () => seen.filter((s) => s.topic === topic), (list) => list.length >= 2, 'vacated reported');
      assert.deepEqual(reports.map((r) => `${r.node} ${r.type}`), ['n0 channel_occupied', 'n0 channel_vacated']);
    } finally {
      await Promise.all(occupancies.map((occupancy) => occupancy.close()));
    }
  });
});
