/**
 * gRPC status codes of the push API, each checked with a real client:
 * INVALID_ARGUMENT (bad topic or uid), RESOURCE_EXHAUSTED (payload over
 * maxPushBytes, batch over maxBatchItems, per-token rate limit),
 * UNAUTHENTICATED (tokens configured, none or a wrong one — every RPC,
 * including the stream), UNAVAILABLE (the engine cannot accept). After each
 * refusal the node still delivers, and nothing refused was delivered.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { waitUntil, type TestClient } from '../helpers/herald-node.js';
import { expectStatus, grpc, startGrpcNode, type GrpcPushClient, type GrpcTestNode } from '../helpers/grpc-client.js';
import { SwitchableEngine } from './switchable-engine.js';

const TOKEN_A = 'a'.repeat(20);
const TOKEN_B = 'b'.repeat(20);

/** Two subscribers of `topic` and a way to check what they got. */
async function watchers(h: GrpcTestNode, topic: string): Promise<{ clients: TestClient[]; got(): Promise<string[][]> }> {
  const clients = [await h.connect(), await h.connect()];
  for (const c of clients) await c.subscribe(topic);
  return { clients, got: () => Promise.all(clients.map((c) => c.sync())) };
}

describe('gRPC: INVALID_ARGUMENT and RESOURCE_EXHAUSTED', () => {
  let h: GrpcTestNode;
  let rpc: GrpcPushClient;
  let w: Awaited<ReturnType<typeof watchers>>;

  before(async () => {
    h = await startGrpcNode({ maxPushBytes: 1024, maxTopicLength: 32, maxBatchItems: 5 });
    rpc = h.grpc();
    w = await watchers(h, 'ok');
  });
  after(async () => {
    await h.stop();
  });

  async function stillDelivering(marker: string): Promise<void> {
    await rpc.publish({ topic: 'ok', data: marker });
    assert.deepEqual(await w.got(), [[marker], [marker]]);
  }

  it('a topic with control characters → INVALID_ARGUMENT (INVALID_TOPIC), on PushData and Publish', async () => {
    for (const topic of ['a\u0000b', 'line\nbreak', 'tab\t', 'del\u007f', 'c1\u0085']) {
      await expectStatus(rpc.pushData({ topic, data: 'x' }), grpc.status.INVALID_ARGUMENT, /^INVALID_TOPIC: /);
      await expectStatus(rpc.publish({ topic, data: 'x' }), grpc.status.INVALID_ARGUMENT, /^INVALID_TOPIC: .*control/);
    }
    await stillDelivering('after-control');
  });

  it('a topic longer than maxTopicLength (UTF-8 bytes) → INVALID_ARGUMENT; exactly the limit is fine', async () => {
    await expectStatus(rpc.publish({ topic: 'x'.repeat(33), data: 'x' }), grpc.status.INVALID_ARGUMENT, /^INVALID_TOPIC: .*longer/);
    // 11 × "é" (2 bytes) = 22 bytes is fine; 11 × "€" (3 bytes) = 33 bytes is not.
    await expectStatus(rpc.pushData({ topic: '€'.repeat(11), data: 'x' }), grpc.status.INVALID_ARGUMENT, /^INVALID_TOPIC/);
    assert.deepEqual(await rpc.publish({ topic: 'é'.repeat(11), data: 'x' }), {});
    assert.deepEqual(await rpc.publish({ topic: 'y'.repeat(32), data: 'x' }), {});
    await stillDelivering('after-long');
  });

  it('a uid longer than 1024 characters → INVALID_ARGUMENT (INVALID_UID)', async () => {
    await expectStatus(rpc.publish({ uid: 'u'.repeat(1025), data: 'x' }), grpc.status.INVALID_ARGUMENT, /^INVALID_UID: /);
    await stillDelivering('after-uid');
  });

  it('a payload over maxPushBytes → RESOURCE_EXHAUSTED (PAYLOAD_TOO_LARGE); exactly maxPushBytes is delivered', async () => {
    const over = Buffer.alloc(1025, 0x62);
    await expectStatus(rpc.pushData({ topic: 'ok', data: over }), grpc.status.RESOURCE_EXHAUSTED, /^PAYLOAD_TOO_LARGE: /);
    await expectStatus(rpc.publish({ topic: 'ok', data: over }), grpc.status.RESOURCE_EXHAUSTED, /^PAYLOAD_TOO_LARGE: /);
    const exact = 'c'.repeat(1024);
    await rpc.publish({ topic: 'ok', data: exact });
    assert.deepEqual(await w.got(), [[exact], [exact]]);
  });

  it('a message far over the gRPC receive limit is refused RESOURCE_EXHAUSTED by the transport', async () => {
    await expectStatus(rpc.publish({ topic: 'ok', data: Buffer.alloc(512 * 1024, 0x61) }), grpc.status.RESOURCE_EXHAUSTED);
    await stillDelivering('after-huge');
  });

  it('a batch over maxBatchItems → RESOURCE_EXHAUSTED and none of it is delivered; maxBatchItems items pass', async () => {
    const items = (n: number) => Array.from({ length: n }, (_, i) => ({ topic: 'ok', data: `i${i}` }));
    await expectStatus(rpc.publishBatch(items(6)), grpc.status.RESOURCE_EXHAUSTED, /at most 5/);
    assert.deepEqual(await w.got(), [[], []]);
    assert.deepEqual(await rpc.publishBatch(items(5)), { accepted: 5, failed: 0, failures: [] });
    const five = items(5).map((i) => i.data);
    assert.deepEqual(await w.got(), [five, five]);
  });

  it('an oversized item inside a batch or stream is a per-item PAYLOAD_TOO_LARGE failure, not a call status', async () => {
    const items = [{ topic: 'ok', data: 'fine' }, { topic: 'ok', data: Buffer.alloc(1025) }];
    const batch = await rpc.publishBatch(items);
    const stream = await rpc.publishStream(items.length, (i) => items[i]);
    for (const summary of [batch, stream]) {
      assert.equal(summary.accepted, 1);
      assert.deepEqual(summary.failures.map((f) => [f.index, f.code]), [[1, 'PAYLOAD_TOO_LARGE']]);
    }
    assert.deepEqual(await w.got(), [['fine', 'fine'], ['fine', 'fine']]);
  });
});

describe('gRPC: UNAUTHENTICATED on every RPC when tokens are configured', () => {
  let h: GrpcTestNode;
  let w: Awaited<ReturnType<typeof watchers>>;

  before(async () => {
    h = await startGrpcNode({ pushTokens: [TOKEN_A, TOKEN_B] });
    w = await watchers(h, 'auth');
  });
  after(async () => {
    await h.stop();
  });

  const refused: [string, { token?: string; authorization?: string }][] = [
    ['no authorization metadata', {}],
    ['a wrong token', { token: 'c'.repeat(20) }],
    ['a prefix of a valid token', { token: TOKEN_A.slice(0, 19) }],
    ['a valid token plus a character', { token: `${TOKEN_A}x` }],
    ['another scheme', { authorization: `Basic ${TOKEN_A}` }],
    ['the scheme without a token', { authorization: 'Bearer' }],
    ['the bare token without a scheme', { authorization: TOKEN_A }],
  ];

  for (const [name, options] of refused) {
    it(`${name} → UNAUTHENTICATED for PushData, Publish, PublishBatch and PublishStream; nothing delivered`, async () => {
      const rpc = h.grpc(options);
      const unauthenticated = /missing or invalid bearer token/;
      await expectStatus(rpc.pushData({ topic: 'auth', data: 'no-1' }), grpc.status.UNAUTHENTICATED, unauthenticated);
      await expectStatus(rpc.publish({ topic: 'auth', data: 'no-2' }), grpc.status.UNAUTHENTICATED, unauthenticated);
      await expectStatus(rpc.publishBatch([{ topic: 'auth', data: 'no-3' }]), grpc.status.UNAUTHENTICATED, unauthenticated);
      await expectStatus(
        rpc.publishStream(200, (i) => ({ topic: 'auth', data: `no-4-${i}` })),
        grpc.status.UNAUTHENTICATED,
        unauthenticated,
      );
      assert.deepEqual(await w.got(), [[], []]);
    });
  }

  it('either token (rotation) → OK on every RPC, delivered', async () => {
    for (const token of [TOKEN_A, TOKEN_B]) {
      const rpc = h.grpc({ token });
      const tag = token[0];
      assert.deepEqual(await rpc.pushData({ topic: 'auth', data: `${tag}1` }), {});
      assert.deepEqual(await rpc.publish({ topic: 'auth', data: `${tag}2` }), {});
      assert.equal((await rpc.publishBatch([{ topic: 'auth', data: `${tag}3` }])).accepted, 1);
      assert.equal((await rpc.publishStream(2, (i) => ({ topic: 'auth', data: `${tag}4-${i}` }))).accepted, 2);
      const expected = [`${tag}1`, `${tag}2`, `${tag}3`, `${tag}4-0`, `${tag}4-1`];
      assert.deepEqual(await w.got(), [expected, expected]);
    }
  });

  it('the scheme is case-insensitive (bearer, BEARER)', async () => {
    await h.grpc({ authorization: `bearer ${TOKEN_A}` }).publish({ topic: 'auth', data: 'lower' });
    await h.grpc({ authorization: `BEARER ${TOKEN_B}` }).publish({ topic: 'auth', data: 'upper' });
    assert.deepEqual(await w.got(), [['lower', 'upper'], ['lower', 'upper']]);
  });
});

describe('gRPC: UNAVAILABLE when the engine cannot accept', () => {
  let h: GrpcTestNode;
  let engine: SwitchableEngine;
  let rpc: GrpcPushClient;
  let w: Awaited<ReturnType<typeof watchers>>;

  before(async () => {
    engine = new SwitchableEngine();
    h = await startGrpcNode({ engine });
    rpc = h.grpc();
    w = await watchers(h, 'e');
  });
  after(async () => {
    await h.stop();
  });

  it('PushData and Publish → UNAVAILABLE while the engine refuses; OK and delivered once it accepts again', async () => {
    engine.accepting = false;
    try {
      await expectStatus(rpc.pushData({ topic: 'e', data: 'lost-1' }), grpc.status.UNAVAILABLE, /not accepting/);
      await expectStatus(rpc.publish({ topic: 'e', data: 'lost-2' }), grpc.status.UNAVAILABLE, /not accepting/);
    } finally {
      engine.accepting = true;
    }
    assert.equal(engine.refused, 2);
    await rpc.publish({ topic: 'e', data: 'back' });
    assert.deepEqual(await w.got(), [['back'], ['back']]);
  });

  it('PublishBatch while the engine refuses → OK with every item failed UNAVAILABLE by index', async () => {
    engine.accepting = false;
    let summary;
    try {
      summary = await rpc.publishBatch([{ topic: 'e', data: '1' }, { topic: 'e', data: '2' }]);
    } finally {
      engine.accepting = true;
    }
    assert.equal(summary.accepted, 0);
    assert.equal(summary.failed, 2);
    assert.deepEqual(summary.failures.map((f) => [f.index, f.code]), [[0, 'UNAVAILABLE'], [1, 'UNAVAILABLE']]);
    assert.deepEqual(await w.got(), [[], []]);
  });

  it('over HTTP too: POST /v1/push reports refused items in place and delivers the rest in order; /v1/pushData answers 503', async () => {
    engine.refuse = (p) => p.topic === 'down';
    let batch;
    let single;
    try {
      batch = await h.pushBatch([
        { topic: 'e', data: 'h0' },
        { topic: 'down', data: 'h1' },
        { topic: 'e', data: 7 },
        { topic: 'e', data: 'h3' },
      ]);
      single = await h.push({ topic: 'down', data: Buffer.from('x').toString('base64') });
    } finally {
      engine.refuse = () => false;
    }
    assert.equal(batch.status, 200);
    assert.deepEqual(batch.json, {
      accepted: 2,
      failed: 2,
      results: [
        { ok: true },
        { ok: false, error: { code: 'UNAVAILABLE', message: 'test engine is not accepting publications' } },
        { ok: false, error: { code: 'INVALID_DATA', message: 'data must be a string' } },
        { ok: true },
      ],
    });
    assert.equal(single.status, 503);
    assert.deepEqual(await w.got(), [
      ['h0', 'h3'],
      ['h0', 'h3'],
    ]);
  });

  it('a stream where the engine refuses some items reports those by index and delivers the rest in order', async () => {
    engine.refuse = (p) => p.topic === 'down';
    let summary;
    try {
      summary = await rpc.publishStream(10, (i) => ({ topic: i % 3 === 1 ? 'down' : 'e', data: `s${i}` }));
    } finally {
      engine.refuse = () => false;
    }
    assert.equal(summary.accepted, 7);
    assert.equal(summary.failed, 3);
    assert.deepEqual(
      summary.failures.map((f) => [f.index, f.code]),
      [1, 4, 7].map((i) => [i, 'UNAVAILABLE']),
    );
    const delivered = ['s0', 's2', 's3', 's5', 's6', 's8', 's9'];
    assert.deepEqual(await w.got(), [delivered, delivered]);
  });
});

describe('gRPC: per-token rate limit (pushRequestsPerSecond: 2)', () => {
  let h: GrpcTestNode;
  let w: Awaited<ReturnType<typeof watchers>>;

  before(async () => {
    h = await startGrpcNode({ pushTokens: [TOKEN_A, TOKEN_B], pushRequestsPerSecond: 2 });
    w = await watchers(h, 'r');
  });
  after(async () => {
    await h.stop();
  });

  it('a burst of 5 calls: the first 2 pass, later ones get RESOURCE_EXHAUSTED (RATE_LIMITED) and are not delivered', async () => {
    const rpc = h.grpc({ token: TOKEN_A });
    const results = await Promise.allSettled(Array.from({ length: 5 }, (_, i) => rpc.publish({ topic: 'r', data: `burst-${i}` })));
    assert.equal(results[0].status, 'fulfilled');
    assert.equal(results[1].status, 'fulfilled');
    const rejected = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as grpc.ServiceError] : []));
    assert.ok(rejected.length >= 1, 'no call of the burst was rate limited');
    for (const error of rejected) {
      assert.equal(error.code, grpc.status.RESOURCE_EXHAUSTED, error.details);
      assert.match(error.details, /^RATE_LIMITED/);
    }
    const delivered = results.flatMap((r, i) => (r.status === 'fulfilled' ? [`burst-${i}`] : []));
    const got = await w.got();
    assert.deepEqual([...got[0]].sort(), delivered);
    assert.deepEqual([...got[1]].sort(), delivered);

    // The bucket refills: a later call passes (bounded wait, no timing assertion).
    let passed = false;
    for (let attempt = 0; attempt < 100 && !passed; attempt++) {
      try {
        await rpc.publish({ topic: 'r', data: 'refilled' });
        passed = true;
      } catch (error) {
        assert.equal((error as grpc.ServiceError).code, grpc.status.RESOURCE_EXHAUSTED);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    }
    assert.ok(passed, 'the token bucket never refilled');
    assert.deepEqual(await w.got(), [['refilled'], ['refilled']]);
  });

  it('another token has its own bucket, and a stream counts as one call whatever its length', async () => {
    const a = h.grpc({ token: TOKEN_A });
    const b = h.grpc({ token: TOKEN_B });
    // Exhaust A.
    const burst = await Promise.allSettled(Array.from({ length: 6 }, () => a.publish({ topic: 'r', data: 'a' })));
    assert.ok(burst.some((r) => r.status === 'rejected'), 'token A was never limited');
    await w.got();
    // B is untouched by A's burst; one stream of 50 items is one call.
    const summary = await b.publishStream(50, (i) => ({ topic: 'r', data: `b${i}` }));
    assert.deepEqual(summary, { accepted: 50, failed: 0, failures: [] });
    const expected = Array.from({ length: 50 }, (_, i) => `b${i}`);
    assert.deepEqual(await w.got(), [expected, expected]);
  });

  it('a burst with a wrong token is answered UNAUTHENTICATED every time, never RESOURCE_EXHAUSTED', async () => {
    const rpc = h.grpc({ token: 'z'.repeat(20) });
    const results = await Promise.allSettled(Array.from({ length: 5 }, () => rpc.publish({ topic: 'r', data: 'x' })));
    for (const result of results) {
      assert.equal(result.status, 'rejected');
      assert.equal((result.reason as grpc.ServiceError).code, grpc.status.UNAUTHENTICATED);
    }
    assert.deepEqual(await w.got(), [[], []]);
    await waitUntil(() => h.node.ws.connectionCount === 2, 'both watchers still connected');
  });
});
