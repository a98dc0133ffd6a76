/**
 * Where a node's streams start and how they continue, with two in-process
 * nodes (A pushes, B serves the clients) on the shared Redis:
 * - B's pub/sub connection is killed (CLIENT KILL ID, B's own connection only,
 *   found by its CLIENT SETNAME) and a push is made through A before B is back:
 *   B's subscriber gets it as soon as B has resubscribed, without another push,
 *   whether or not B had seen the stream before;
 * - a node that lost its last subscriber to a topic and gains a new one starts
 *   the stream at its head: nothing published meanwhile is replayed to the
 *   newcomer (nor to a client coming back to a node it left).
 */
import assert from 'node:assert/strict';
import { after, describe, it, type TestContext } from 'node:test';
import { RedisEngine } from '../../src/engine/redis-engine.js';
import { startNode, type TestNode } from '../helpers/herald-node.js';
import { adminClient, deleteKeys, ensureRedis, subscriberCount, uniquePrefix, waitUntil } from '../helpers/redis.js';
import { CLUSTER_WAIT_MS, ClusterClient, terminateAll, uniqueName } from './cluster-client.js';

const redisUrl = await ensureRedis();
const admin = adminClient(redisUrl);
after(() => admin.quit());

/** Nodes A and B on a fresh prefix; clients, nodes and keys are cleaned up when the test ends. */
async function twoNodes(t: TestContext) {
  const prefix = uniquePrefix();
  const clients: ClusterClient[] = [];
  const nodes: TestNode[] = [];
  t.after(async () => {
    terminateAll(clients);
    for (const node of nodes) await node.stop();
    await deleteKeys(admin, prefix);
  });
  // B reconnects after ~1 s, so a push made right after its connection is killed reliably misses it.
  for (const reconnectBaseMs of [100, 1000]) {
    nodes.push(await startNode({ engine: new RedisEngine({ url: redisUrl, prefix, reconnectBaseMs, reconnectMaxMs: 2000 }) }));
  }
  const [A, B] = nodes;
  return {
    A,
    B,
    async connect(node: TestNode, name: string, heraldV1 = false): Promise<ClusterClient> {
      const client = await ClusterClient.connect(node.wsUrl, { name, heraldV1 });
      clients.push(client);
      return client;
    },
    async waitForSubscribers(topic: string, expected: number): Promise<void> {
      await waitUntil(
        async () => (await subscriberCount(admin, `${prefix}t:${topic}`)) === expected,
        `PUBSUB NUMSUB ${prefix}t:${topic} = ${expected}`,
        CLUSTER_WAIT_MS,
      );
    },
  };
}

async function push(node: TestNode, topic: string, payload: string): Promise<void> {
  await node.send({ topic }, payload);
}

/** Kill `node`'s pub/sub connection in Redis, and no other (by the connection's name, then its ID). */
async function killSubscriberConnection(node: TestNode): Promise<void> {
  const engine = node.node.engine as RedisEngine;
  const list = (await admin.call('CLIENT', 'LIST', 'TYPE', 'pubsub')) as string;
  const line = list.split('\n').find((l) => l.includes(` name=herald-subscriber-${engine.instanceId} `));
  const id = line === undefined ? undefined : /(?:^|\s)id=(\d+)\s/.exec(line)?.[1];
  assert.ok(id !== undefined, `no pub/sub connection named herald-subscriber-${engine.instanceId} in ${list}`);
  assert.equal(await admin.call('CLIENT', 'KILL', 'ID', id), 1);
  await waitUntil(() => !engine.ready, 'B to notice its lost connection', CLUSTER_WAIT_MS);
}

describe('stream positions on a node (Redis engine, two nodes)', { timeout: 120_000 }, () => {
  it('a push made while B’s pub/sub connection is down reaches B’s subscriber once B resubscribes, with no further push', async (t) => {
    const { A, B, connect, waitForSubscribers } = await twoNodes(t);
    const topic = uniqueName('blip');
    const client = await connect(B, 'v1@B', true);
    await client.subscribe(topic);
    await waitForSubscribers(topic, 1);

    // Round 1: B has never received anything of the stream. Round 2: it has.
    for (const [round, payload] of [
      [1, 'p1'],
      [2, 'p3'],
    ] as const) {
      await killSubscriberConnection(B);
      await push(A, topic, payload); // acknowledged while B cannot receive it live
      await client.waitForData(payload);
      assert.equal(B.node.orderedDelivery?.recoveries, round, `round ${round}: the push was filled from history`);
      if (round === 1) {
        await push(A, topic, 'p2');
        await client.waitForData('p2');
      }
    }
    await push(A, topic, 'p4');
    await client.waitForData('p4');
    assert.deepEqual(client.data, ['p1', 'p2', 'p3', 'p4'], 'every acknowledged push, once, in order');
    assert.deepEqual(
      client.envelopes.map((e) => e.seq),
      [1, 2, 3, 4],
    );
  });

  it('a new subscriber on a node that lost its last one gets nothing published before it subscribed', async (t) => {
    const { A, B, connect, waitForSubscribers } = await twoNodes(t);
    const topic = uniqueName('late');
    const first = await connect(B, 'first@B');
    await first.subscribe(topic);
    await waitForSubscribers(topic, 1);
    for (const payload of ['old1', 'old2', 'old3']) await push(A, topic, payload);
    await first.waitForData('old3');
    first.terminate();
    await waitForSubscribers(topic, 0);

    for (let i = 4; i <= 10; i++) await push(A, topic, `old${i}`);
    const newcomer = await connect(B, 'newcomer@B');
    await newcomer.subscribe(topic);
    await waitForSubscribers(topic, 1);
    await push(A, topic, 'new');
    await newcomer.waitForData('new');
    assert.deepEqual(newcomer.data, ['new'], 'nothing from before the subscription');
  });

  it('a client moving A → B → A gets each push once', async (t) => {
    const { A, B, connect, waitForSubscribers } = await twoNodes(t);
    const topic = uniqueName('mover');
    const received: string[] = [];
    let n = 0;
    for (const node of [A, B, A]) {
      const client = await connect(node, `mover@${node === A ? 'A' : 'B'}`);
      await client.subscribe(topic);
      await waitForSubscribers(topic, 1);
      const pushes = [++n, ++n, ++n].map((i) => `m${i}`);
      for (const payload of pushes) await push(node === A ? B : A, topic, payload);
      await client.waitForData(pushes[2]);
      received.push(...client.data);
      client.terminate();
      await waitForSubscribers(topic, 0);
    }
    assert.deepEqual(received, ['m1', 'm2', 'm3', 'm4', 'm5', 'm6', 'm7', 'm8', 'm9']);
  });
});
