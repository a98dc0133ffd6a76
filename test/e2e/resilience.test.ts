/**
 * Resilience and shutdown end to end: misbehaving raw sockets next to healthy
 * clients while pushes flow, and the graceful stop (close 1001).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { connect } from 'node:net';
import { after, afterEach, before, describe, it } from 'node:test';
import { OpCode } from '../../src/protocol/index.js';
import { RawClient, buildRequest, frameHeader } from '../helpers/raw-client.js';
import { startNode, waitUntil, type TestClient, type TestNode } from '../helpers/herald-node.js';

/** The close code of the server's close frame, if one arrived before the connection ended. */
function serverCloseCode(raw: RawClient): number | undefined {
  const close = raw.events.find((e) => e.type === 'close');
  return close?.type === 'close' ? close.code : undefined;
}

/** One raw connection that misbehaves in `kind`'s way; resolves once the server has dropped it (or we did). */
async function misbehave(port: number, kind: string): Promise<{ kind: string; closeCode: number | undefined }> {
  if (kind === 'not-http') {
    const raw = await RawClient.connect(port);
    raw.write(Buffer.concat([Buffer.from([0x00, 0xff]), randomBytes(510), Buffer.from('\r\n\r\n')]));
    await raw.waitClosed();
    return { kind, closeCode: undefined };
  }
  if (kind === 'half-handshake') {
    const raw = await RawClient.connect(port);
    raw.write(buildRequest({ path: '/ws' }).slice(0, 40));
    raw.destroy();
    await raw.waitClosed();
    return { kind, closeCode: undefined };
  }
  const raw = await RawClient.open(port, { path: '/ws' });
  await raw.nextEvent(); // the greeting
  switch (kind) {
    case 'garbage-frames':
      // 0xf3: RSV bits set, so the server fails the connection at the first byte whatever follows.
      raw.write(Buffer.concat([Buffer.from([0xf3]), randomBytes(255)]));
      break;
    case 'invalid-utf8-text':
      raw.send(OpCode.Text, Buffer.from([0x7b, 0xff, 0xfe, 0x7d]));
      break;
    case 'unmasked-frame':
      raw.write(Buffer.concat([frameHeader(OpCode.Text, 4, { masked: false }), Buffer.from('ping')]));
      break;
    case 'huge-length':
      raw.write(frameHeader(OpCode.Binary, 10 * 1024 * 1024));
      break;
    case 'reserved-opcode':
      raw.write(frameHeader(0x3, 0));
      break;
    case 'abrupt-mid-frame':
      // Announce 1000 bytes, send 10, vanish.
      raw.send(OpCode.Text, '{"code":1,"topic":"r"}');
      raw.write(Buffer.concat([frameHeader(OpCode.Text, 1000), Buffer.from('{"code":1,')]));
      raw.destroy();
      break;
    case 'abrupt-after-subscribe':
      raw.send(OpCode.Text, '{"code":1,"topic":"r"}');
      await raw.nextEvent();
      raw.destroy();
      break;
    default:
      throw new Error(`unknown kind ${kind}`);
  }
  await raw.waitClosed();
  return { kind, closeCode: serverCloseCode(raw) };
}

describe('e2e: resilience', () => {
  let h: TestNode;
  before(async () => {
    h = await startNode({ maxMessageBytes: 64 * 1024, closeTimeoutMs: 1000 });
  });
  afterEach(async () => {
    await h.closeClients();
  });
  after(async () => {
    await h.stop();
  });

  it('20 connections, 2 of them misbehaving over raw sockets while pushes flow: the 18 others receive everything in order, nothing throws', async () => {
    const uncaught: unknown[] = [];
    const onUncaught = (error: unknown) => uncaught.push(error);
    process.on('uncaughtException', onUncaught);
    process.on('unhandledRejection', onUncaught);
    try {
      const good: TestClient[] = [];
      for (let i = 0; i < 18; i++) {
        const c = await h.connect();
        await c.subscribe('r');
        good.push(c);
      }
      const TOTAL = 150;
      const pushing = (async () => {
        for (let i = 0; i < TOTAL; i++) {
          if (i % 3 === 0) {
            const res = await h.pushBatch([{ topic: 'r', data: `r${i}` }]);
            assert.equal(res.status, 200);
          } else {
            await h.send({ topic: 'r' }, `r${i}`);
          }
        }
      })();
      // Connection 19: every kind of garbage, one connection after another. Connection 20: abrupt disconnects mid-frame.
      const garbageKinds = ['garbage-frames', 'invalid-utf8-text', 'unmasked-frame', 'huge-length', 'reserved-opcode', 'not-http', 'half-handshake'];
      const abruptKinds = ['abrupt-mid-frame', 'abrupt-after-subscribe'];
      const outcomes: { kind: string; closeCode: number | undefined }[] = [];
      const garbage = (async () => {
        for (let round = 0; round < 3; round++) for (const kind of garbageKinds) outcomes.push(await misbehave(h.wsPort, kind));
      })();
      const abrupt = (async () => {
        for (let round = 0; round < 10; round++) for (const kind of abruptKinds) outcomes.push(await misbehave(h.wsPort, kind));
      })();
      await Promise.all([pushing, garbage, abrupt]);

      const expected = Array.from({ length: TOTAL }, (_, i) => `r${i}`);
      for (const c of good) {
        assert.deepEqual(await c.sync(), expected);
        assert.equal(c.closeEvent, undefined);
      }
      // The protocol errors were answered with the right close codes (when the close frame got through).
      const codeOf = (kind: string) => outcomes.filter((o) => o.kind === kind).map((o) => o.closeCode);
      for (const code of codeOf('invalid-utf8-text')) assert.equal(code, 1007);
      for (const code of codeOf('unmasked-frame')) assert.equal(code, 1002);
      for (const code of codeOf('huge-length')) assert.equal(code, 1009);
      for (const code of codeOf('reserved-opcode')) assert.equal(code, 1002);
      // Every misbehaving connection is gone from the server and the hub.
      await waitUntil(() => h.node.hub.clientCount === 18 && h.node.ws.connectionCount === 18, 'the misbehaving connections to be dropped');
      assert.equal(h.node.hub.subscriptionCount, 18);
      assert.equal(h.node.hub.topicCount, 1);
      await h.send({ topic: 'r' }, 'after');
      for (const c of good) assert.deepEqual(await c.sync(), ['after']);
      await Promise.all(good.map((c) => c.close()));
      await waitUntil(() => h.node.hub.clientCount === 0, 'the hub to drop every client');
      assert.deepEqual(uncaught, []);
    } finally {
      process.off('uncaughtException', onUncaught);
      process.off('unhandledRejection', onUncaught);
    }
  });

  it('a client that stops reading does not hold back the others', async () => {
    const reader = await h.connect();
    const stalled = await h.connect();
    await reader.subscribe('s');
    await stalled.subscribe('s');
    stalled.ws.pause();
    const payload = Buffer.alloc(16 * 1024, 'z').toString('base64');
    for (let i = 0; i < 200; i++) {
      const res = await h.push({ topic: 's', data: payload });
      assert.equal(res.status, 200);
    }
    const got = await reader.sync();
    assert.equal(got.length, 200);
    stalled.ws.resume();
    await reader.close();
    stalled.terminate();
    await waitUntil(() => h.node.hub.clientCount === 0, 'the hub to drop every client');
  });

  it('a client that stops reading is dropped once its unsent bytes pass the bound (slow consumer); the others are unaffected', async () => {
    // design.md §3: "each connection has a byte bound on unflushed data ... Memory never grows without bound."
    const stalled = await h.connect();
    await stalled.subscribe('flood');
    const reader = await h.connect();
    await reader.subscribe('other');
    stalled.ws.pause(); // stop reading: the kernel buffers fill, then the server's queue grows
    const item = { topic: 'flood', dataBase64: Buffer.alloc(64 * 1024, 7).toString('base64') };
    // Up to 64 MB for one client, far beyond the 1 MiB bound plus any loopback socket buffers.
    for (let batch = 0; batch < 10 && h.node.hub.clientCount === 2; batch++) {
      const res = await h.pushBatch(Array.from({ length: 100 }, () => item));
      assert.equal(res.status, 200);
    }
    await h.send({ topic: 'other' }, 'unaffected');
    assert.deepEqual(await reader.sync(), ['unaffected']);
    await waitUntil(() => h.node.hub.clientCount === 1, 'the server to drop the slow consumer');
    assert.ok(h.node.hub.counters.drops > 0, 'refused deliveries are counted');
    stalled.ws.resume();
    const { code } = await stalled.closed();
    assert.ok(code === 4001 || code === 1006, `closed with ${code}`);
  });

  it("with slowConsumerPolicy 'drop', a client that stops reading stays connected, loses what did not fit, and receives in order again once it reads", async () => {
    const d = await startNode({ slowConsumerPolicy: 'drop', maxBufferedBytes: 256 * 1024 });
    try {
      const stalled = await d.connect();
      await stalled.subscribe('flood');
      stalled.ws.pause();
      const pad = 'p'.repeat(64 * 1024);
      for (let batch = 0; batch < 4; batch++) {
        const items = Array.from({ length: 50 }, (_, i) => ({ topic: 'flood', data: `${batch * 50 + i}:${pad}` }));
        assert.equal((await d.pushBatch(items)).status, 200);
      }
      assert.ok(d.node.hub.counters.drops > 0, 'deliveries past the bound are dropped');
      assert.equal(d.node.hub.clientCount, 1, 'the connection is kept');
      stalled.ws.resume();
      await d.send({ topic: 'flood' }, 'marker');
      const got = await stalled.sync();
      assert.equal(got.at(-1), 'marker');
      const indexes = got.slice(0, -1).map((text) => Number(text.slice(0, text.indexOf(':'))));
      assert.ok(indexes.length > 0 && indexes.length < 200, `received ${indexes.length} of 200`);
      for (let i = 1; i < indexes.length; i++) assert.ok(indexes[i] > indexes[i - 1], 'in order, without duplicates');
      assert.equal(stalled.closeEvent, undefined);
    } finally {
      await d.stop();
    }
  });

  it('a TCP connection that connects and immediately resets is harmless', async () => {
    for (let i = 0; i < 20; i++) {
      const socket = connect({ port: h.wsPort, host: '127.0.0.1' });
      socket.on('error', () => {});
      await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
      socket.resetAndDestroy();
    }
    const c = await h.connect();
    await c.subscribe('alive');
    await c.close();
  });
});

describe('e2e: orderly closes', () => {
  it('a clean close (client- or server-initiated) frees the connection without waiting for the close timeout', async () => {
    // With a 60 s close timeout, only a completed closing handshake can free these connections within the wait.
    const h = await startNode({ closeTimeoutMs: 60_000, maxMessageBytes: 1024 });
    try {
      const byClient = await h.connect();
      await byClient.subscribe('t');
      await byClient.close(); // client sends 1000, server echoes it
      await waitUntil(() => h.node.ws.connectionCount === 0, 'the server to free a client-closed connection');
      assert.equal(h.node.hub.clientCount, 0);
      const byServer = await h.connect();
      byServer.send('x'.repeat(2000)); // the server closes with 1009
      assert.equal((await byServer.closed()).code, 1009);
      await waitUntil(() => h.node.ws.connectionCount === 0, 'the server to free a connection it closed');
      assert.equal(h.node.hub.clientCount, 0);
    } finally {
      await h.stop();
    }
  });
});

describe('e2e: graceful stop', () => {
  it('await node.stop() closes connected clients with code 1001 and resolves', async () => {
    const h = await startNode();
    const clients = [await h.connect(), await h.connect(), await h.connect()];
    await clients[0].subscribe('t');
    await clients[1].op(3, { data: 'x' }, 30003);
    await h.node.stop(); // not h.stop(): that would terminate the clients first
    for (const c of clients) {
      const { code } = await c.closed();
      assert.equal(code, 1001);
    }
    assert.equal(h.node.hub.clientCount, 0);
    assert.equal(h.node.ws.connectionCount, 0);
    // Nothing listens any more.
    await assert.rejects(h.connect());
    await assert.rejects(fetch(`${h.apiUrl}/healthz`));
    await h.node.stop(); // idempotent
  });

  it('stop resolves even when a client never answers the close frame', async () => {
    const h = await startNode({ shutdownTimeoutMs: 1500 });
    const raw = await RawClient.open(h.wsPort, { path: '/ws' });
    await raw.nextEvent(); // greeting
    const polite = await h.connect();
    await h.node.stop();
    assert.equal((await polite.closed()).code, 1001);
    assert.deepEqual(await raw.nextClose(), { code: 1001, reason: 'server shutting down' });
    await raw.waitClosed();
  });
});
