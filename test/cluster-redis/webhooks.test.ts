/**
 * Webhook channel events across a Redis cluster: three Herald processes (A,
 * B, C) on the shared Redis under a unique prefix, all sending to one real
 * receiver in this process (signatures checked). A topic is occupied when its
 * first subscriber anywhere arrives and vacated when its last anywhere leaves
 * — one event for the cluster, not one per node — and a SIGKILLed node's last
 * subscriber is vacated once, by a surviving node, after its TTL.
 *
 * "No second event" is proven with fences: a node's occupancy changes go to
 * Redis one script at a time and its events leave in order, so once a node's
 * event about a fence topic (changed after X) has arrived, an event about X
 * from that node would have arrived before it.
 */
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { HeraldProcess, stopAll } from '../helpers/herald-process.js';
import { adminClient, deleteKeys, ensureRedis, uniquePrefix, waitUntil } from '../helpers/redis.js';
import { WebhookReceiver } from '../webhooks/receiver.js';
import { CLUSTER_WAIT_MS, ClusterClient, terminateAll, uniqueName } from './cluster-client.js';

const redisUrl = await ensureRedis();
const prefix = uniquePrefix();
const admin = adminClient(redisUrl);
// Short for the test, but well above a stall a loaded machine could cause (a stalled node would be swept).
const TTL_MS = 3_000;
const SECRET = 'cluster-webhook-secret';

describe('webhook channel events on a Redis cluster of three processes', () => {
  const receiver = new WebhookReceiver(SECRET);
  const nodes: Record<string, HeraldProcess> = {};
  const clients = new Set<ClusterClient>();

  before(async () => {
    await receiver.start();
    const webhooks = JSON.stringify([{ url: receiver.url, secret: SECRET }]);
    const started = await Promise.all(
      ['A', 'B', 'C'].map((name) =>
        HeraldProcess.start({
          name,
          redisUrl,
          prefix,
          args: ['--node-id', `${name}-${prefix.replace(/[^A-Za-z0-9_-]/g, '')}`.slice(0, 64), '--webhooks', webhooks, '--webhook-batch-wait', '10ms', '--presence-ttl', `${TTL_MS}ms`],
        }),
      ),
    );
    for (const node of started) nodes[node.name] = node;
  });

  after(async () => {
    terminateAll(clients);
    await stopAll(Object.values(nodes));
    await receiver.stop();
    await deleteKeys(admin, prefix);
    await admin.quit();
  });

  async function connect(node: string): Promise<ClusterClient> {
    const client = await ClusterClient.connect(nodes[node].wsUrl, { name: node });
    clients.add(client);
    return client;
  }

  const channelEvents = (type: string, topic: string) => receiver.ofType(type).filter((event) => event.topic === topic);

  async function eventFor(type: string, topic: string, count = 1, timeoutMs = CLUSTER_WAIT_MS): Promise<void> {
    await waitUntil(() => channelEvents(type, topic).length >= count, `${count} ${type} of ${topic}`, timeoutMs);
  }

  /** Each listed node occupies and vacates a topic of its own; its events about earlier changes are then all in. */
  async function fence(names: readonly string[]): Promise<void> {
    for (const name of names) {
      const topic = uniqueName(`fence-${name}`);
      const client = await connect(name);
      await client.subscribe(topic);
      await client.unsubscribe(topic);
      await eventFor('channel_vacated', topic);
    }
  }

  it('clients on three nodes subscribing to one topic: one channel_occupied, and one channel_vacated when all have left', async () => {
    const topic = uniqueName('room');
    const a = await connect('A');
    await a.subscribe(topic);
    await eventFor('channel_occupied', topic);
    const b = await connect('B');
    const c = await connect('C');
    await b.subscribe(topic);
    await c.subscribe(topic);
    await waitUntil(() => receiver.ofType('subscribe').filter((e) => e.topic === topic).length === 3, 'three subscribe events');
    await fence(['A', 'B', 'C']);
    assert.equal(channelEvents('channel_occupied', topic).length, 1);
    assert.match(channelEvents('channel_occupied', topic)[0].node, /^A-/);
    assert.equal(channelEvents('channel_vacated', topic).length, 0);

    await a.unsubscribe(topic);
    b.terminate();
    await waitUntil(() => receiver.ofType('unsubscribe').filter((e) => e.topic === topic).length === 2, 'two unsubscribe events');
    await fence(['A', 'B', 'C']);
    assert.equal(channelEvents('channel_vacated', topic).length, 0, 'one subscriber is left on C');

    await c.unsubscribe(topic);
    await eventFor('channel_vacated', topic);
    await fence(['A', 'B', 'C']);
    assert.equal(channelEvents('channel_vacated', topic).length, 1);
    assert.match(channelEvents('channel_vacated', topic)[0].node, /^C-/);
    assert.equal(channelEvents('channel_occupied', topic).length, 1);
    assert.equal(receiver.badSignatures, 0);
  });

  it('a SIGKILLed node holding the last subscriber: vacated exactly once, by a surviving node, after its TTL', async () => {
    const topic = uniqueName('lonely');
    const c = await connect('C');
    await c.subscribe(topic);
    await eventFor('channel_occupied', topic);
    // Another topic C shares with A: it stays occupied by A after C dies.
    const shared = uniqueName('shared');
    const a = await connect('A');
    await a.subscribe(shared);
    await c.subscribe(shared);
    await eventFor('channel_occupied', shared);

    await nodes.C.kill();
    await eventFor('channel_vacated', topic, 1, 4 * TTL_MS + CLUSTER_WAIT_MS);
    const [vacated] = channelEvents('channel_vacated', topic);
    assert.match(vacated.node, /^[AB]-/, 'a surviving node reports it');
    assert.equal(vacated.client, null);
    assert.equal(vacated.uid, null);
    // Several sweep periods of both survivors: a second report would have come (a safety margin, not a measurement).
    await sleep(2 * TTL_MS);
    await fence(['A', 'B']);
    assert.equal(channelEvents('channel_vacated', topic).length, 1);
    assert.equal(channelEvents('channel_vacated', shared).length, 0, 'A still holds a subscriber');
    assert.equal(channelEvents('channel_occupied', topic).length, 1);
  });
});
