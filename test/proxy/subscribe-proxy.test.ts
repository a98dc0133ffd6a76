import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { afterEach, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { Registry } from 'prom-client';
import { ProxyMetrics } from '../../src/proxy/proxy-metrics.js';
import { BackendSubscribeProxy, type BackendSubscribeProxyOptions } from '../../src/proxy/subscribe-proxy.js';
import type { SubscribeCheck } from '../../src/session/proxy-hooks.js';
import { deadUrl, startGrpcBackend, startHttpBackend, type Behave, type ProxyBackend } from '../helpers/proxy-backend.js';
import { waitUntil } from '../helpers/wait.js';

const check = (topic: string, uid: string | null = 'alice', priv = false): SubscribeCheck => ({
  client: 'c1',
  uid,
  topic,
  private: priv,
  protocol: 'herald.v1',
});

/** A logger that keeps its warnings. */
function recordingLogger(): { warn(object: object, message: string): void; lines: string[] } {
  const lines: string[] = [];
  return { lines, warn: (object, message) => void lines.push(`${message} ${JSON.stringify(object)}`) };
}

async function metricValues(registry: Registry): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const metric of await registry.getMetricsAsJSON()) {
    if (metric.name !== 'herald_proxy_calls_total') continue;
    for (const value of metric.values) out[`${value.labels.kind}/${value.labels.result}`] = value.value;
  }
  return out;
}

const BEHAVIOURS: Behave = (request) => {
  const topic = request.topic as string;
  if (topic === 'refuse') return { answer: { error: { code: 403, message: 'not your order' } } };
  if (topic === 'refuse-silent') return { answer: { error: { code: 403 } } };
  if (topic === 'hang') return 'hang';
  if (topic === 'fail') return { status: 500, text: 'database on fire' };
  if (topic === 'garbage') return { garbage: '<html>oops' };
  if (topic === 'shape') return { answer: { ok: true } };
  if (topic === 'slow') return { answer: { result: {} }, delayMs: 50 };
  if (topic === 'expiring') return { answer: { result: { expireAt: 4_102_444_800_000 } } };
  if (topic === 'seconds') return { answer: { result: { expireAt: 1_700_000_000 } } };
  return { answer: { result: {} } };
};

describe('BackendSubscribeProxy over HTTP', { timeout: 30_000 }, () => {
  let backend: ProxyBackend | undefined;
  let proxy: BackendSubscribeProxy | undefined;
  afterEach(async () => {
    proxy?.close();
    await backend?.close();
    proxy = backend = undefined;
  });

  async function setUp(options: Partial<BackendSubscribeProxyOptions> = {}, behave: Behave = BEHAVIOURS): Promise<BackendSubscribeProxy> {
    backend = await startHttpBackend(behave);
    proxy = new BackendSubscribeProxy({ url: backend.url, timeoutMs: 1000, ...options });
    return proxy;
  }

  it('posts the documented JSON and reads allow, refuse, slow and expiring answers', async () => {
    const p = await setUp();
    assert.deepEqual(await p.check(check('order:1')), { allowed: true });
    assert.deepEqual(backend?.requests[0], { client: 'c1', uid: 'alice', topic: 'order:1', private: false, protocol: 'herald.v1' });
    assert.equal(backend?.headers[0]['content-type'], 'application/json');
    assert.deepEqual(await p.check(check('refuse')), { allowed: false, reason: 'refused by the backend: not your order' });
    assert.deepEqual(await p.check(check('refuse-silent')), { allowed: false, reason: 'refused by the backend' });
    assert.deepEqual(await p.check(check('slow')), { allowed: true });
    assert.deepEqual(await p.check(check('expiring')), { allowed: true, expiresAt: 4_102_444_800_000 });
    await p.check(check('order:1', null, false));
    assert.equal(backend?.requests.at(-1)?.uid, null);
    assert.deepEqual(await p.check(check('commande:é🙂')), { allowed: true });
    assert.equal(backend?.requests.at(-1)?.topic, 'commande:é🙂');
  });

  it('sends the URL\'s credentials as basic auth, and leaves them out of log lines', async () => {
    backend = await startHttpBackend(() => ({ status: 503, text: 'busy' }));
    const logger = recordingLogger();
    proxy = new BackendSubscribeProxy({ url: backend.url.replace('http://', 'http://herald:s3cret@'), logger });
    await proxy.check(check('order:1'));
    assert.equal(backend.headers[0].authorization, `Basic ${Buffer.from('herald:s3cret').toString('base64')}`);
    assert.equal(logger.lines.length, 1);
    assert.doesNotMatch(logger.lines[0], /s3cret/);
  });

  it('answers a hanging backend "backend timeout", a 500 or garbage "backend unavailable" with a log line', async () => {
    const logger = recordingLogger();
    const p = await setUp({ logger });
    assert.deepEqual(await p.check(check('hang')), { allowed: false, reason: 'backend timeout' });
    assert.deepEqual(await p.check(check('fail')), { allowed: false, reason: 'backend unavailable' });
    assert.match(logger.lines.join('\n'), /HTTP 500: \\"database on fire\\"/);
    // One line a second at most: the throttle would swallow the next ones within this test.
    const garbage = new BackendSubscribeProxy({ url: backend?.url as string, logger: recordingLogger() });
    const shape = new BackendSubscribeProxy({ url: backend?.url as string, logger: recordingLogger() });
    const seconds = new BackendSubscribeProxy({ url: backend?.url as string, logger: recordingLogger() });
    try {
      assert.deepEqual(await garbage.check(check('garbage')), { allowed: false, reason: 'backend unavailable' });
      assert.deepEqual(await shape.check(check('shape')), { allowed: false, reason: 'backend unavailable' });
      assert.deepEqual(await seconds.check(check('seconds')), { allowed: false, reason: 'backend unavailable' });
    } finally {
      garbage.close();
      shape.close();
      seconds.close();
    }
  });

  it('logs a malformed answer once, naming what was wrong', async () => {
    const logger = recordingLogger();
    const p = await setUp({ logger });
    await p.check(check('seconds'));
    assert.equal(logger.lines.length, 1);
    assert.match(logger.lines[0], /malformed answer.*expireAt must be epoch milliseconds/);
  });

  it('frees the slot of an answer whose body stalls, once its deadline passes', async () => {
    let stall = true;
    const p = await setUp({ concurrency: 1, timeoutMs: 1000 }, () => (stall ? 'stall' : { answer: { result: {} } }));
    assert.deepEqual(await p.check(check('a')), { allowed: false, reason: 'backend timeout' });
    stall = false;
    assert.deepEqual(await p.check(check('b')), { allowed: true });
  });

  it('reads no answer larger than 64 KiB: "backend unavailable", and the slot is free again', async () => {
    let huge = true;
    const message = 'x'.repeat(1024 * 1024);
    const p = await setUp({ concurrency: 1, timeoutMs: 5000 }, () => (huge ? { answer: { error: { code: 403, message } } } : { answer: { result: {} } }));
    assert.deepEqual(await p.check(check('a')), { allowed: false, reason: 'backend unavailable' });
    huge = false;
    assert.deepEqual(await p.check(check('b')), { allowed: true });
  });

  it('answers "backend unavailable" when nothing listens', async () => {
    proxy = new BackendSubscribeProxy({ url: await deadUrl('http'), logger: recordingLogger() });
    assert.deepEqual(await proxy.check(check('order:1')), { allowed: false, reason: 'backend unavailable' });
  });

  it('asks again on a new socket when a kept-alive one was closed by the backend as it was reused', async () => {
    // The backend drops every connection on its second request, unanswered: the race of a
    // keep-alive timeout, made certain.
    const served = new WeakSet<Socket>();
    let dropped = 0;
    const server = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        if (served.has(req.socket)) {
          dropped++;
          return void req.socket.destroy();
        }
        served.add(req.socket);
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"result":{}}');
      });
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    proxy = new BackendSubscribeProxy({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`, concurrency: 1, logger: recordingLogger() });
    try {
      for (let i = 0; i < 3; i++) assert.deepEqual(await proxy.check(check(`t${i}`)), { allowed: true });
      assert.equal(dropped, 2);
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });

  it('keeps at most `concurrency` requests in flight and queues the rest in order', async () => {
    const p = await setUp({ concurrency: 2, queue: 10, timeoutMs: 10_000 }, () => 'hold');
    const verdicts = Promise.all([1, 2, 3, 4, 5, 6].map((n) => p.check(check(`t${n}`))));
    await waitUntil(() => backend?.inFlight === 2, 'two held requests');
    assert.equal(backend?.requests.length, 2);
    backend?.release();
    assert.deepEqual(await verdicts, Array(6).fill({ allowed: true }));
    assert.equal(backend?.maxInFlight, 2);
    assert.deepEqual(
      backend?.requests.map((r) => r.topic),
      ['t1', 't2', 't3', 't4', 't5', 't6'],
    );
  });

  it('answers "backend overloaded" at once beyond the queue, and "backend timeout" to a call that waited too long', async () => {
    const p = await setUp({ concurrency: 1, queue: 2, timeoutMs: 400 }, () => 'hold');
    const held = [p.check(check('a')), p.check(check('b')), p.check(check('c'))];
    assert.deepEqual(await p.check(check('d')), { allowed: false, reason: 'backend overloaded' });
    // Nobody releases the held request: the first and the two queued run out of time.
    assert.deepEqual(await Promise.all(held), Array(3).fill({ allowed: false, reason: 'backend timeout' }));
    // Only the first was sent (it may not have reached the backend before its deadline on a busy machine).
    assert.ok((backend?.requests.length ?? 0) <= 1, 'queued calls that timed out were never sent');
  });

  it('asks once for identical checks in flight together', async () => {
    const p = await setUp({ timeoutMs: 10_000 }, () => 'hold');
    const verdicts = Promise.all(Array.from({ length: 5 }, () => p.check(check('room:1'))));
    const other = p.check(check('room:1', 'bob'));
    await waitUntil(() => backend?.inFlight === 2, 'two held requests');
    backend?.release();
    assert.deepEqual(await verdicts, Array(5).fill({ allowed: true }));
    assert.deepEqual(await other, { allowed: true });
    assert.equal(backend?.requests.length, 2);
  });

  it('caches allowed answers per (uid, topic, private) until the cache time, never refusals', async () => {
    let now = 1_000_000;
    const registry = new Registry();
    const metrics = new ProxyMetrics();
    metrics.register(registry);
    const p = await setUp({ cacheMs: 5000, now: () => now, metrics });
    await p.check(check('room:1'));
    await p.check(check('room:1'));
    assert.equal(backend?.requests.length, 1, 'second check answered from the cache');
    await p.check(check('room:1', 'bob'));
    await p.check(check('room:1', 'alice', true));
    await p.check(check('room:1', null));
    assert.equal(backend?.requests.length, 4, 'another uid, private flag or anonymous is another key');
    await p.check(check('refuse'));
    await p.check(check('refuse'));
    assert.equal(backend?.requests.length, 6, 'refusals are asked again');
    now += 5001;
    await p.check(check('room:1'));
    assert.equal(backend?.requests.length, 7, 'expired answer asked again');
    assert.deepEqual(await metricValues(registry), { 'subscribe/allowed': 5, 'subscribe/cached': 1, 'subscribe/refused': 2 });
  });

  it('keeps an answer no later than its expireAt, and at most maxCacheEntries (oldest out first)', async () => {
    let now = 4_102_444_700_000;
    const p = await setUp({ cacheMs: 600_000, maxCacheEntries: 2, now: () => now });
    await p.check(check('expiring'));
    now += 100_001; // past expireAt, within cacheMs
    await p.check(check('expiring'));
    assert.equal(backend?.requests.length, 2);
    await p.check(check('a'));
    await p.check(check('b'));
    assert.equal(p.cacheSize, 2);
    await p.check(check('b'));
    assert.equal(backend?.requests.length, 4, 'b is cached');
    await p.check(check('expiring'));
    assert.equal(backend?.requests.length, 5, 'expiring is asked again: an answer past its expireAt is not kept');
    // Eviction itself, with answers that do not expire: x pushes a (the oldest) out, b stays.
    await p.check(check('x'));
    await p.check(check('b'));
    assert.equal(backend?.requests.length, 6, 'b is still cached');
    await p.check(check('a'));
    assert.equal(backend?.requests.length, 7, 'a was pushed out by x');
  });

  it('fails pending and later checks "backend unavailable" once closed', async () => {
    const p = await setUp({ timeoutMs: 10_000 }, () => 'hold');
    const pending = p.check(check('x'));
    await waitUntil(() => backend?.inFlight === 1, 'a held request');
    p.close();
    assert.deepEqual(await pending, { allowed: false, reason: 'backend unavailable' });
    assert.deepEqual(await p.check(check('y')), { allowed: false, reason: 'backend unavailable' });
  });

  it('refuses a URL that is neither http(s) nor grpc(s)', () => {
    assert.throws(() => new BackendSubscribeProxy({ url: 'ftp://example.com/' }), TypeError);
    assert.throws(() => new BackendSubscribeProxy({ url: 'not a url' }), TypeError);
    assert.throws(() => new BackendSubscribeProxy({ url: 'grpc://host-without-port' }), TypeError);
    assert.throws(() => new BackendSubscribeProxy({ url: 'http://x/', concurrency: 0 }), RangeError);
  });
});

describe('BackendSubscribeProxy over gRPC', { timeout: 30_000 }, () => {
  let backend: ProxyBackend | undefined;
  let proxy: BackendSubscribeProxy | undefined;
  afterEach(async () => {
    proxy?.close();
    await backend?.close();
    proxy = backend = undefined;
  });

  const grpcBehaviours: Behave = (request) => {
    const topic = request.topic as string;
    if (topic === 'refuse') return { answer: { error: { code: 403, message: 'not your order' } } };
    if (topic === 'hang') return 'hang';
    if (topic === 'fail') return { status: grpc.status.INTERNAL, text: 'database on fire' };
    if (topic === 'empty') return { answer: {} };
    if (topic === 'expiring') return { answer: { result: { expire_at: 4_102_444_800_000 } } };
    // 100 KiB: past the 64 KiB an answer may have (as over HTTP); grpc-js alone would read 4 MiB.
    if (topic === 'huge') return { answer: { error: { code: 403, message: 'x'.repeat(100 * 1024) } } };
    return { answer: { result: {} } };
  };

  it('calls herald.v1.Backend/Subscribe and reads its answers like the JSON ones', async () => {
    backend = await startGrpcBackend(grpcBehaviours);
    proxy = new BackendSubscribeProxy({ url: backend.url, timeoutMs: 1000, logger: recordingLogger() });
    assert.deepEqual(await proxy.check(check('order:1', null, false)), { allowed: true });
    assert.deepEqual(backend.requests[0], { client: 'c1', uid: '', topic: 'order:1', private: false, protocol: 'herald.v1' });
    assert.deepEqual(await proxy.check(check('refuse')), { allowed: false, reason: 'refused by the backend: not your order' });
    assert.deepEqual(await proxy.check(check('expiring')), { allowed: true, expiresAt: 4_102_444_800_000 });
    assert.deepEqual(await proxy.check(check('hang')), { allowed: false, reason: 'backend timeout' });
    assert.deepEqual(await proxy.check(check('fail')), { allowed: false, reason: 'backend unavailable' });
    assert.deepEqual(await proxy.check(check('empty')), { allowed: false, reason: 'backend unavailable' });
  });

  it('reads no answer larger than 64 KiB, as over HTTP', async () => {
    backend = await startGrpcBackend(grpcBehaviours);
    proxy = new BackendSubscribeProxy({ url: backend.url, timeoutMs: 5000, logger: recordingLogger() });
    assert.deepEqual(await proxy.check(check('huge')), { allowed: false, reason: 'backend unavailable' });
    assert.deepEqual(await proxy.check(check('order:1')), { allowed: true }, 'the channel still serves');
  });

  it('answers "backend unavailable" when nothing listens', async () => {
    proxy = new BackendSubscribeProxy({ url: await deadUrl('grpc'), timeoutMs: 5000, logger: recordingLogger() });
    assert.deepEqual(await proxy.check(check('order:1')), { allowed: false, reason: 'backend unavailable' });
  });
});
