/**
 * The node-wide subscription budget: `maxTopics` (distinct topics with a
 * public subscriber) and `maxSubscriptions` (public plus private, over every
 * connection). A subscribe past either gets 30005 and is counted in
 * `herald_subscriptions_refused_total`; existing subscribers keep receiving;
 * room freed by leaving clients is usable again, and the hub's indexes go
 * back to empty when every client has left.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { fakeVerifier, metricValue, startNode, waitUntil, type TestClient, type TestNode } from '../helpers/herald-node.js';

const REFUSED = 'herald_subscriptions_refused_total';

async function refusals(h: TestNode): Promise<Record<string, number | undefined>> {
  const text = (await h.request('/metrics')).text;
  return {
    node_topics: metricValue(text, `${REFUSED}{reason="node_topics"}`),
    node_subscriptions: metricValue(text, `${REFUSED}{reason="node_subscriptions"}`),
  };
}

describe('limits: maxTopics 3, maxSubscriptions 6', () => {
  let h: TestNode;
  before(async () => {
    h = await startNode({ maxTopics: 3, maxSubscriptions: 6, verifier: fakeVerifier() });
  });
  after(() => h.stop());

  it('a subscribe adding a 4th topic → 30005 (node_topics); existing topics still take subscribers and deliver', async () => {
    const a = await h.connect();
    for (const topic of ['t1', 't2', 't3']) await a.subscribe(topic);
    const refused = await a.op(1, { topic: 't4' }, 30005);
    assert.match(String(refused.detail), /3 topics/);
    const b = await h.connect();
    await b.subscribe('t1');
    await b.op(1, { topic: 'other' }, 30005);
    assert.equal(h.node.hub.topicCount, 3);
    assert.equal(h.node.hub.subscriptionCount, 4);
    await h.send({ topic: 't1' }, 'to-t1');
    assert.deepEqual(await a.sync(), ['to-t1']);
    assert.deepEqual(await b.sync(), ['to-t1']);
    assert.deepEqual(await refusals(h), { node_topics: 2, node_subscriptions: undefined });
    // Room freed by an unsubscribe can be used again.
    await a.unsubscribe('t3');
    await b.subscribe('t4');
    await h.send({ topic: 't4' }, 'to-t4');
    assert.deepEqual(await b.sync(), ['to-t4']);
    await a.close();
    await b.close();
    await waitUntil(() => h.node.hub.topicCount === 0, 'the topic index to empty');
  });

  it('past 6 subscriptions over all connections → 30005 (node_subscriptions), private ones included', async () => {
    const clients: TestClient[] = [];
    for (let i = 0; i < 3; i++) clients.push(await h.connect());
    for (const c of clients) await c.subscribe('shared');
    for (const c of clients.slice(0, 2)) await c.subscribe('shared-2');
    await clients[2].login('user:carol', 'carol');
    await clients[2].subscribePrivate('inbox');
    assert.equal(h.node.hub.subscriptionCount, 6);
    const refused = await clients[0].op(1, { topic: 'shared-3' }, 30005);
    assert.match(String(refused.detail), /6 subscriptions/);
    await clients[2].op(5, { topic: 'inbox-2' }, 30005);
    await clients[2].op(1, { topic: 'shared-2' }, 30005);
    // Subscribing again to what one holds is not a new subscription.
    await clients[0].subscribe('shared');
    await clients[2].subscribePrivate('inbox');
    assert.equal((await refusals(h)).node_subscriptions, 3);
    await h.send({ topic: 'shared' }, 'to-shared');
    await h.send({ uid: 'carol', topic: 'inbox' }, 'to-carol');
    assert.deepEqual(await clients[0].sync(), ['to-shared']);
    assert.deepEqual(await clients[2].sync(), ['to-shared', 'to-carol']);
    for (const c of clients) await c.close();
  });

  it('after every client leaves, the topic, user and subscription indexes are empty', async () => {
    const clients: TestClient[] = [];
    for (let i = 0; i < 3; i++) {
      const c = await h.connect();
      await c.login(`user:u${i}`, `u${i}`);
      await c.subscribe(`solo-${i}`);
      await c.subscribePrivate('inbox');
      clients.push(c);
    }
    assert.equal(h.node.hub.topicCount, 3);
    assert.equal(h.node.hub.userCount, 3);
    clients[0].terminate();
    for (const c of clients.slice(1)) await c.close();
    await waitUntil(() => h.node.hub.clientCount === 0, 'the node to drop every client');
    assert.equal(h.node.hub.topicCount, 0);
    assert.equal(h.node.hub.userCount, 0);
    assert.equal(h.node.hub.subscriptionCount, 0);
    const text = (await h.request('/metrics')).text;
    assert.equal(metricValue(text, 'herald_topics'), 0);
    assert.equal(metricValue(text, 'herald_subscriptions'), 0);
  });
});
