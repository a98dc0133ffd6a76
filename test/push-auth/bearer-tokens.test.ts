/**
 * Bearer-token auth of the push APIs with two tokens configured (rotation):
 * HTTP `/v1/pushData` and `/v1/push` answer 401 with `WWW-Authenticate:
 * Bearer …` and the JSON error body without a valid token, 200 with either
 * token (scheme case-insensitive); gRPC answers UNAUTHENTICATED / OK the same
 * way; `/healthz`, `/readyz` and `/metrics` stay open. Refused pushes are
 * never delivered.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { ApiResponse, TestClient } from '../helpers/herald-node.js';
import { expectStatus, grpc, startGrpcNode, type GrpcTestNode } from '../helpers/grpc-client.js';

const TOKEN_A = 'a'.repeat(20);
const TOKEN_B = 'b'.repeat(20);

/** The standard 401: status, `WWW-Authenticate: Bearer …`, `{"error":{"code":"UNAUTHENTICATED","message"}}`. */
function assertUnauthorized(res: ApiResponse): void {
  assert.equal(res.status, 401, `expected 401, got ${res.status} ${res.text}`);
  assert.match(res.headers.get('www-authenticate') ?? '', /^Bearer\b/, 'WWW-Authenticate must name the Bearer scheme');
  assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
  assert.deepEqual(Object.keys(res.json ?? {}), ['error', 'code', 'message', 'details']);
  assert.equal(res.json.error.code, 'UNAUTHENTICATED');
  assert.equal(typeof res.json.error.message, 'string');
  assert.ok(res.json.error.message.length > 0);
}

describe('push auth: bearer tokens with rotation (pushTokens: [a…, b…])', () => {
  let h: GrpcTestNode;
  let watchers: TestClient[];

  /** POST `path` with `body` and an optional Authorization header. */
  function post(path: '/v1/pushData' | '/v1/push', body: unknown, authorization?: string): Promise<ApiResponse> {
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (authorization !== undefined) headers.authorization = authorization;
    return h.request(path, { method: 'POST', headers, body: typeof body === 'string' ? body : JSON.stringify(body) });
  }
  const single = (text: string) => ({ topic: 'auth', data: Buffer.from(text).toString('base64') });
  const batch = (text: string) => [{ topic: 'auth', data: text }];
  const got = () => Promise.all(watchers.map((w) => w.sync()));

  before(async () => {
    h = await startGrpcNode({ pushTokens: [TOKEN_A, TOKEN_B] });
    watchers = [await h.connect(), await h.connect()];
    for (const w of watchers) await w.subscribe('auth');
  });
  after(async () => {
    await h.stop();
  });

  const refusedHeaders: [string, string | undefined][] = [
    ['no Authorization header', undefined],
    ['a wrong token', `Bearer ${'c'.repeat(20)}`],
    ['a valid token with one character changed', `Bearer ${'a'.repeat(19)}b`],
    ['a prefix of a valid token', `Bearer ${TOKEN_A.slice(0, 16)}`],
    ['both tokens glued together', `Bearer ${TOKEN_A}${TOKEN_B}`],
    ['the Basic scheme', `Basic ${Buffer.from(`user:${TOKEN_A}`).toString('base64')}`],
    ['the scheme alone', 'Bearer'],
    ['the token without a scheme', TOKEN_A],
    ['an empty header', ''],
  ];

  for (const [name, authorization] of refusedHeaders) {
    it(`${name} → 401 on /v1/pushData and /v1/push; nothing delivered`, async () => {
      assertUnauthorized(await post('/v1/pushData', single('refused'), authorization));
      assertUnauthorized(await post('/v1/push', batch('refused'), authorization));
      assert.deepEqual(await got(), [[], []]);
    });
  }

  it('the token is checked before the body: a malformed body without a token is still 401, not 400', async () => {
    assertUnauthorized(await post('/v1/pushData', 'not json'));
    assertUnauthorized(await post('/v1/push', '{"oops"'));
  });

  it('either token → 200 on /v1/pushData and /v1/push, delivered', async () => {
    for (const token of [TOKEN_A, TOKEN_B]) {
      const one = await post('/v1/pushData', single(`single-${token[0]}`), `Bearer ${token}`);
      assert.equal(one.status, 200, one.text);
      assert.deepEqual(one.json, {});
      const many = await post('/v1/push', batch(`batch-${token[0]}`), `Bearer ${token}`);
      assert.equal(many.status, 200, many.text);
      assert.equal(many.json.accepted, 1);
    }
    const expected = ['single-a', 'batch-a', 'single-b', 'batch-b'];
    assert.deepEqual(await got(), [expected, expected]);
  });

  it('the scheme is case-insensitive: bearer, BEARER, BeArEr', async () => {
    for (const scheme of ['bearer', 'BEARER', 'BeArEr']) {
      const res = await post('/v1/pushData', single(scheme), `${scheme} ${TOKEN_B}`);
      assert.equal(res.status, 200, `${scheme}: ${res.status} ${res.text}`);
    }
    assert.deepEqual(await got(), [
      ['bearer', 'BEARER', 'BeArEr'],
      ['bearer', 'BEARER', 'BeArEr'],
    ]);
  });

  it('the token itself is case-sensitive', async () => {
    assertUnauthorized(await post('/v1/pushData', single('upper'), `Bearer ${TOKEN_A.toUpperCase()}`));
    assert.deepEqual(await got(), [[], []]);
  });

  it('/healthz, /readyz and /metrics stay open without a token', async () => {
    const health = await h.request('/healthz');
    assert.equal(health.status, 200);
    assert.deepEqual(health.json, { status: 'ok' });
    const ready = await h.request('/readyz');
    assert.equal(ready.status, 200);
    const metrics = await h.request('/metrics');
    assert.equal(metrics.status, 200);
    assert.match(metrics.text, /^# HELP /m);
    // A wrong token does not close them either.
    const withWrong = await h.request('/healthz', { headers: { authorization: 'Bearer nope' } });
    assert.equal(withWrong.status, 200);
  });

  it('refused requests are counted as unauthenticated in the metrics', async () => {
    const metrics = await h.request('/metrics');
    assert.match(metrics.text, /result="unauthenticated"/);
  });

  it('gRPC without a token or with a wrong one → UNAUTHENTICATED; nothing delivered', async () => {
    for (const options of [{}, { token: 'c'.repeat(20) }, { authorization: `Basic ${TOKEN_A}` }]) {
      const rpc = h.grpc(options);
      await expectStatus(rpc.pushData({ topic: 'auth', data: 'no' }), grpc.status.UNAUTHENTICATED);
      await expectStatus(rpc.publish({ topic: 'auth', data: 'no' }), grpc.status.UNAUTHENTICATED);
      await expectStatus(rpc.publishBatch([{ topic: 'auth', data: 'no' }]), grpc.status.UNAUTHENTICATED);
      await expectStatus(rpc.publishStream(3, () => ({ topic: 'auth', data: 'no' })), grpc.status.UNAUTHENTICATED);
    }
    assert.deepEqual(await got(), [[], []]);
  });

  it('gRPC with either token → OK, delivered; lower-case scheme accepted', async () => {
    await h.grpc({ token: TOKEN_A }).pushData({ topic: 'auth', data: 'g-a' });
    await h.grpc({ token: TOKEN_B }).publish({ topic: 'auth', data: 'g-b' });
    await h.grpc({ authorization: `bearer ${TOKEN_A}` }).publish({ topic: 'auth', data: 'g-lower' });
    assert.deepEqual(await got(), [
      ['g-a', 'g-b', 'g-lower'],
      ['g-a', 'g-b', 'g-lower'],
    ]);
  });
});

describe('push auth: no tokens configured', () => {
  let h: GrpcTestNode;

  before(async () => {
    h = await startGrpcNode();
  });
  after(async () => {
    await h.stop();
  });

  it('the push APIs are open (a stray Authorization header is ignored)', async () => {
    const w = await h.connect();
    await w.subscribe('open');
    const res = await h.request('/v1/pushData', {
      method: 'POST',
      headers: { authorization: 'Bearer whatever' },
      body: JSON.stringify({ topic: 'open', data: Buffer.from('o1').toString('base64') }),
    });
    assert.equal(res.status, 200, res.text);
    await h.grpc().publish({ topic: 'open', data: 'o2' });
    assert.deepEqual(await w.sync(), ['o1', 'o2']);
  });
});
