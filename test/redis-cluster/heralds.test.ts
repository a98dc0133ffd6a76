/**
 * `herald serve --engine redis --redis-cluster` end to end: three Herald
 * processes (dist/src/main.js) on a Redis Cluster of this file's own (3
 * masters + 3 replicas). Pushes made through any node reach subscribers on
 * every node, in push order; what a backend asks one node (presence,
 * disconnect) answers for, and reaches, connections on every node; a
 * master SIGKILLed under bounded load: a herald.v1 client resuming after it
 * gets every acknowledged push, or `recovered: false` — never silent loss.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, afterEach, before, describe, it } from 'node:test';
import { HeraldProcess, startHeralds, stopAll } from '../helpers/herald-process.js';
import { RedisCluster } from '../helpers/redis-cluster.js';
import { waitUntil } from '../helpers/wait.js';
import { clusterChannel, hashSlot } from '../../src/engine/redis-cluster-keys.js';
import { CLUSTER_WAIT_MS, ClusterClient, JWT_SECRET, terminateAll, tokenFor, uniqueName } from '../cluster-redis/cluster-client.js';

const ARGS = ['--jwt-secret', JWT_SECRET, '--presence-ttl', '2s', '--presence'];
const PUSHES = 30;

describe('three Herald processes on a Redis Cluster (--redis-cluster)', { timeout: 180_000 }, () => {
  let cluster: RedisCluster;
  let nodes: HeraldProcess[] = [];
  const clients = new Set<ClusterClient>();
  const connect = async (node: HeraldProcess, name: string, heraldV1 = false): Promise<ClusterClient> => {
    const client = await ClusterClient.connect(node.wsUrl, { name: `${name}@${node.name}`, heraldV1 });
    clients.add(client);
    return client;
  };

  const prefix = `herald-test-${randomBytes(4).toString('hex')}:`;
  before(async () => {
    cluster = await RedisCluster.start();
    // Each node is given a different single seed: the rest of the cluster is learnt from it.
    nodes = await Promise.all(
      ['A', 'B', 'C'].map((name, i) =>
        HeraldProcess.start({ name, redisUrl: cluster.urls[i], redisCluster: true, prefix, args: ARGS }),
      ),
    );
  });
  afterEach(() => {
    terminateAll(clients);
    clients.clear();
  });
  after(async () => {
    terminateAll(clients);
    await stopAll(nodes);
    await cluster?.stop();
  });

  it('each node names its engine redis-cluster in its start line', () => {
    for (const node of nodes) assert.equal(node.started.engine, 'redis-cluster');
  });

  it('delivers every push, made through any node, to subscribers on every node in order', async () => {
    const topic = uniqueName('news');
    const subscribers = await Promise.all(nodes.map((node) => connect(node, 'subscriber')));
    for (const subscriber of subscribers) await subscriber.subscribe(topic);
    // Each node's SSUBSCRIBE is in force once a probe pushed through it reaches every subscriber.
    for (let probe = 0; ; probe++) {
      assert.ok(probe < 50, 'a probe reaches every subscriber');
      const answer = await nodes[probe % 3].pushData({ topic }, `probe-${probe}`);
      assert.equal(answer.status, 200, answer.text);
      try {
        await Promise.all(subscribers.map((s) => s.waitForData(`probe-${probe}`, 1_000)));
        break;
      } catch {
        // not everywhere yet: the next probe
      }
    }
    const sent: string[] = [];
    for (let i = 0; i < PUSHES; i++) {
      const payload = `m-${i}`;
      const answer = await nodes[i % 3].pushData({ topic }, payload);
      assert.equal(answer.status, 200, `push ${payload} through ${nodes[i % 3].name}: ${answer.status} ${answer.text}`);
      sent.push(payload);
    }
    for (const subscriber of subscribers) {
      await subscriber.waitForData(sent[sent.length - 1]);
      assert.deepEqual(subscriber.data.filter((data) => data.startsWith('m-')), sent, `order on ${subscriber.name}`);
    }
  });

  it('presence-stats asked of B counts clients on A and C; disconnect sent to B closes them on A and C', async () => {
    const [A, B, C] = nodes;
    const topic = uniqueName('room');
    const alice1 = await connect(A, 'alice');
    const alice2 = await connect(C, 'alice');
    const bob = await connect(A, 'bob');
    await alice1.login(await tokenFor('alice'), 'alice');
    await alice2.login(await tokenFor('alice'), 'alice');
    await bob.login(await tokenFor('bob'), 'bob');
    await alice1.subscribe(topic);
    await alice2.subscribe(topic);
    await waitUntil(
      async () => (await B.request(`/v1/presence-stats?topic=${topic}`)).json?.clients === 2,
      'presence-stats on B to count both',
      CLUSTER_WAIT_MS,
    );
    assert.deepEqual((await B.request(`/v1/presence-stats?topic=${topic}`)).json, { clients: 2, users: 1 });
    const info = await B.request('/v1/info');
    assert.equal(info.status, 200);
    assert.equal((info.json.nodes as unknown[]).length, 3);

    const res = await B.request('/v1/disconnect', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ uid: 'alice', code: 4100, reason: 'banned' }),
    });
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(res.json, { disconnected: 2 });
    assert.deepEqual(await alice1.closed(), { code: 4100, reason: 'banned' });
    assert.deepEqual(await alice2.closed(), { code: 4100, reason: 'banned' });
    await waitUntil(
      async () => (await B.request(`/v1/presence-stats?topic=${topic}`)).json?.clients === 0,
      'presence to empty after the kick',
      CLUSTER_WAIT_MS,
    );
  });

  // Last: it kills a master (its replica takes over; the cluster stays up for nothing after this).
  it('a master SIGKILLed under load: a resuming herald.v1 client gets every acknowledged push, or recovered:false', async (t) => {
    const [A, B] = nodes;
    const topic = uniqueName('failover');
    const master = await cluster.masterOf(hashSlot(clusterChannel(prefix, { topic })));
    const first = await connect(A, 'first', true);
    await first.subscribe(topic);
    for (let probe = 0; ; probe++) {
      assert.ok(probe < 50, 'a probe reaches the subscriber');
      assert.equal((await A.pushData({ topic }, `probe-${probe}`)).status, 200);
      try {
        await first.waitForData(`probe-${probe}`, 1_000);
        break;
      } catch {
        // the next probe
      }
    }
    const acked: string[] = [];
    const refused: number[] = [];
    let killedAt = -1;
    const deadline = Date.now() + 60_000;
    // Bounded: at most 400 pushes and 60 s; 20 before the kill, then until 20 more were acknowledged.
    for (let i = 0; i < 400 && Date.now() < deadline; i++) {
      if (i === 20) {
        await first.waitForData(acked[acked.length - 1]);
        first.terminate(); // it resumes later, from the last position it saw
        await master.kill();
        killedAt = acked.length;
      }
      const answer = await nodes[i % 3].pushData({ topic }, `f-${i}`);
      if (answer.status === 200) acked.push(`f-${i}`);
      else refused.push(answer.status);
      if (killedAt >= 0 && acked.length >= killedAt + 20) break;
      if (answer.status !== 200) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    assert.ok(killedAt >= 0 && acked.length >= killedAt + 20, `20 pushes acknowledged after the failover (refused: ${refused.join(',')})`);
    for (const status of refused) assert.equal(status, 503, 'a push during the election is refused with 503');
    const last = first.lastPosition;
    assert.ok(last !== undefined);
    const resumed = await connect(B, 'resumed', true);
    const reply = await resumed.subscribe(topic, last);
    t.diagnostic(`resume after the failover: recovered=${String(reply.recovered)}; ${acked.length} acknowledged, ${refused.length} refused`);
    if (reply.recovered === true) {
      // Every acknowledged push after what `first` saw comes back, in order, none missing.
      await resumed.waitForData(acked[acked.length - 1]);
      const seen = [...first.data, ...resumed.data];
      for (const payload of acked) assert.ok(seen.includes(payload), `acknowledged ${payload} was delivered or recovered`);
    } else {
      // The new master lacked writes the old one had acknowledged: reported as a gap, not hidden.
      assert.equal(reply.recovered, false, `resume answered ${JSON.stringify(reply)}`);
    }
  });
});
