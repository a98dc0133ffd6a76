/**
 * Per-message limits end to end: maxMessageBytes (close 1009),
 * maxSubscriptionsPerConnection (reply 30005), maxTopicLength and
 * topicPattern (reply 30004, push 400 INVALID_TOPIC / gRPC INVALID_ARGUMENT),
 * maxPushBytes (HTTP 413 PAYLOAD_TOO_LARGE, gRPC RESOURCE_EXHAUSTED),
 * messageTimeoutMs (close 1008 for a message that never completes). Each
 * time the limit holds, the offending client gets the documented answer, and
 * two established subscribers keep receiving pushes.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { OpCode } from '../../src/protocol/constants.js';
import { encodeClientFrame } from '../../src/protocol/frame-encoder.js';
import { fakeVerifier, type ApiResponse } from '../helpers/herald-node.js';
import { RawClient } from '../helpers/raw-client.js';
import { expectStatus, grpc, startGrpcNode, type GrpcTestNode } from '../helpers/grpc-client.js';

/** A node with `options` and two subscribers of `live`. */
async function setup(options: Parameters<typeof startGrpcNode>[0]) {
  const h = await startGrpcNode(options);
  const subscribers = [await h.connect(), await h.connect()];
  for (const s of subscribers) await s.subscribe('live');
  let seq = 0;
  return {
    h,
    subscribers,
    async stillDelivering(): Promise<void> {
      const marker = `live-${seq++}`;
      await h.send({ topic: 'live' }, marker);
      for (const s of subscribers) assert.deepEqual(await s.sync(), [marker]);
    },
  };
}

function assertError(res: ApiResponse, status: number, code: string): void {
  assert.equal(res.status, status, `expected ${status}, got ${res.status} ${res.text}`);
  assert.deepEqual(Object.keys(res.json ?? {}), ['error', 'code', 'message', 'details'], res.text);
  assert.equal(res.json.error.code, code, res.text);
  assert.equal(typeof res.json.error.message, 'string');
}

const b64 = (text: string | Buffer) => (typeof text === 'string' ? Buffer.from(text) : text).toString('base64');

describe('limits: maxMessageBytes 1024', () => {
  let s: Awaited<ReturnType<typeof setup>>;
  before(async () => {
    s = await setup({ maxMessageBytes: 1024 });
  });
  after(() => s.h.stop());

  /** A subscribe command of exactly `size` bytes (padding in an ignored field). */
  const commandOfSize = (size: number) => {
    const base = JSON.stringify({ code: 1, topic: 'big', pad: '' });
    return JSON.stringify({ code: 1, topic: 'big', pad: 'p'.repeat(size - base.length) });
  };

  it('a message of exactly the limit is handled', async () => {
    const client = await s.h.connect();
    const command = commandOfSize(1024);
    assert.equal(Buffer.byteLength(command), 1024);
    client.send(command);
    await client.nextReply(20001);
    await client.close();
  });

  it('a text message one byte over → close 1009; the others keep receiving', async () => {
    const client = await s.h.connect();
    client.send(commandOfSize(1025));
    assert.equal((await client.closed()).code, 1009);
    await s.stillDelivering();
  });

  it('a binary message over the limit → 1009', async () => {
    const client = await s.h.connect();
    client.send(Buffer.alloc(4096, 1));
    assert.equal((await client.closed()).code, 1009);
    await s.stillDelivering();
  });

  it('a fragmented message whose fragments are each small but whose total is over the limit → 1009', async () => {
    const client = await s.h.connect();
    for (let i = 0; i < 3; i++) client.ws.send('x'.repeat(400), { fin: false });
    client.ws.send('x'.repeat(400), { fin: true });
    assert.equal((await client.closed()).code, 1009);
    await s.stillDelivering();
  });
});

describe('limits: maxSubscriptionsPerConnection 3', () => {
  let s: Awaited<ReturnType<typeof setup>>;
  before(async () => {
    s = await setup({ maxSubscriptionsPerConnection: 3, verifier: fakeVerifier() });
  });
  after(() => s.h.stop());

  it('the 4th subscription → 30005; the connection stays usable and keeps its subscriptions', async () => {
    const client = await s.h.connect();
    await client.subscribe('t1');
    await client.subscribe('t2');
    await client.subscribe('t3');
    await client.op(1, { topic: 't4' }, 30005);
    // Subscribing again to one it holds is idempotent, not a new subscription.
    await client.subscribe('t2');
    await s.h.send({ topic: 't4' }, 'not-for-you');
    await s.h.send({ topic: 't1' }, 'for-t1');
    assert.deepEqual(await client.sync(), ['for-t1']);
    // Freeing one makes room.
    await client.unsubscribe('t3');
    await client.subscribe('t4');
    await s.h.send({ topic: 't4' }, 'now-t4');
    assert.deepEqual(await client.sync(), ['now-t4']);
    await s.stillDelivering();
    assert.equal(client.closeEvent, undefined);
  });

  it('public and private subscriptions share the budget', async () => {
    const client = await s.h.connect();
    await client.login('user:u1', 'u1');
    await client.subscribe('p1');
    await client.subscribePrivate('p2');
    await client.subscribePrivate('p3');
    await client.op(5, { topic: 'p4' }, 30005);
    await client.op(1, { topic: 'p4' }, 30005);
    await s.h.send({ uid: 'u1', topic: 'p2' }, 'private-ok');
    assert.deepEqual(await client.sync(), ['private-ok']);
    await s.stillDelivering();
  });
});

describe('limits: maxTopicLength 16', () => {
  let s: Awaited<ReturnType<typeof setup>>;
  before(async () => {
    s = await setup({ maxTopicLength: 16 });
  });
  after(() => s.h.stop());

  it('subscribing to a topic over the limit (UTF-8 bytes) → 30004; exactly the limit is fine', async () => {
    const client = await s.h.connect();
    await client.op(1, { topic: 'x'.repeat(17) }, 30004);
    await client.op(1, { topic: 'é'.repeat(9) }, 30004); // 9 characters, 18 bytes
    await client.subscribe('é'.repeat(8)); // 16 bytes
    await client.subscribe('y'.repeat(16));
    await s.stillDelivering();
    assert.equal(client.closeEvent, undefined);
  });

  it('pushing to a topic over the limit → 400 INVALID_TOPIC (single and batch item) and gRPC INVALID_ARGUMENT', async () => {
    assertError(await s.h.push({ topic: 'x'.repeat(17), data: b64('no') }), 400, 'INVALID_TOPIC');
    const batch = await s.h.pushBatch([{ topic: 'é'.repeat(9), data: 'no' }, { topic: 'live', data: 'batch-ok' }]);
    assert.equal(batch.status, 200);
    assert.equal(batch.json.results[0].error.code, 'INVALID_TOPIC');
    assert.deepEqual(batch.json.results[1], { ok: true });
    for (const sub of s.subscribers) assert.deepEqual(await sub.sync(), ['batch-ok']);
    await expectStatus(s.h.grpc().publish({ topic: 'x'.repeat(17), data: 'no' }), grpc.status.INVALID_ARGUMENT, /^INVALID_TOPIC/);
    await s.stillDelivering();
  });
});

describe("limits: topicPattern '^[a-z]+$'", () => {
  let s: Awaited<ReturnType<typeof setup>>;
  before(async () => {
    s = await setup({ topicPattern: '^[a-z]+$' });
  });
  after(() => s.h.stop());

  it('subscribing to A-1 → 30004; a matching topic is fine', async () => {
    const client = await s.h.connect();
    for (const topic of ['A-1', 'abc1', 'ABC', 'ab c', 'live\n']) await client.op(1, { topic }, 30004);
    await client.subscribe('abc');
    await s.h.send({ topic: 'abc' }, 'matches');
    assert.deepEqual(await client.sync(), ['matches']);
    await s.stillDelivering();
  });

  it('pushing to A-1 → 400 INVALID_TOPIC; gRPC → INVALID_ARGUMENT; nothing delivered', async () => {
    assertError(await s.h.push({ topic: 'A-1', data: b64('no') }), 400, 'INVALID_TOPIC');
    await expectStatus(s.h.grpc().pushData({ topic: 'A-1', data: 'no' }), grpc.status.INVALID_ARGUMENT, /pattern/);
    for (const sub of s.subscribers) assert.deepEqual(await sub.sync(), []);
    await s.stillDelivering();
  });
});

describe('limits: maxPushBytes 1024', () => {
  let s: Awaited<ReturnType<typeof setup>>;
  before(async () => {
    s = await setup({ maxPushBytes: 1024 });
  });
  after(() => s.h.stop());

  it('HTTP: a decoded payload over the limit → 413 PAYLOAD_TOO_LARGE; exactly the limit is delivered', async () => {
    assertError(await s.h.push({ topic: 'live', data: b64(Buffer.alloc(1025, 0x61)) }), 413, 'PAYLOAD_TOO_LARGE');
    const batch = await s.h.pushBatch([{ topic: 'live', data: 'a'.repeat(1025) }]);
    assert.equal(batch.json.results[0].error.code, 'PAYLOAD_TOO_LARGE');
    for (const sub of s.subscribers) assert.deepEqual(await sub.sync(), []);
    const exact = 'e'.repeat(1024);
    await s.h.send({ topic: 'live' }, exact);
    for (const sub of s.subscribers) assert.deepEqual(await sub.sync(), [exact]);
  });

  it('gRPC: a payload over the limit → RESOURCE_EXHAUSTED (PAYLOAD_TOO_LARGE) on PushData and Publish', async () => {
    const rpc = s.h.grpc();
    await expectStatus(rpc.pushData({ topic: 'live', data: Buffer.alloc(1025) }), grpc.status.RESOURCE_EXHAUSTED, /PAYLOAD_TOO_LARGE/);
    await expectStatus(rpc.publish({ topic: 'live', data: Buffer.alloc(1025) }), grpc.status.RESOURCE_EXHAUSTED, /PAYLOAD_TOO_LARGE/);
    for (const sub of s.subscribers) assert.deepEqual(await sub.sync(), []);
    await s.stillDelivering();
  });
});

describe('limits: messageTimeoutMs 1000 (a message must arrive whole in time)', () => {
  let s: Awaited<ReturnType<typeof setup>>;
  before(async () => {
    // A heartbeat far away: only the message deadline can end these connections.
    s = await setup({ messageTimeoutMs: 1000, heartbeatTimeoutMs: 600_000, timerResolutionMs: 50 });
  });
  after(() => s.h.stop());

  /** Write `bytes` one byte per `everyMs` until the connection closes (or, as a safety bound, 20 s pass). */
  function trickle(raw: RawClient, bytes: Buffer, everyMs = 50): () => void {
    let i = 0;
    const timer = setInterval(() => {
      if (raw.closed || raw.ended || i >= bytes.length) return clearInterval(timer);
      raw.write(bytes.subarray(i, i + 1));
      i++;
    }, everyMs);
    const bound = setTimeout(() => clearInterval(timer), 20_000);
    return () => {
      clearInterval(timer);
      clearTimeout(bound);
    };
  }

  it('a frame trickled a byte at a time that never completes → close 1008; each byte does not keep it alive', async () => {
    const raw = await RawClient.open(s.h.wsPort, { path: '/ws' });
    const stop = trickle(raw, encodeClientFrame(OpCode.Text, 'x'.repeat(1000), 0x12345678));
    try {
      assert.equal((await raw.nextEvent()).type, 'message'); // the greeting
      const close = await raw.nextClose();
      assert.equal(close.code, 1008);
      assert.equal(close.reason, 'message not completed in time');
      await s.stillDelivering();
    } finally {
      stop();
      raw.destroy();
    }
  });

  it('a fragmented message whose fragments keep coming but never end → close 1008', async () => {
    const raw = await RawClient.open(s.h.wsPort, { path: '/ws' });
    assert.equal((await raw.nextEvent()).type, 'message');
    raw.send(OpCode.Text, '{"code":1,', false);
    const timer = setInterval(() => raw.send(OpCode.Continuation, ' ', false), 50);
    try {
      assert.equal((await raw.nextClose()).code, 1008);
      await s.stillDelivering();
    } finally {
      clearInterval(timer);
      raw.destroy();
    }
  });

  it('complete messages sent slowly one after another, each split across reads, are not cut off', async () => {
    const raw = await RawClient.open(s.h.wsPort, { path: '/ws' });
    try {
      assert.equal((await raw.nextEvent()).type, 'message');
      const until = Date.now() + 2500;
      for (let i = 0; Date.now() < until; i++) {
        const frame = encodeClientFrame(OpCode.Text, JSON.stringify({ code: 1, topic: `slow${i}` }), 0x0badf00d);
        // Half now, half 150 ms later: every message completes well within the deadline.
        raw.write(frame.subarray(0, 5));
        await new Promise((resolve) => setTimeout(resolve, 150));
        raw.write(frame.subarray(5));
        const reply = await raw.nextEvent();
        assert.equal(reply.type, 'message', `reply ${i}: ${reply.type}`);
      }
      assert.ok(!raw.closed && !raw.ended, 'closed although every message completed in time');
    } finally {
      raw.destroy();
    }
  });
});
