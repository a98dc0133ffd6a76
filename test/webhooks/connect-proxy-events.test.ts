/**
 * Webhook connect/disconnect events with a connect proxy: a real HeraldNode, the real
 * BackendConnectProxy against a local HTTP backend, and a real webhook receiver. `connect` is
 * sent once the backend admitted the connection, with the uid it gave and before the initial
 * subscriptions; a refused connection (or one that closes before the verdict) sends nothing.
 */
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { createProxies, type Proxies } from '../../src/proxy/create-proxies.js';
import { parseWebhookTargets } from '../../src/webhooks/events.js';
import { startNode, waitUntil, type TestNode } from '../helpers/herald-node.js';
import { startHttpBackend, type Behave, type ProxyBackend } from '../helpers/proxy-backend.js';
import { WebhookReceiver, type ReceivedEvent } from './receiver.js';

const SECRET = 'connect-proxy-secret';
const quiet = { warn: () => undefined };

const BACKEND: Behave = (request) => {
  const cookie = (request.headers as Record<string, string>).cookie;
  if (cookie === 'session=alice') return { answer: { result: { uid: 'alice', subscriptions: [{ topic: 'news' }] } } };
  if (cookie === 'session=anonymous') return { answer: { result: {} } };
  if (cookie === 'session=held') return 'hold';
  return { answer: { disconnect: { code: 4501, reason: 'no session' } } };
};

/** The events without their time and node, in arrival order. */
function shapes(events: ReceivedEvent[]): Omit<ReceivedEvent, 'time' | 'node'>[] {
  return events.map(({ time: _time, node: _node, ...rest }) => rest);
}

describe('webhook connect/disconnect with a connect proxy', { timeout: 60_000 }, () => {
  let backend: ProxyBackend | undefined;
  let proxies: Proxies | undefined;
  let node: TestNode | undefined;
  let receiver: WebhookReceiver | undefined;
  afterEach(async () => {
    await node?.stop();
    proxies?.close();
    await backend?.close();
    await receiver?.stop();
    node = proxies = backend = receiver = undefined;
  });

  async function setUp(): Promise<{ n: TestNode; r: WebhookReceiver; b: ProxyBackend }> {
    const b = (backend = await startHttpBackend(BACKEND));
    const r = (receiver = await new WebhookReceiver(SECRET).start());
    proxies = createProxies({ connectProxyUrl: b.url, connectProxyTimeoutMs: 5_000 }, quiet);
    const webhooks = parseWebhookTargets([{ url: r.url, secret: SECRET }]);
    const n = (node = await startNode({ connectProxy: proxies.connectProxy, webhooks, webhookBatchWaitMs: 5, webhookRetryMinMs: 20 }));
    return { n, r, b };
  }

  it('an admitted connection: connect carries the backend uid and comes before its initial subscriptions', async () => {
    const { n, r, b } = await setUp();
    const client = await n.connect({ ws: { headers: { cookie: 'session=alice' } } });
    await client.nextReply(20003);
    await client.nextReply(20005);
    await client.close();
    await waitUntil(() => r.events.length === 6, 'six events');
    const id = r.events[0]?.client;
    assert.equal(typeof id, 'string');
    assert.equal(id, b.requests[0]?.client, 'the id the backend was shown');
    assert.deepEqual(shapes(r.events), [
      { type: 'connect', uid: 'alice', client: id },
      { type: 'subscribe', uid: 'alice', client: id, topic: 'news', private: false },
      { type: 'channel_occupied', uid: 'alice', client: id, topic: 'news' },
      { type: 'unsubscribe', uid: 'alice', client: id, topic: 'news', private: false },
      { type: 'channel_vacated', uid: 'alice', client: id, topic: 'news' },
      { type: 'disconnect', uid: 'alice', client: id },
    ]);
  });

  it('a refused connection sends neither connect nor disconnect; an anonymous admission sends both with uid null', async () => {
    const { n, r, b } = await setUp();
    const refused = await n.connect({ ws: { headers: { cookie: 'session=stale' } } });
    assert.equal((await refused.closed()).code, 4500);
    const anonymous = await n.connect({ ws: { headers: { cookie: 'session=anonymous' } } });
    // Admitted before it closes (a close before the verdict reports nothing).
    await waitUntil(() => r.ofType('connect').length === 1, 'the anonymous connection admitted');
    await anonymous.close();
    // Events of one node arrive in order: once the later connection's disconnect is in, the refused one's would be too.
    await waitUntil(() => r.ofType('disconnect').length === 1, 'the anonymous connection disconnect');
    const refusedId = b.requests[0]?.client;
    const anonymousId = b.requests[1]?.client;
    assert.equal(typeof refusedId, 'string');
    assert.ok(!r.events.some((event) => event.client === refusedId), 'nothing about the refused connection');
    assert.deepEqual(shapes(r.events), [
      { type: 'connect', uid: null, client: anonymousId },
      { type: 'disconnect', uid: null, client: anonymousId },
    ]);
  });

  it('a connection closed before the verdict sends nothing, even when the backend then allows it', async () => {
    const { n, r, b } = await setUp();
    const held = await n.connect({ ws: { headers: { cookie: 'session=held' } } });
    await waitUntil(() => b.requests.length === 1, 'the backend to be asked');
    held.terminate();
    await waitUntil(() => n.node.hub.clientCount === 0, 'the node to drop the held connection');
    b.release();
    await waitUntil(() => b.inFlight === 0, 'the held answer to be sent');
    const later = await n.connect({ ws: { headers: { cookie: 'session=anonymous' } } });
    // Admitted before it closes (a close before the verdict would report nothing, as above).
    await waitUntil(() => r.ofType('connect').length === 1, 'the later connection admitted');
    await later.close();
    await waitUntil(() => r.ofType('disconnect').length === 1, 'the later connection disconnect');
    assert.deepEqual(
      r.events.map((event) => [event.type, event.client]),
      [
        ['connect', b.requests[1]?.client],
        ['disconnect', b.requests[1]?.client],
      ],
    );
  });
});
