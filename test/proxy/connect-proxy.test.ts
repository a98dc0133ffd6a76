import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { BackendConnectProxy, type BackendConnectProxyOptions } from '../../src/proxy/connect-proxy.js';
import type { ConnectCheck } from '../../src/session/proxy-hooks.js';
import { deadUrl, startGrpcBackend, startHttpBackend, type Behave, type ProxyBackend } from '../helpers/proxy-backend.js';
import { waitUntil } from '../helpers/wait.js';

const SESSION = 'session=abc; theme=dark';

const check = (cookie: string, extra: Record<string, string> = {}): ConnectCheck => ({
  client: 'c7',
  ip: '10.1.2.3',
  headers: { cookie, 'user-agent': 'test', 'x-tenant': 'acme', ...extra },
  protocol: 'gpush',
});

const quiet = { warn: () => undefined };

/** The backend decides by the cookie, as a session-cookie backend would. */
const BY_COOKIE: Behave = (request) => {
  const cookie = ((request.headers ?? {}) as Record<string, string>).cookie ?? '';
  if (cookie === SESSION) {
    return { answer: { result: { uid: 'alice', expireAt: 4_102_444_800_000, subscriptions: [{ topic: 'news' }, { topic: 'inbox', private: true }] } } };
  }
  if (cookie === 'anonymous') return { answer: { result: {} } };
  if (cookie === 'banned') return { answer: { disconnect: { code: 4501, reason: 'banned' } } };
  if (cookie === 'expired') return { answer: { error: { code: 401, message: 'session expired' } } };
  if (cookie === 'hang') return 'hang';
  if (cookie === 'fail') return { status: 502, text: 'bad gateway' };
  if (cookie === 'garbage') return { garbage: 'nope' };
  if (cookie === 'bad-uid') return { answer: { result: { uid: 'a\u0000b' } } };
  if (cookie === 'private-anon') return { answer: { result: { subscriptions: [{ topic: 'inbox', private: true }] } } };
  return { answer: { error: { code: 401 } } };
};

describe('BackendConnectProxy over HTTP', { timeout: 30_000 }, () => {
  let backend: ProxyBackend | undefined;
  let proxy: BackendConnectProxy | undefined;
  afterEach(async () => {
    proxy?.close();
    await backend?.close();
    proxy = backend = undefined;
  });

  async function setUp(options: Partial<BackendConnectProxyOptions> = {}): Promise<BackendConnectProxy> {
    backend = await startHttpBackend(BY_COOKIE);
    proxy = new BackendConnectProxy({ url: backend.url, timeoutMs: 1000, logger: quiet, ...options });
    return proxy;
  }

  it('gives a check up when its signal aborts (the connection closed): its queue place or its slot goes to the next', async () => {
    const p = await setUp({ concurrency: 1, queue: 1, timeoutMs: 20_000 });
    const first = new AbortController();
    const second = new AbortController();
    const inFlight = p.check({ ...check('hang'), signal: first.signal });
    const queued = p.check({ ...check('hang'), signal: second.signal });
    await waitUntil(() => backend?.requests.length === 1, 'the first check sent');
    const gone = { allowed: false, unavailable: true, reason: 'backend unavailable' };
    assert.deepEqual(await p.check(check('anonymous')), { allowed: false, unavailable: true, reason: 'backend overloaded' });
    second.abort();
    assert.deepEqual(await queued, gone);
    first.abort();
    assert.deepEqual(await inFlight, gone);
    // Asked at once, long before the abandoned checks' 20 s deadline.
    assert.deepEqual(await p.check(check('anonymous')), { allowed: true });
    assert.equal(backend?.requests.length, 2, 'the queued check was never sent');
    assert.deepEqual(await p.check({ ...check('anonymous'), signal: AbortSignal.abort() }), gone);
  });

  it('forwards only the configured headers, the address and the protocol, and reads uid, expiry and subscriptions', async () => {
    const p = await setUp();
    assert.deepEqual(await p.check(check(SESSION)), {
      allowed: true,
      uid: 'alice',
      expiresAt: 4_102_444_800_000,
      subscriptions: [
        { topic: 'news', private: false },
        { topic: 'inbox', private: true },
      ],
    });
    assert.deepEqual(backend?.requests[0], { client: 'c7', ip: '10.1.2.3', protocol: 'gpush', headers: { cookie: SESSION } });
    assert.deepEqual(await p.check(check('anonymous')), { allowed: true });
  });

  it('forwards the headers named by `headers`, case-insensitively, skipping absent ones', async () => {
    const p = await setUp({ headers: ['Cookie', 'X-Tenant', 'authorization'] });
    await p.check(check(SESSION));
    assert.deepEqual(backend?.requests[0]?.headers, { cookie: SESSION, 'x-tenant': 'acme' });
    assert.deepEqual(p.forwardedHeaders, ['cookie', 'x-tenant', 'authorization']);
    assert.throws(() => new BackendConnectProxy({ url: 'http://x/', headers: ['bad header'] }), TypeError);
  });

  it('refuses (close 4500) on error or disconnect, with the backend reason', async () => {
    const p = await setUp();
    assert.deepEqual(await p.check(check('banned')), { allowed: false, unavailable: false, reason: 'refused by the backend: banned' });
    assert.deepEqual(await p.check(check('expired')), { allowed: false, unavailable: false, reason: 'refused by the backend: session expired' });
    assert.deepEqual(await p.check(check('')), { allowed: false, unavailable: false, reason: 'refused by the backend' });
  });

  it('answers unavailable (close 4102) to a hang, a 502, garbage and malformed results', async () => {
    const p = await setUp();
    assert.deepEqual(await p.check(check('hang')), { allowed: false, unavailable: true, reason: 'backend timeout' });
    for (const cookie of ['fail', 'garbage', 'bad-uid', 'private-anon']) {
      assert.deepEqual(await p.check(check(cookie)), { allowed: false, unavailable: true, reason: 'backend unavailable' }, cookie);
    }
  });

  it('answers unavailable when nothing listens', async () => {
    proxy = new BackendConnectProxy({ url: await deadUrl('http'), logger: quiet });
    assert.deepEqual(await proxy.check(check(SESSION)), { allowed: false, unavailable: true, reason: 'backend unavailable' });
  });

  it('keeps a long backend reason within a close frame', async () => {
    backend = await startHttpBackend(() => ({ answer: { disconnect: { reason: 'é'.repeat(200) } } }));
    proxy = new BackendConnectProxy({ url: backend.url });
    const verdict = await proxy.check(check(SESSION));
    assert.equal(verdict.allowed, false);
    assert.ok(!verdict.allowed && Buffer.byteLength(verdict.reason) <= 123, 'fits in a close reason');
    assert.ok(!verdict.allowed && verdict.reason.startsWith('refused by the backend: éé') && verdict.reason.endsWith('…'));
  });
});

describe('BackendConnectProxy over gRPC', { timeout: 30_000 }, () => {
  let backend: ProxyBackend | undefined;
  let proxy: BackendConnectProxy | undefined;
  afterEach(async () => {
    proxy?.close();
    await backend?.close();
    proxy = backend = undefined;
  });

  it('calls herald.v1.Backend/Connect with the headers map and reads its answers', async () => {
    backend = await startGrpcBackend((request) => {
      const cookie = (request.headers as Record<string, string>).cookie;
      if (cookie === SESSION) {
        return { answer: { result: { uid: 'alice', expire_at: 0, subscriptions: [{ topic: 'news', private: false }] } } };
      }
      if (cookie === 'banned') return { answer: { disconnect: { code: 4501, reason: 'banned' } } };
      if (cookie === 'anonymous') return { answer: { result: {} } };
      if (cookie === 'hang') return 'hang';
      return { status: grpc.status.UNAVAILABLE, text: 'down' };
    });
    proxy = new BackendConnectProxy({ url: backend.url, timeoutMs: 1000, logger: quiet });
    assert.deepEqual(await proxy.check(check(SESSION)), { allowed: true, uid: 'alice', subscriptions: [{ topic: 'news', private: false }] });
    assert.deepEqual(backend.requests[0], { client: 'c7', ip: '10.1.2.3', headers: { cookie: SESSION }, protocol: 'gpush' });
    assert.deepEqual(await proxy.check(check('anonymous')), { allowed: true });
    assert.deepEqual(await proxy.check(check('banned')), { allowed: false, unavailable: false, reason: 'refused by the backend: banned' });
    assert.deepEqual(await proxy.check(check('hang')), { allowed: false, unavailable: true, reason: 'backend timeout' });
    assert.deepEqual(await proxy.check(check('other')), { allowed: false, unavailable: true, reason: 'backend unavailable' });
  });
});
