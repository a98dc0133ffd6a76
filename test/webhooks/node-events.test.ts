import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { parseWebhookTargets } from '../../src/webhooks/events.js';
import { fakeVerifier, metricValue, startNode, waitUntil, type TestNode } from '../helpers/herald-node.js';
import { WebhookReceiver, type ReceivedEvent } from './receiver.js';

const SECRET = 'node-secret';

/** The events without their time (checked apart), in arrival order. */
function shapes(events: ReceivedEvent[]): Omit<ReceivedEvent, 'time'>[] {
  return events.map(({ time: _time, ...rest }) => rest);
}

describe('webhook events of a node (memory engine)', () => {
  const cleanups: (() => Promise<void>)[] = [];
  after(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
  });

  async function nodeWith(receivers: { receiver: WebhookReceiver; events?: string[] }[]): Promise<TestNode> {
    const webhooks = parseWebhookTargets(receivers.map(({ receiver, events }) => ({ url: receiver.url, secret: SECRET, events })));
    const node = await startNode({ verifier: fakeVerifier(), webhooks, webhookBatchWaitMs: 5, webhookRetryMinMs: 20 });
    cleanups.push(() => node.stop());
    return node;
  }

  async function receiver(): Promise<WebhookReceiver> {
    const r = await new WebhookReceiver(SECRET).start();
    cleanups.push(() => r.stop());
    return r;
  }

  it('connect, subscribe, channel_occupied, unsubscribe, channel_vacated, disconnect with node, uid and client', async () => {
    const r = await receiver();
    const started = Date.now();
    const test = await nodeWith([{ receiver: r }]);
    const nodeId = test.node.controlPlane.nodeId;

    const a = await test.connect();
    await waitUntil(() => r.events.length === 1, 'the connect of A');
    const aId = r.events[0].client as string;
    assert.match(aId, new RegExp(`^${nodeId}\\.`));
    await a.login('user:alice', 'alice');
    await a.subscribe('news');
    const b = await test.connect();
    await b.subscribe('news');
    await a.subscribePrivate('inbox');
    await waitUntil(() => r.events.length === 7, 'seven events');
    const bId = r.events[3].client as string;
    assert.match(bId, new RegExp(`^${nodeId}\\.`));
    assert.notEqual(bId, aId);

    await a.unsubscribe('news');
    await b.unsubscribe('news');
    await a.close();
    await b.close();
    await waitUntil(() => r.events.length === 14, 'fourteen events');

    const node = nodeId;
    assert.deepEqual(shapes(r.events), [
      { type: 'connect', node, uid: null, client: aId },
      { type: 'subscribe', node, uid: 'alice', client: aId, topic: 'news', private: false },
      { type: 'channel_occupied', node, uid: 'alice', client: aId, topic: 'news' },
      { type: 'connect', node, uid: null, client: bId },
      { type: 'subscribe', node, uid: null, client: bId, topic: 'news', private: false },
      { type: 'subscribe', node, uid: 'alice', client: aId, topic: 'inbox', private: true },
      { type: 'channel_occupied', node, uid: 'alice', client: aId, topic: 'inbox' },
      { type: 'unsubscribe', node, uid: 'alice', client: aId, topic: 'news', private: false },
      { type: 'unsubscribe', node, uid: null, client: bId, topic: 'news', private: false },
      { type: 'channel_vacated', node, uid: null, client: bId, topic: 'news' },
      // A's close: its private subscription ends with its login, then the disconnect (uid still known).
      { type: 'unsubscribe', node, uid: 'alice', client: aId, topic: 'inbox', private: true },
      { type: 'channel_vacated', node, uid: 'alice', client: aId, topic: 'inbox' },
      { type: 'disconnect', node, uid: 'alice', client: aId },
      { type: 'disconnect', node, uid: null, client: bId },
    ]);
    assert.notEqual(aId, bId);
    for (const event of r.events) assert.ok(event.time >= started && event.time <= Date.now(), `time ${event.time} is epoch ms`);
    assert.equal(r.badSignatures, 0);
    const metrics = await test.request('/metrics');
    assert.equal(metricValue(metrics.text, `herald_webhook_events_delivered_total{url="${r.url}"}`), 14);
    assert.equal(metricValue(metrics.text, `herald_webhook_events_dropped_total{url="${r.url}"}`) ?? 0, 0);
  });

  it('each URL gets only the events it asked for', async () => {
    const all = await receiver();
    const channels = await receiver();
    const test = await nodeWith([{ receiver: all }, { receiver: channels, events: ['channel_occupied', 'channel_vacated'] }]);
    const c = await test.connect();
    await c.subscribe('room');
    await c.close();
    await waitUntil(() => channels.events.length === 2 && all.events.length === 6, 'the events of both URLs');
    assert.deepEqual(channels.events.map((e) => e.type), ['channel_occupied', 'channel_vacated']);
    assert.deepEqual(all.events.map((e) => e.type), ['connect', 'subscribe', 'channel_occupied', 'unsubscribe', 'channel_vacated', 'disconnect']);
  });

  it('stop() delivers the events of the clients it closes before it resolves', async () => {
    const r = await receiver();
    const webhooks = parseWebhookTargets([{ url: r.url, secret: SECRET }]);
    // A long batch wait: only the stop's flush can send the last events in time.
    const test = await startNode({ webhooks, webhookBatchWaitMs: 60_000, webhookBatchSize: 1000 });
    const c1 = await test.connect();
    const c2 = await test.connect();
    await c1.subscribe('t');
    await c2.subscribe('t');
    await test.stop();
    assert.deepEqual(r.events.map((e) => e.type).sort(), [
      'channel_occupied', 'channel_vacated', 'connect', 'connect', 'disconnect', 'disconnect', 'subscribe', 'subscribe', 'unsubscribe', 'unsubscribe',
    ]);
  });

  it('a node without webhooks builds no webhook component', async () => {
    const test = await startNode();
    cleanups.push(() => test.stop());
    assert.equal(test.node.webhooks, undefined);
    const metrics = await test.request('/metrics');
    assert.equal(metricValue(metrics.text, 'herald_webhook_events_dropped_total'), undefined);
  });
});
