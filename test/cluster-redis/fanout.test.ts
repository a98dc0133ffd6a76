/**
 * Redis scale-out across processes: three Herald nodes (A, B, C) on the shared
 * Redis (127.0.0.1:6379, a unique key prefix), each a child process of
 * dist/src/main.js. Pushes go through one node's HTTP API and must reach the
 * right connections on every node — and nothing else.
 *
 * "Did NOT arrive" is proven with fences, never with sleeps: every node gets
 * its publications over one Redis subscriber connection, in publish order, and
 * a node hands them to its connections synchronously in that order. So once a
 * broadcast pushed after X has reached a connection, X would have reached it
 * before if it was going to.
 */
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import { HeraldProcess, startHeralds, stopAll } from '../helpers/herald-process.js';
import { adminClient, deleteKeys, ensureRedis, subscriberCount, uniquePrefix, waitUntil } from '../helpers/redis.js';
import { CLUSTER_WAIT_MS, ClusterClient, JWT_SECRET, terminateAll, tokenFor, uniqueName } from './cluster-client.js';

const redisUrl = await ensureRedis();
const prefix = uniquePrefix();
const admin = adminClient(redisUrl);

describe('Redis scale-out: three Herald processes on one Redis', () => {
  let A: HeraldProcess;
  let B: HeraldProcess;
  let C: HeraldProcess;
  const clients = new Set<ClusterClient>();

  before(async () => {
    [A, B, C] = await startHeralds(['A', 'B', 'C'], { redisUrl, prefix, args: ['--jwt-secret', JWT_SECRET] });
  });

  afterEach(() => {
    terminateAll(clients);
    clients.clear();
  });

  after(async () => {
    terminateAll(clients);
    await stopAll([A, B, C]);
    await deleteKeys(admin, prefix);
    await admin.quit();
  });

  async function connect(node: HeraldProcess, name: string, heraldV1 = false): Promise<ClusterClient> {
    const client = await ClusterClient.connect(node.wsUrl, { name: `${name}@${node.name}`, heraldV1 });
    clients.add(client);
    return client;
  }

  /** Wait until Redis counts `expected` subscribers (node connections) on `channel`. */
  async function waitForSubscribers(channel: string, expected: number): Promise<void> {
    await waitUntil(
      async () => (await subscriberCount(admin, `${prefix}${channel}`)) === expected,
      `PUBSUB NUMSUB ${prefix}${channel} = ${expected}`,
      CLUSTER_WAIT_MS,
    );
  }

  /** Push through `node` and require `200 {}`. */
  async function push(node: HeraldProcess, target: { uid?: string; topic?: string }, payload: string): Promise<void> {
    const answer = await node.pushData(target, payload);
    assert.equal(answer.status, 200, `push ${payload} through ${node.name}: ${answer.status} ${answer.text}`);
    assert.deepEqual(answer.json, {});
  }

  it('routes topic, broadcast, private and user pushes made through one node to the right connections on every node', async () => {
    const news = uniqueName('news');
    const orders = uniqueName('orders');
    const alice = uniqueName('alice');
    const bob = uniqueName('bob');
    const nodes = { A, B, C };

    // gpush clients: public subscribers of `news` everywhere, idle connections everywhere,
    // and a public subscriber of `orders` on A (it must not see alice's private push).
    const newsSubscribers: Record<string, ClusterClient> = {};
    const idle: Record<string, ClusterClient> = {};
    for (const [name, node] of Object.entries(nodes)) {
      newsSubscribers[name] = await connect(node, 'news-subscriber');
      await newsSubscribers[name].subscribe(news);
      idle[name] = await connect(node, 'idle');
    }
    const ordersPublicA = await connect(A, 'orders-public');
    await ordersPublicA.subscribe(orders);

    // alice (herald.v1) on every node: on B she holds only a PUBLIC subscription to `orders`,
    // on C a PRIVATE one; bob holds a private `orders` subscription on C.
    const aliceToken = await tokenFor(alice);
    const aliceOn: Record<string, ClusterClient> = {};
    for (const [name, node] of Object.entries(nodes)) {
      aliceOn[name] = await connect(node, 'alice', true);
      await aliceOn[name].login(aliceToken, alice);
    }
    await aliceOn.B.subscribe(orders);
    await aliceOn.C.subscribePrivate(orders);
    const bobC = await connect(C, 'bob', true);
    await bobC.login(await tokenFor(bob), bob);
    await bobC.subscribePrivate(orders);

    // Redis knows each node's interest before anything is pushed.
    await waitForSubscribers('all', 3);
    await waitForSubscribers(`t:${news}`, 3);
    await waitForSubscribers(`u:${alice}`, 3);
    await waitForSubscribers(`u:${bob}`, 1);

    await push(A, { topic: news }, 'news-1');
    await push(A, {}, 'all-1');
    await push(A, { uid: alice, topic: orders }, 'alice-orders-1');
    await push(A, { uid: alice }, 'alice-1');
    await push(C, {}, 'all-2'); // the fence: after it, nothing else is on its way

    const everyone = [...clients];
    await Promise.all(everyone.map((client) => client.waitForData('all-2')));

    for (const name of Object.keys(nodes)) {
      assert.deepEqual(newsSubscribers[name].data, ['news-1', 'all-1', 'all-2'], `news subscriber on ${name}`);
      assert.deepEqual(idle[name].data, ['all-1', 'all-2'], `idle connection on ${name}`);
    }
    assert.deepEqual(ordersPublicA.data, ['all-1', 'all-2'], 'a public subscriber gets no private push');
    assert.deepEqual(aliceOn.A.data, ['all-1', 'alice-1', 'all-2'], 'alice on A (no private subscription)');
    assert.deepEqual(aliceOn.B.data, ['all-1', 'alice-1', 'all-2'], 'alice on B (public subscription only)');
    assert.deepEqual(aliceOn.C.data, ['all-1', 'alice-orders-1', 'alice-1', 'all-2'], 'alice on C (private subscription)');
    assert.deepEqual(bobC.data, ['all-1', 'all-2'], 'bob gets none of alice’s pushes');

    // herald.v1 envelopes: every node numbers a stream the same way (one seq and epoch in Redis).
    const [all1, privateOrders, user1, all2] = aliceOn.C.envelopes;
    assert.equal(all1.all, true);
    assert.equal(privateOrders.private, true);
    assert.equal(privateOrders.topic, orders);
    assert.equal(privateOrders.seq, 1);
    assert.equal(user1.user, true);
    assert.equal(user1.topic, undefined);
    assert.equal(user1.seq, 1);
    assert.equal(all2.seq, all1.seq + 1);
    assert.equal(all2.epoch, all1.epoch);
    for (const name of ['A', 'B']) {
      const envelopes = aliceOn[name].envelopes;
      assert.deepEqual(envelopes[0], all1, `alice on ${name} got the same broadcast envelope`);
      assert.deepEqual(envelopes[1], user1, `alice on ${name} got the same user envelope`);
      assert.deepEqual(envelopes[2], all2);
    }
  });

  it('interest routing: Redis sends a topic only to nodes with subscribers to it', async () => {
    const x = uniqueName('x');
    const channel = `t:${x}`;
    const fences = { A: await connect(A, 'fence'), B: await connect(B, 'fence'), C: await connect(C, 'fence') };
    await waitForSubscribers(channel, 0);

    const onB = await connect(B, 'x-subscriber');
    await onB.subscribe(x);
    await waitForSubscribers(channel, 1); // B's subscriber connection, nobody else's

    const published = async (): Promise<Record<string, number>> => ({
      A: await A.metric('herald_publications_total'),
      B: await B.metric('herald_publications_total'),
      C: await C.metric('herald_publications_total'),
    });
    const fence = async (payload: string): Promise<void> => {
      await push(A, {}, payload);
      await Promise.all([...Object.values(fences), onB].map((client) => client.waitForData(payload)));
    };

    const start = await published();
    const pushes = 20;
    for (let i = 0; i < pushes; i++) {
      await push(A, { topic: x }, `x-${i}`);
      assert.equal(await A.metric('herald_publications_total'), start.A, 'A (the pushing node, no subscriber) routes nothing of X');
      assert.equal(await C.metric('herald_publications_total'), start.C, 'C (no subscriber) routes nothing of X');
    }
    await fence('fence-1');
    assert.deepEqual(onB.data, [...Array.from({ length: pushes }, (_, i) => `x-${i}`), 'fence-1']);
    const afterX = await published();
    assert.deepEqual(
      { A: afterX.A - start.A, B: afterX.B - start.B, C: afterX.C - start.C },
      { A: 1, B: pushes + 1, C: 1 },
      'publications routed per node: the fence everywhere, X on B only',
    );
    assert.equal(await subscriberCount(admin, `${prefix}${channel}`), 1);

    // Unsubscribing B's only subscriber drops B's interest in Redis …
    await onB.unsubscribe(x);
    await waitForSubscribers(channel, 0);
    // … and so does a subscriber that just disconnects.
    const second = await connect(B, 'x-subscriber-2');
    await second.subscribe(x);
    await waitForSubscribers(channel, 1);
    second.terminate();
    await waitForSubscribers(channel, 0);

    const quiet = await published();
    for (let i = 0; i < 5; i++) await push(A, { topic: x }, `x-late-${i}`);
    await fence('fence-2');
    const end = await published();
    assert.deepEqual(
      { A: end.A - quiet.A, B: end.B - quiet.B, C: end.C - quiet.C },
      { A: 1, B: 1, C: 1 },
      'with no subscriber anywhere, X reaches no node (only the fence does)',
    );
    assert.deepEqual(onB.data.slice(pushes + 1), ['fence-2'], 'the unsubscribed client got nothing more of X');
  });
});
