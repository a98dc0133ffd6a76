/**
 * The proxies end to end: a real HeraldNode with a `"subscribe": "proxy"` namespace and/or a
 * connect proxy, a real HTTP (or gRPC) backend, and `ws` clients on gpush and herald.v1.
 */
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { HERALD_V1 } from '../../src/node.js';
import { createProxies, type Proxies } from '../../src/proxy/create-proxies.js';
import { startNode, waitUntil, type TestClient, type TestNode } from '../helpers/herald-node.js';
import { deadUrl, startGrpcBackend, startHttpBackend, type Behave, type ProxyBackend } from '../helpers/proxy-backend.js';

const NAMESPACES = [{ topics: 'order:*', subscribe: 'proxy' }];

/** Subscribes decided by topic; connects by cookie. */
const BACKEND: Behave = (request) => {
  if ('topic' in request) {
    const topic = request.topic as string;
    if (topic === 'order:refused') return { answer: { error: { code: 403, message: 'not your order' } } };
    if (topic === 'order:hang') return 'hang';
    if (topic === 'order:500') return { status: 500, text: 'oops' };
    if (topic === 'order:garbage') return { garbage: '{"result":' };
    return { answer: { result: {} } };
  }
  const cookie = (request.headers as Record<string, string>).cookie;
  if (cookie === 'session=alice') return { answer: { result: { uid: 'alice', subscriptions: [{ topic: 'news' }, { topic: 'inbox', private: true }] } } };
  if (cookie === 'session=anonymous') return { answer: { result: {} } };
  return { answer: { disconnect: { code: 4501, reason: 'no session' } } };
};

const quiet = { warn: () => undefined };

/** herald.v1 subscribe with an id; resolves with the reply carrying that id. */
async function v1Subscribe(client: TestClient, topic: string, id: number): Promise<Record<string, unknown>> {
  client.send({ code: 1, id, topic });
  for (;;) {
    const reply = (await client.nextReply()) as unknown as Record<string, unknown>;
    if (reply.id === id) return reply;
  }
}

describe('subscribe proxy end to end', { timeout: 60_000 }, () => {
  let backend: ProxyBackend | undefined;
  let proxies: Proxies | undefined;
  let node: TestNode | undefined;
  afterEach(async () => {
    await node?.stop();
    proxies?.close();
    await backend?.close();
    node = proxies = backend = undefined;
  });

  async function setUp(url: string, extra: Record<string, unknown> = {}): Promise<TestNode> {
    proxies = createProxies({ subscribeProxyUrl: url, subscribeProxyTimeoutMs: 1000, ...extra }, quiet);
    node = await startNode({ namespaces: NAMESPACES, subscribeProxy: proxies.subscribeProxy });
    proxies.registerMetrics(node.node.metrics.registry);
    return node;
  }

  it('gpush: allowed, refused with the reason, and a hanging, failing or garbled backend answered 30008 (never a hang)', async () => {
    backend = await startHttpBackend(BACKEND);
    const client = await (await setUp(backend.url)).connect();
    assert.equal((await client.subscribe('order:1')).code, 20001);
    assert.equal(backend.requests.length, 1);
    assert.deepEqual(backend.requests[0], { client: backend.requests[0]?.client, uid: null, topic: 'order:1', private: false, protocol: 'gpush' });
    assert.equal(typeof backend.requests[0]?.client, 'string');
    const refused = await client.op(1, { topic: 'order:refused' });
    assert.equal(refused.code, 30008);
    assert.match(JSON.stringify(refused.detail), /refused by the backend: not your order/);
    for (const [topic, reason] of [
      ['order:hang', 'backend timeout'],
      ['order:500', 'backend unavailable'],
      ['order:garbage', 'backend unavailable'],
    ]) {
      const reply = await client.op(1, { topic });
      assert.equal(reply.code, 30008, topic);
      assert.match(JSON.stringify(reply.detail), new RegExp(reason), topic);
    }
    // A topic outside every namespace is not asked.
    assert.equal((await client.subscribe('public')).code, 20001);
    assert.equal(backend.requests.length, 5);
    // And the subscription works: a push arrives.
    await node?.send({ topic: 'order:1' }, 'shipped');
    assert.deepEqual(await client.sync(), ['shipped']);
  });

  it('herald.v1: allowed and refused, answered to the request id; metrics counted', async () => {
    backend = await startHttpBackend(BACKEND);
    const client = await (await setUp(backend.url)).connect({ protocol: HERALD_V1 });
    assert.equal((await v1Subscribe(client, 'order:7', 1)).code, 20001);
    assert.equal(backend.requests[0]?.protocol, 'herald.v1');
    const refused = await v1Subscribe(client, 'order:refused', 2);
    assert.equal(refused.code, 30008);
    assert.match(JSON.stringify(refused), /refused by the backend: not your order/);
    const hang = await v1Subscribe(client, 'order:hang', 3);
    assert.equal(hang.code, 30008);
    assert.match(JSON.stringify(hang), /backend timeout/);
    const metrics = await (await fetch(`${node?.apiUrl}/metrics`)).text();
    assert.match(metrics, /herald_proxy_calls_total\{kind="subscribe",result="allowed"\} 1/);
    assert.match(metrics, /herald_proxy_calls_total\{kind="subscribe",result="refused"\} 1/);
    assert.match(metrics, /herald_proxy_calls_total\{kind="subscribe",result="timeout"\} 1/);
    assert.match(metrics, /herald_proxy_call_seconds_count\{kind="subscribe"\} 3/);
  });

  it('answers "backend overloaded" at once beyond the queue while the backend holds the others, then allows those', async () => {
    backend = await startHttpBackend(() => 'hold');
    const n = await setUp(backend.url, { subscribeProxyConcurrency: 2, subscribeProxyQueue: 3, subscribeProxyTimeoutMs: 30_000 });
    const clients = await Promise.all(Array.from({ length: 8 }, () => n.connect()));
    clients.forEach((client, i) => client.send({ code: 1, topic: `order:${i}` }));
    // Two checks held by the backend, three queued: whichever 3 subscribes came last are refused at once.
    await waitUntil(() => backend?.inFlight === 2 && clients.filter((c) => c.unread.length > 0).length === 3, 'three refusals');
    const refused = clients.filter((c) => c.unread.length > 0);
    for (const client of refused) assert.deepEqual(await client.nextReply(30008), { code: 30008, message: 'forbidden', detail: 'backend overloaded' });
    backend.release();
    for (const client of clients.filter((c) => !refused.includes(c))) assert.equal((await client.nextReply()).code, 20001);
    assert.equal(backend.requests.length, 5);
  });

  it('answers from the cache on a resubscribe within --subscribe-proxy-cache', async () => {
    backend = await startHttpBackend(BACKEND);
    const client = await (await setUp(backend.url, { subscribeProxyCacheMs: 60_000 })).connect();
    assert.equal((await client.subscribe('order:1')).code, 20001);
    assert.equal((await client.unsubscribe('order:1')).code, 20002);
    assert.equal((await client.subscribe('order:1')).code, 20001);
    assert.equal(backend.requests.length, 1);
  });

  it('works the same over gRPC, and a backend that is down is "backend unavailable"', async () => {
    backend = await startGrpcBackend((request) =>
      request.topic === 'order:refused' ? { answer: { error: { code: 403, message: 'no' } } } : { answer: { result: {} } },
    );
    const client = await (await setUp(backend.url)).connect({ protocol: HERALD_V1 });
    assert.equal((await v1Subscribe(client, 'order:1', 1)).code, 20001);
    assert.match(JSON.stringify(await v1Subscribe(client, 'order:refused', 2)), /refused by the backend: no/);
    await node?.stop();
    proxies?.close();
    const gone = await setUp(await deadUrl('grpc'));
    const other = await gone.connect();
    const reply = await other.op(1, { topic: 'order:1' });
    assert.equal(reply.code, 30008);
    assert.match(JSON.stringify(reply.detail), /backend unavailable/);
  });
});

describe('connect proxy end to end', { timeout: 60_000 }, () => {
  let backend: ProxyBackend | undefined;
  let proxies: Proxies | undefined;
  let node: TestNode | undefined;
  afterEach(async () => {
    await node?.stop();
    proxies?.close();
    await backend?.close();
    node = proxies = backend = undefined;
  });

  async function setUp(url: string): Promise<TestNode> {
    proxies = createProxies({ connectProxyUrl: url, connectProxyTimeoutMs: 1000 }, quiet);
    node = await startNode({ connectProxy: proxies.connectProxy });
    return node;
  }

  for (const protocol of ['gpush', HERALD_V1]) {
    it(`${protocol}: a session cookie logs the connection in with its initial subscriptions`, async () => {
      backend = await startHttpBackend(BACKEND);
      const n = await setUp(backend.url);
      const client = await n.connect({ protocol: protocol === 'gpush' ? undefined : protocol, ws: { headers: { cookie: 'session=alice', 'x-other': 'kept out' } } });
      const login = await client.nextReply(20003);
      assert.deepEqual(login.detail, { uid: 'alice' });
      const first = await client.nextReply(20005);
      const second = await client.nextReply(20005);
      assert.match(JSON.stringify([first, second]), /news/);
      assert.match(JSON.stringify([first, second]), /inbox/);
      assert.deepEqual(backend.requests[0]?.headers, { cookie: 'session=alice' });
      assert.equal(backend.requests[0]?.ip, '127.0.0.1');
      assert.equal(backend.requests[0]?.protocol, protocol);
      await n.send({ topic: 'news' }, 'hello');
      await n.send({ uid: 'alice', topic: 'inbox' }, 'private hello');
      assert.deepEqual((await client.sync()).length, 2);
    });
  }

  it('a connection closed while the backend is still deciding gives its check up: the next connection is asked at once', async () => {
    backend = await startHttpBackend((request) =>
      (request.headers as Record<string, string> | undefined)?.cookie === 'session=hang' ? 'hang' : BACKEND(request),
    );
    proxies = createProxies({ connectProxyUrl: backend.url, connectProxyTimeoutMs: 20_000, connectProxyConcurrency: 1, connectProxyQueue: 0 }, quiet);
    const n = (node = await startNode({ connectProxy: proxies.connectProxy }));
    for (let i = 0; i < 3; i++) {
      const waiting = await n.connect({ ws: { headers: { cookie: 'session=hang' } } });
      await waitUntil(() => backend?.requests.length === 2 * i + 1, 'the hanging check sent');
      await waiting.close();
      // Without giving the check up, its slot stays taken for 20 s and this one is closed 4102 "backend overloaded".
      const admitted = await n.connect({ ws: { headers: { cookie: 'session=anonymous' } } });
      assert.equal((await admitted.subscribe('news')).code, 20001);
      await admitted.close();
    }
  });

  it('an anonymous admission leaves the connection logged out but open', async () => {
    backend = await startHttpBackend(BACKEND);
    const client = await (await setUp(backend.url)).connect({ ws: { headers: { cookie: 'session=anonymous' } } });
    assert.equal((await client.subscribe('news')).code, 20001);
  });

  it('a refusal closes with 4500 and the reason; no cookie is refused too', async () => {
    backend = await startHttpBackend(BACKEND);
    const n = await setUp(backend.url);
    const client = await n.connect({ ws: { headers: { cookie: 'session=stale' } } });
    assert.deepEqual(await client.closed(), { code: 4500, reason: 'refused by the backend: no session' });
    const bare = await n.connect({ protocol: HERALD_V1 });
    assert.equal((await bare.closed()).code, 4500);
  });

  it('a backend that is down, hangs or answers garbage closes with 4102', async () => {
    const n = await setUp(await deadUrl('http'));
    const client = await n.connect({ ws: { headers: { cookie: 'session=alice' } } });
    assert.deepEqual(await client.closed(), { code: 4102, reason: 'backend unavailable' });
    await node?.stop();
    proxies?.close();
    backend = await startHttpBackend(() => 'hang');
    const hanging = await (await setUp(backend.url)).connect({ protocol: HERALD_V1, ws: { headers: { cookie: 'session=alice' } } });
    assert.deepEqual(await hanging.closed(), { code: 4102, reason: 'backend timeout' });
    await node?.stop();
    proxies?.close();
    await backend.close();
    backend = await startHttpBackend(() => ({ garbage: 'Internal Server Error' }));
    const garbled = await (await setUp(backend.url)).connect({ ws: { headers: { cookie: 'session=alice' } } });
    assert.deepEqual(await garbled.closed(), { code: 4102, reason: 'backend unavailable' });
  });
});
