/**
 * Per-token rate limit of the push APIs (pushRequestsPerSecond: 2, token
 * bucket with bursts up to one second's worth): a burst gets some 429 with
 * `Retry-After` and the JSON error body, refused pushes are not delivered,
 * each token has its own bucket, and one token's budget covers HTTP and gRPC.
 *
 * No timing assertions: the burst is sent at once, so at most a refill's
 * worth beyond the 2 tokens could pass; the tests only rely on "at least one
 * refused" and on a fresh bucket holding 2.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { ApiResponse, TestClient } from '../helpers/herald-node.js';
import { grpc, startGrpcNode, type GrpcTestNode } from '../helpers/grpc-client.js';

const TOKEN_A = 'a'.repeat(20);
const TOKEN_B = 'b'.repeat(20);
const TOKEN_C = 'c'.repeat(20);

describe('push auth: per-token rate limit over HTTP', () => {
  let h: GrpcTestNode;
  let watcher: TestClient;

  function push(token: string, text: string): Promise<ApiResponse> {
    return h.request('/v1/pushData', {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ topic: 'rl', data: Buffer.from(text).toString('base64') }),
    });
  }

  before(async () => {
    h = await startGrpcNode({ pushTokens: [TOKEN_A, TOKEN_B, TOKEN_C], pushRequestsPerSecond: 2 });
    watcher = await h.connect();
    await watcher.subscribe('rl');
  });
  after(async () => {
    await h.stop();
  });

  it('a burst of 5 with one token: at least 2 pass, some get 429 with Retry-After and the JSON body; those are not delivered', async () => {
    const results = await Promise.all(Array.from({ length: 5 }, (_, i) => push(TOKEN_A, `a${i}`)));
    const ok = results.filter((r) => r.status === 200);
    const limited = results.filter((r) => r.status === 429);
    assert.equal(ok.length + limited.length, 5, results.map((r) => `${r.status} ${r.text}`).join('; '));
    assert.ok(ok.length >= 2, `only ${ok.length} of the burst passed; a fresh bucket holds 2`);
    assert.ok(limited.length >= 1, 'no request of the burst was limited');
    for (const res of limited) {
      assert.ok(Number(res.headers.get('retry-after')) >= 1, `Retry-After: ${res.headers.get('retry-after')}`);
      assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
      assert.deepEqual(Object.keys(res.json), ['error', 'code', 'message', 'details']);
      assert.equal(res.json.error.code, 'RATE_LIMITED');
      assert.equal(typeof res.json.error.message, 'string');
    }
    const delivered = results.flatMap((r, i) => (r.status === 200 ? [`a${i}`] : []));
    assert.deepEqual([...(await watcher.sync())].sort(), delivered);
  });

  it('a different token has its own bucket: right after A is exhausted, B gets its 2', async () => {
    const burstA = await Promise.all(Array.from({ length: 6 }, (_, i) => push(TOKEN_A, `x${i}`)));
    assert.ok(burstA.some((r) => r.status === 429), 'token A was never limited');
    await watcher.sync();
    const b1 = await push(TOKEN_B, 'b1');
    const b2 = await push(TOKEN_B, 'b2');
    assert.equal(b1.status, 200, b1.text);
    assert.equal(b2.status, 200, b2.text);
    assert.deepEqual(await watcher.sync(), ['b1', 'b2']);
  });

  it('the batch route shares the bucket: a burst of /v1/push is limited the same way', async () => {
    const results = await Promise.all(
      Array.from({ length: 5 }, (_, i) =>
        h.request('/v1/push', {
          method: 'POST',
          headers: { authorization: `Bearer ${TOKEN_C}` },
          body: JSON.stringify([{ topic: 'rl', data: `c${i}` }]),
        }),
      ),
    );
    const limited = results.filter((r) => r.status === 429);
    assert.ok(limited.length >= 1, 'no batch request was limited');
    assert.ok(results.filter((r) => r.status === 200).length >= 2);
    for (const res of limited) {
      assert.equal(res.json.error.code, 'RATE_LIMITED');
      assert.ok(res.headers.get('retry-after') !== null);
    }
    await watcher.sync();
  });

  it('the limiter refills: a later request with the limited token passes (bounded wait)', async () => {
    let status = 0;
    for (let attempt = 0; attempt < 100 && status !== 200; attempt++) {
      const res = await push(TOKEN_A, 'later');
      status = res.status;
      assert.ok(status === 200 || status === 429, `${status} ${res.text}`);
      if (status !== 200) await new Promise((resolve) => setTimeout(resolve, 50));
    }
    assert.equal(status, 200);
    assert.deepEqual(await watcher.sync(), ['later']);
  });
});

describe('push auth: one token, one budget across HTTP and gRPC', () => {
  let h: GrpcTestNode;

  before(async () => {
    h = await startGrpcNode({ pushTokens: [TOKEN_A, TOKEN_B], pushRequestsPerSecond: 2 });
  });
  after(async () => {
    await h.stop();
  });

  it('after an HTTP burst exhausts token A, gRPC calls with A are limited while B still passes', async () => {
    const http = await Promise.all(
      Array.from({ length: 10 }, () =>
        h.request('/v1/pushData', { method: 'POST', headers: { authorization: `Bearer ${TOKEN_A}` }, body: '{"data":""}' }),
      ),
    );
    assert.ok(http.some((r) => r.status === 429));
    const a = h.grpc({ token: TOKEN_A });
    const calls = await Promise.allSettled(Array.from({ length: 3 }, () => a.publish({ data: 'x' })));
    const limited = calls.filter(
      (r) => r.status === 'rejected' && (r.reason as grpc.ServiceError).code === grpc.status.RESOURCE_EXHAUSTED,
    );
    assert.ok(limited.length >= 1, 'token A still had budget over gRPC after its HTTP burst');
    assert.deepEqual(await h.grpc({ token: TOKEN_B }).publish({ data: 'y' }), {});
  });
});

describe('push auth: rate limit without tokens (open API on loopback)', () => {
  let h: GrpcTestNode;

  before(async () => {
    h = await startGrpcNode({ pushRequestsPerSecond: 2 });
  });
  after(async () => {
    await h.stop();
  });

  it('all anonymous callers share one bucket: a burst gets some 429', async () => {
    const results = await Promise.all(
      Array.from({ length: 5 }, () => h.request('/v1/pushData', { method: 'POST', body: '{"data":""}' })),
    );
    assert.ok(results.filter((r) => r.status === 200).length >= 2);
    assert.ok(results.some((r) => r.status === 429 && r.json?.error?.code === 'RATE_LIMITED'));
  });
});
