/**
 * The SDK's HTTP-stream fallback against a real node, in Node (`ws` and
 * Node's own fetch), behind a loopback proxy that refuses WebSocket upgrades
 * (403) until told otherwise: the client falls back to `POST /v1/stream`
 * with its login and subscriptions (public and private), keeps receiving,
 * reopens the stream for a new subscription without losing the others'
 * pushes, and moves back to WebSocket once upgrades pass — every push
 * delivered exactly once, in order. (The same in Chromium:
 * fallback-browser.test.ts.)
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { HeraldError, type ClientTransport } from '../../src/client/index.js';
import { fakeVerifier, startNode, type TestNode } from '../helpers/herald-node.js';
import { UpgradeGateProxy } from '../helpers/upgrade-gate-proxy.js';
import { makeClient, waitUntil } from './client-harness.js';

let h: TestNode;
let proxy: UpgradeGateProxy;

before(async () => {
  h = await startNode({ verifier: fakeVerifier() });
  proxy = await new UpgradeGateProxy(h.wsPort, Number(new URL(h.apiUrl).port)).start();
});

after(async () => {
  await proxy?.close();
  await h?.stop();
});

describe('client fallback to HTTP streaming, end to end', { timeout: 60_000 }, () => {
  it('falls back, keeps receiving (public and private), reopens for a new topic, and moves back to WebSocket without loss', async () => {
    const suffix = randomBytes(4).toString('hex');
    const news = `news-${suffix}`;
    const sports = `sports-${suffix}`;
    const { client, record } = makeClient({
      url: proxy.wsUrl,
      token: 'user:alice',
      reconnect: { baseMs: 10, maxMs: 50 },
      fallback: { afterFailures: 3, retryWebSocketMs: 100, retryWebSocketMaxMs: 200 },
    });
    const transports: ClientTransport[] = [];
    client.on('transport', (t) => transports.push(t));
    const got: Record<string, string[]> = { news: [], inbox: [], sports: [] };
    const newsSub = client.subscribe(news, (m) => got.news.push(String(m.data)));
    const inboxSub = client.subscribe('inbox', (m) => got.inbox.push(String(m.data)), { private: true });
    try {
      client.connect();
      await Promise.all([newsSub.ready, inboxSub.ready]);
      assert.equal(client.transport, 'stream');
      assert.ok(proxy.refused >= 3, 'N upgrades refused first');
      assert.equal(proxy.streamRequests, 1);

      await h.send({ topic: news }, 'n1');
      await h.send({ uid: 'alice', topic: 'inbox' }, 'i1');
      await h.send({ uid: 'alice' }, 'to alice');
      await waitUntil(() => got.news.length === 1 && got.inbox.length === 1 && record.texts.includes('to alice'), 'deliveries on the stream');
      await assert.rejects(client.publish(news, 'x'), /needs a WebSocket/);

      // A new subscription reopens the stream; pushes to the held topic meanwhile are not lost.
      const sportsSub = client.subscribe(sports, (m) => got.sports.push(String(m.data)));
      for (let i = 2; i <= 6; i++) await h.send({ topic: news }, `n${i}`);
      await sportsSub.ready;
      assert.equal(proxy.streamRequests, 2);
      await h.send({ topic: sports }, 's1');
      await waitUntil(() => got.news.length === 6 && got.sports.length === 1, 'news n2…n6 and sports s1');

      // Upgrades pass again: pushes continue while the client moves back.
      proxy.refusing = false;
      let i = 7;
      while (client.transport === 'stream' && i <= 200) await h.send({ topic: news }, `n${i++}`);
      for (const end = i + 5; i < end; i++) await h.send({ topic: news }, `n${i}`);
      const last = i - 1;
      await waitUntil(() => got.news.length >= last, `news up to n${last}`);
      assert.deepEqual(got.news, Array.from({ length: last }, (_, k) => `n${k + 1}`), 'every push once, in order');
      assert.deepEqual(transports, ['stream', 'websocket']);
      // WebSocket operations reach the server again (a topic of no namespace refuses client publishes: 30008).
      await assert.rejects(client.publish(news, 'x'), (e: unknown) => e instanceof HeraldError && e.code === 30008);
    } finally {
      client.close();
    }
    assert.ok(proxy.passed >= 1);
    assert.deepEqual(got.inbox, ['i1']);
    assert.deepEqual(got.sports, ['s1']);
    assert.deepEqual(record.errors.map((e) => e.message), []);
  });

  it('a subscription the server refuses on the stream is dropped (ready rejects); the others go on', async () => {
    proxy.refusing = true;
    const topic = `ok-${randomBytes(4).toString('hex')}`;
    const { client, record } = makeClient({ url: proxy.wsUrl, reconnect: { baseMs: 10, maxMs: 50 }, fallback: { afterFailures: 1 } });
    const got: string[] = [];
    try {
      const ok = client.subscribe(topic, (m) => got.push(String(m.data)));
      const bad = client.subscribe('x'.repeat(300), () => {});
      client.connect();
      await assert.rejects(bad.ready, (e: unknown) => e instanceof HeraldError && e.code === 30004);
      await ok.ready;
      assert.equal(client.transport, 'stream');
      await h.send({ topic }, 'still here');
      await waitUntil(() => got.length === 1, 'the push to the other topic');
      assert.deepEqual(record.errors.map((e) => (e as HeraldError).code), [30004]);
    } finally {
      client.close();
    }
  });
});
