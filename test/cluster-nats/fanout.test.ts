/**
 * NATS scale-out across processes: three Herald nodes (A, B, C) on a private
 * nats-server (JetStream, file store in a temp dir), each a child process of
 * dist/src/main.js. Every node pushes to one topic at the same time; a
 * herald.v1 subscriber on every node must receive every acknowledged push
 * exactly once, all in the same order, numbered 1, 2, 3… under one epoch
 * (the per-stream seq is handed out across nodes by JetStream's
 * expected-last-subject-sequence check), and each node's own pushes in the
 * order they were acknowledged. A user push and a private push reach only
 * their user, on whichever node they are.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { HeraldProcess, startHeralds, stopAll } from '../helpers/herald-process.js';
import { NatsProcess } from '../helpers/nats.js';
import { waitUntil } from '../helpers/wait.js';
import { assertContiguous, ClusterClient, JWT_SECRET, Pusher, terminateAll, tokenFor, uniqueName } from '../cluster-redis/cluster-client.js';

/** Pushes per node (bounded in count and time). */
const PUSHES_PER_NODE = 60;

describe('NATS scale-out: three Herald processes on one nats-server', { timeout: 120_000 }, () => {
  let nats: NatsProcess;
  let nodes: HeraldProcess[] = [];
  const clients = new Set<ClusterClient>();

  before(async () => {
    nats = await NatsProcess.start();
    nodes = await startHeralds(['A', 'B', 'C'], { natsUrl: nats.url, prefix: 'hfan', args: ['--jwt-secret', JWT_SECRET] });
  });

  after(async () => {
    terminateAll(clients);
    await stopAll(nodes);
    await nats.dispose();
  });

  async function connect(node: HeraldProcess, name: string): Promise<ClusterClient> {
    const client = await ClusterClient.connect(node.wsUrl, { name: `${name}@${node.name}`, heraldV1: true });
    clients.add(client);
    return client;
  }

  it('delivers every push made through any node to subscribers on every node, in one order, seq 1..n', async () => {
    const topic = uniqueName('ticks');
    const subscribers: ClusterClient[] = [];
    for (const node of nodes) {
      const client = await connect(node, 'sub');
      await client.subscribe(topic); // herald.v1: answered once the node's NATS subscription is in force
      subscribers.push(client);
    }
    const pushers = nodes.map((node) => new Pusher(node, { topic }, { label: `from${node.name}`, maxPushes: PUSHES_PER_NODE, maxMs: 60_000 }));
    await waitUntil(() => pushers.every((pusher) => !pusher.running), 'every pusher done', 90_000);
    for (const pusher of pushers) {
      assert.equal(pusher.failed.length, 0, `failed: ${JSON.stringify(pusher.failed.slice(0, 3))}`);
      assert.equal(pusher.acked.length, PUSHES_PER_NODE);
    }
    const total = PUSHES_PER_NODE * nodes.length;
    for (const client of subscribers) await client.waitFor((c) => c.data.length >= total, `${total} deliveries`);

    const reference = subscribers[0].data;
    for (const [i, client] of subscribers.entries()) {
      assert.equal(client.data.length, total, `node ${nodes[i].name}: each push once`);
      assert.deepEqual(client.data, reference, `node ${nodes[i].name}: the same order as node A`);
      const envelopes = client.envelopes;
      assert.equal(new Set(envelopes.map((e) => e.epoch)).size, 1, 'one epoch');
      assertContiguous(envelopes.map((e) => e.seq), 1, `seqs on ${nodes[i].name}`);
      for (const pusher of pushers) {
        assert.deepEqual(
          client.data.filter((payload) => payload.startsWith(`${pusher.acked[0].split('-')[0]}-`)),
          pusher.acked,
          'each node’s pushes in acknowledgement order',
        );
      }
    }
  });

  it('routes user and private pushes only to that user’s connections, on any node', async () => {
    const [alice, bob] = [uniqueName('alice'), uniqueName('bob')];
    const topic = uniqueName('inbox');
    const aliceOnC = await connect(nodes[2], 'alice');
    await aliceOnC.login(await tokenFor(alice), alice);
    await aliceOnC.subscribePrivate(topic);
    const bobOnB = await connect(nodes[1], 'bob');
    await bobOnB.login(await tokenFor(bob), bob);
    await bobOnB.subscribePrivate(topic);

    for (const [target, payload] of [
      [{ uid: alice }, 'to-alice'],
      [{ uid: alice, topic }, 'alice-private'],
      [{ uid: bob, topic }, 'bob-private'],
    ] as const) {
      const answer = await nodes[0].pushData(target, payload);
      assert.equal(answer.status, 200, answer.text);
    }
    await aliceOnC.waitForData('alice-private');
    await bobOnB.waitForData('bob-private');
    assert.deepEqual(aliceOnC.data, ['to-alice', 'alice-private']);
    assert.deepEqual(bobOnB.data, ['bob-private']);
  });
});
