/**
 * The gRPC push API end to end, with a real @grpc/grpc-js client against a
 * HeraldNode listening on `grpcPort: 0`: gpush's `order.Proxy/PushData` and
 * `herald.v1.Push` (Publish, PublishBatch, PublishStream) reach the right
 * WebSocket clients, in order; per-item failures are reported by index and do
 * not stop the good items.
 *
 * "Did not arrive" is checked with `sync()` (ping/pong after the call
 * returned): the memory engine queues a push on its targets before the call
 * answers, so anything it delivered comes before the pong.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { fakeVerifier, waitUntil, type TestClient } from '../helpers/herald-node.js';
import { startGrpcNode, type GrpcPushClient, type GrpcTestNode } from '../helpers/grpc-client.js';
import { SwitchableEngine } from './switchable-engine.js';

describe('gRPC: routing of order.Proxy/PushData and herald.v1.Push/Publish', () => {
  let h: GrpcTestNode;
  let rpc: GrpcPushClient;
  /** Public subscribers of `news`. */
  let pubA: TestClient;
  let pubB: TestClient;
  /** Logged in, subscribed privately to `news`. */
  let alice: TestClient;
  let bob: TestClient;
  /** Connected, subscribed to nothing. */
  let idle: TestClient;
  let all: TestClient[];

  /** What each client received since the last check, in the order of `all`. */
  async function received(): Promise<string[][]> {
    return Promise.all(all.map((c) => c.sync()));
  }

  before(async () => {
    h = await startGrpcNode({ verifier: fakeVerifier() });
    rpc = h.grpc();
    pubA = await h.connect();
    pubB = await h.connect();
    alice = await h.connect();
    bob = await h.connect();
    idle = await h.connect();
    all = [pubA, pubB, alice, bob, idle];
    await pubA.subscribe('news');
    await pubB.subscribe('news');
    await alice.login('user:alice', 'alice');
    await alice.subscribePrivate('news');
    await bob.login('user:bob', 'bob');
    await bob.subscribePrivate('news');
  });
  after(async () => {
    await h.stop();
  });

  it('start() with grpcPort 0 returns the bound port', () => {
    assert.ok(Number.isInteger(h.grpcPort) && h.grpcPort > 0, `grpcPort ${h.grpcPort}`);
  });

  it('PushData with a topic → the public subscribers of the topic only', async () => {
    assert.deepEqual(await rpc.pushData({ topic: 'news', data: 'public-1' }), {});
    assert.deepEqual(await received(), [['public-1'], ['public-1'], [], [], []]);
  });

  it('PushData with uid + topic → that user\'s private subscription only', async () => {
    assert.deepEqual(await rpc.pushData({ uid: 'alice', topic: 'news', data: 'for-alice' }), {});
    assert.deepEqual(await received(), [[], [], ['for-alice'], [], []]);
  });

  it('PushData with neither uid nor topic → broadcast to every connection', async () => {
    await rpc.pushData({ data: 'everyone' });
    assert.deepEqual(await received(), [['everyone'], ['everyone'], ['everyone'], ['everyone'], ['everyone']]);
  });

  it('PushData with a uid only → every connection of that user', async () => {
    await rpc.pushData({ uid: 'bob', data: 'bob-only' });
    assert.deepEqual(await received(), [[], [], [], ['bob-only'], []]);
  });

  it('PushData with a topic nobody subscribed → OK, delivered to no one', async () => {
    await rpc.pushData({ topic: 'nobody-here', data: 'lost' });
    assert.deepEqual(await received(), [[], [], [], [], []]);
  });

  it('bytes that are not UTF-8 arrive as a binary frame with the exact bytes', async () => {
    await rpc.pushData({ topic: 'news', data: Buffer.from([0xff, 0x00, 0xfe]) });
    const [a] = await Promise.all([pubA.next(), pubB.next()]);
    assert.equal(a.isBinary, true);
    assert.deepEqual(a.data, Buffer.from([0xff, 0x00, 0xfe]));
    assert.deepEqual(await received(), [[], [], [], [], []]);
  });

  it('herald.v1.Push/Publish routes the same way and answers PublishResponse {}', async () => {
    assert.deepEqual(await rpc.publish({ topic: 'news', data: 'p-topic' }), {});
    assert.deepEqual(await rpc.publish({ uid: 'bob', topic: 'news', data: 'p-private' }), {});
    assert.deepEqual(await rpc.publish({ data: 'p-all' }), {});
    assert.deepEqual(await received(), [
      ['p-topic', 'p-all'],
      ['p-topic', 'p-all'],
      ['p-all'],
      ['p-private', 'p-all'],
      ['p-all'],
    ]);
  });

  it('consecutive calls on one channel are delivered in call order', async () => {
    for (let i = 0; i < 50; i++) await rpc.publish({ topic: 'news', data: `seq-${i}` });
    const expected = Array.from({ length: 50 }, (_, i) => `seq-${i}`);
    const [a, b] = await Promise.all([pubA.sync(), pubB.sync()]);
    assert.deepEqual(a, expected);
    assert.deepEqual(b, expected);
  });
});

describe('gRPC: PublishBatch and PublishStream with mixed items', () => {
  let h: GrpcTestNode;
  let rpc: GrpcPushClient;
  let s1: TestClient;
  let s2: TestClient;
  let alice: TestClient;

  before(async () => {
    h = await startGrpcNode({ verifier: fakeVerifier(), maxPushBytes: 1024, maxTopicLength: 32, maxBatchItems: 10 });
    rpc = h.grpc();
    s1 = await h.connect();
    s2 = await h.connect();
    alice = await h.connect();
    await s1.subscribe('t');
    await s2.subscribe('t');
    await alice.login('user:alice', 'alice');
    await alice.subscribePrivate('t');
  });
  after(async () => {
    await h.stop();
  });

  /** Items 1, 3 and 5 are invalid; 0, 2 and 4 are delivered. */
  const mixed = [
    { topic: 't', data: 'good-0' },
    { topic: 'bad\u0007topic', data: 'bad-1' },
    { uid: 'alice', topic: 't', data: 'good-2' },
    { topic: 't', data: Buffer.alloc(1025, 0x61) },
    { data: 'good-4' },
    { topic: 'x'.repeat(33), data: 'bad-5' },
  ];

  function checkMixedSummary(summary: { accepted: number; failed: number; failures: { index: number; code: string; message: string }[] }) {
    assert.equal(summary.accepted, 3);
    assert.equal(summary.failed, 3);
    assert.deepEqual(
      summary.failures.map(({ index, code }) => ({ index, code })),
      [
        { index: 1, code: 'INVALID_TOPIC' },
        { index: 3, code: 'PAYLOAD_TOO_LARGE' },
        { index: 5, code: 'INVALID_TOPIC' },
      ],
    );
    for (const failure of summary.failures) assert.ok(failure.message.length > 0, `empty message for index ${failure.index}`);
  }

  async function checkMixedDelivered(): Promise<void> {
    assert.deepEqual(await s1.sync(), ['good-0', 'good-4']);
    assert.deepEqual(await s2.sync(), ['good-0', 'good-4']);
    assert.deepEqual(await alice.sync(), ['good-2', 'good-4']);
  }

  it('PublishBatch: summary {accepted, failed, failures[{index, code, message}]}; the good items are delivered', async () => {
    checkMixedSummary(await rpc.publishBatch(mixed));
    await checkMixedDelivered();
  });

  it('PublishBatch with only good items → accepted n, failed 0, no failures, delivered in item order', async () => {
    const items = Array.from({ length: 10 }, (_, i) => ({ topic: 't', data: `b${i}` }));
    assert.deepEqual(await rpc.publishBatch(items), { accepted: 10, failed: 0, failures: [] });
    assert.deepEqual(await s1.sync(), items.map((i) => i.data));
    assert.deepEqual(await s2.sync(), items.map((i) => i.data));
    assert.deepEqual(await alice.sync(), []);
  });

  it('PublishBatch with no items → accepted 0, failed 0', async () => {
    assert.deepEqual(await rpc.publishBatch([]), { accepted: 0, failed: 0, failures: [] });
  });

  it('PublishStream with invalid items reports them by 0-based stream index; the good ones are delivered', async () => {
    checkMixedSummary(await rpc.publishStream(mixed.length, (i) => mixed[i]));
    await checkMixedDelivered();
  });

  it('an empty PublishStream → accepted 0, failed 0', async () => {
    assert.deepEqual(await rpc.publishStream(0, () => ({})), { accepted: 0, failed: 0, failures: [] });
    assert.deepEqual(await s1.sync(), []);
  });

  it('a stream whose every item is invalid still answers OK with each failure indexed', async () => {
    const summary = await rpc.publishStream(20, (i) => ({ topic: `bad\n${i}`, data: 'x' }));
    assert.equal(summary.accepted, 0);
    assert.equal(summary.failed, 20);
    assert.deepEqual(
      summary.failures.map((f) => f.index),
      Array.from({ length: 20 }, (_, i) => i),
    );
    assert.ok(summary.failures.every((f) => f.code === 'INVALID_TOPIC'));
    assert.deepEqual(await s1.sync(), []);
  });

  it('the node keeps serving after all of the above', async () => {
    await rpc.pushData({ topic: 't', data: 'still-here' });
    assert.deepEqual(await s1.sync(), ['still-here']);
    await waitUntil(() => h.node.ws.connectionCount === 3, 'three connections');
  });
});

describe('gRPC: PublishStream of 100,000 messages', () => {
  const COUNT = 100_000;
  let h: GrpcTestNode;

  before(async () => {
    // The point here is delivery of every message in order: give the in-process
    // subscribers room (the slow-consumer bound is tested elsewhere).
    h = await startGrpcNode({ maxBufferedBytes: 512 * 1024 * 1024 });
  });
  after(async () => {
    await h.stop();
  });

  it('every message reaches every subscriber, in stream order, and the summary says accepted 100000', { timeout: 240_000 }, async () => {
    const subscribers = [await h.connect(), await h.connect()];
    const counts = [0, 0];
    const errors: string[] = [];
    subscribers.forEach((client, n) => {
      client.ws.on('message', (data: Buffer, isBinary: boolean) => {
        if (errors.length > 10) return;
        const text = data.toString('utf8');
        if (text === 'pong' || text.startsWith('{')) return; // replies, sync
        const expected = `m:${counts[n]}`;
        if (isBinary || text !== expected) errors.push(`subscriber ${n}: expected ${expected}, got ${text}`);
        counts[n]++;
      });
    });
    await subscribers[0].subscribe('firehose');
    await subscribers[1].subscribe('firehose');

    const rpc = h.grpc();
    const summary = await rpc.publishStream(COUNT, (i) => ({ topic: 'firehose', data: `m:${i}` }));
    assert.deepEqual(summary, { accepted: COUNT, failed: 0, failures: [] });
    assert.ok(rpc.drainWaits > 0, 'the client never had to wait for drain: backpressure was not exercised');
    await waitUntil(() => errors.length > 0 || (counts[0] >= COUNT && counts[1] >= COUNT), 'every message at both subscribers', 120_000);
    assert.deepEqual(errors, []);
    assert.deepEqual(counts, [COUNT, COUNT]);
    // Nothing besides them: everything received up to a ping's pong is exactly the stream.
    for (const subscriber of subscribers) {
      const got = await subscriber.sync();
      assert.equal(got.length, COUNT);
      assert.equal(got[COUNT - 1], `m:${COUNT - 1}`);
    }
  });
});

describe('gRPC: PublishStream against an engine that acknowledges late', () => {
  const COUNT = 10_000;
  let h: GrpcTestNode;
  let engine: SwitchableEngine;

  before(async () => {
    engine = new SwitchableEngine({ ackDelayMs: 100 });
    h = await startGrpcNode({ engine, maxBufferedBytes: 64 * 1024 * 1024 });
  });
  after(async () => {
    await h.stop();
  });

  it('the server bounds unacknowledged publishes (pauses reading, resumes), and every message is accepted and delivered in order', { timeout: 120_000 }, async () => {
    const subscriber = await h.connect();
    await subscriber.subscribe('slow-acks');
    const summary = await h.grpc().publishStream(COUNT, (i) => ({ topic: 'slow-acks', data: `k:${i}` }));
    assert.deepEqual(summary, { accepted: COUNT, failed: 0, failures: [] });
    assert.equal(engine.pending, 0);
    assert.ok(engine.maxPending > 1, 'acknowledgements never overlapped: the test did not exercise the bound');
    assert.ok(engine.maxPending <= 2048, `${engine.maxPending} publishes were unacknowledged at once`);
    const got = await subscriber.sync();
    assert.equal(got.length, COUNT);
    for (let i = 0; i < COUNT; i++) if (got[i] !== `k:${i}`) assert.fail(`message ${i} is ${got[i]}`);
  });
});
