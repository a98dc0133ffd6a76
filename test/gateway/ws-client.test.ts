import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import WebSocket from 'ws';
import { CloseCode, OpCode, type WebSocketConnection } from '../../src/index.js';
import { RawClient, frameHeader } from '../helpers/raw-client.js';
import { startServer, waitUntil, type TestServer, type TestServerOptions } from '../helpers/server.js';

/** A `ws` client that records what it receives. */
class WsPeer {
  readonly messages: { data: Buffer; isBinary: boolean }[] = [];
  readonly pongs: Buffer[] = [];
  closeEvent: { code: number; reason: string } | undefined;
  error: Error | undefined;
  private cursor = 0;

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data, isBinary) => this.messages.push({ data: data as Buffer, isBinary }));
    ws.on('pong', (data) => this.pongs.push(data));
    ws.on('close', (code, reason) => (this.closeEvent = { code, reason: reason.toString() }));
    ws.on('error', (error) => (this.error = error));
  }

  static async open(t: TestContext, url: string, options: WebSocket.ClientOptions = {}): Promise<WsPeer> {
    const peer = new WsPeer(new WebSocket(url, options));
    t.after(() => peer.ws.terminate());
    await new Promise<void>((resolve, reject) => {
      peer.ws.once('open', resolve);
      peer.ws.once('error', reject);
    });
    return peer;
  }

  async next(): Promise<{ data: Buffer; isBinary: boolean }> {
    await waitUntil(() => this.messages.length > this.cursor || this.closeEvent !== undefined, 'a message');
    const message = this.messages[this.cursor++];
    if (message === undefined) throw new Error(`closed (${JSON.stringify(this.closeEvent)}) before a message arrived`);
    return message;
  }

  async closed(): Promise<{ code: number; reason: string }> {
    await waitUntil(() => this.closeEvent !== undefined, 'the client to see the close');
    return this.closeEvent as { code: number; reason: string };
  }
}

/** Deterministic, non-repeating-looking bytes, so an offset or truncation cannot go unnoticed. */
function pattern(size: number, seed = 1): Buffer {
  const buf = Buffer.allocUnsafe(size);
  let s = seed;
  for (let i = 0; i < size; i++) {
    s = (Math.imul(s, 1103515245) + 12345) & 0x7fffffff;
    buf[i] = s >>> 16;
  }
  return buf;
}

/** Printable ASCII text of `size` bytes. */
function text(size: number): string {
  return Array.from(pattern(size, 7), (b) => String.fromCharCode(0x21 + (b % 94))).join('');
}

/** An echo server taking messages up to 1 MiB (the largest of SIZES; the default bound is 64 KiB). */
async function echoServer(t: TestContext, options: TestServerOptions = {}): Promise<TestServer> {
  return startServer(t, { maxMessageSize: 1024 * 1024, ...options });
}

/** 7-bit (≤125), 16-bit (126…65535) and 64-bit (≥65536) payload lengths, with the boundaries (RFC 6455 §5.2). */
const SIZES = [0, 1, 125, 126, 127, 65535, 65536, 200_000, 1024 * 1024];

describe('WebSocketServer with the ws client', () => {
  it('echoes a text message, multi-byte UTF-8 included, without negotiating compression', async (t) => {
    const s = await echoServer(t);
    const peer = await WsPeer.open(t, s.url);
    assert.equal(peer.ws.extensions, '', 'the server must not accept permessage-deflate');
    peer.ws.send('héllo, wörld — ✓ 🚀');
    const echo = await peer.next();
    assert.equal(echo.isBinary, false);
    assert.equal(echo.data.toString('utf8'), 'héllo, wörld — ✓ 🚀');
    assert.equal(s.rec.messages[0].isText, true);
  });

  it('echoes a binary message', async (t) => {
    const s = await echoServer(t);
    const peer = await WsPeer.open(t, s.url);
    const payload = Buffer.from([0, 1, 2, 0xfe, 0xff, 0x80, 0x7f]);
    peer.ws.send(payload);
    const echo = await peer.next();
    assert.equal(echo.isBinary, true);
    assert.deepEqual(echo.data, payload);
    assert.equal(s.rec.messages[0].isText, false);
  });

  for (const size of SIZES) {
    it(`carries a ${size}-byte binary message both ways intact`, async (t) => {
      const s = await echoServer(t);
      const peer = await WsPeer.open(t, s.url);
      const payload = pattern(size, size + 1);
      peer.ws.send(payload);
      const echo = await peer.next();
      assert.equal(echo.isBinary, true);
      assert.equal(s.rec.messages[0].data.length, size, 'server received the wrong length');
      assert.ok(s.rec.messages[0].data.equals(payload), 'server received corrupted bytes');
      assert.equal(echo.data.length, size, 'client received the wrong length');
      assert.ok(echo.data.equals(payload), 'client received corrupted bytes');
    });
  }

  it('carries text messages of 7-bit, 16-bit and 64-bit lengths both ways intact', async (t) => {
    const s = await echoServer(t);
    const peer = await WsPeer.open(t, s.url);
    for (const size of [125, 126, 65535, 65536, 1024 * 1024]) {
      const message = text(size);
      peer.ws.send(message);
      const echo = await peer.next();
      assert.equal(echo.isBinary, false);
      assert.equal(echo.data.length, size);
      assert.equal(echo.data.toString('utf8'), message);
    }
  });

  it('delivers server-sent messages of every length class in order, queued in one turn', async (t) => {
    const payloads = SIZES.map((size) => pattern(size, size + 3));
    const results: string[] = [];
    const s = await echoServer(t, {
      // ~1.4 MB queued in one turn: a 2 MiB bound takes it all, with backpressure past 1 MiB.
      maxBufferedBytes: 2 * 1024 * 1024,
      onOpen(conn) {
        results.push(conn.send('first'));
        for (const payload of payloads) results.push(conn.send(payload));
        results.push(conn.send('last'));
      },
    });
    const peer = await WsPeer.open(t, s.url);
    // Past half the bound a send reports backpressure, but is still queued.
    assert.ok(!results.includes('dropped'), results.join());
    assert.ok(results.includes('backpressure'), results.join());
    assert.equal((await peer.next()).data.toString(), 'first');
    for (const payload of payloads) {
      const message = await peer.next();
      assert.equal(message.isBinary, true);
      assert.equal(message.data.length, payload.length);
      assert.ok(message.data.equals(payload), `${payload.length}-byte message corrupted`);
    }
    assert.equal((await peer.next()).data.toString(), 'last');
  });

  it('refuses sends past maxBufferedBytes and closes the slow consumer with the configured code', async (t) => {
    const results: string[] = [];
    const s = await echoServer(t, {
      maxBufferedBytes: 64 * 1024,
      slowConsumerCloseCode: 4001,
      onOpen(conn) {
        for (let i = 0; i < 4; i++) results.push(conn.send(Buffer.alloc(30 * 1024, i)));
      },
    });
    const peer = await WsPeer.open(t, s.url);
    const { code } = await peer.closed();
    assert.deepEqual(results, ['ok', 'backpressure', 'dropped', 'dropped']);
    assert.equal(code, 4001);
    assert.equal(s.server.slowConsumerEvents, 1);
  });

  it('with the drop policy, refuses what does not fit and keeps the connection', async (t) => {
    const results: string[] = [];
    const s = await echoServer(t, {
      maxBufferedBytes: 64 * 1024,
      slowConsumerPolicy: 'drop',
      onOpen(conn) {
        for (let i = 0; i < 4; i++) results.push(conn.send(Buffer.alloc(30 * 1024, i)));
        conn.send('after');
      },
    });
    const peer = await WsPeer.open(t, s.url);
    assert.deepEqual(results, ['ok', 'backpressure', 'dropped', 'dropped']);
    assert.equal((await peer.next()).data[0], 0);
    assert.equal((await peer.next()).data[0], 1);
    assert.equal((await peer.next()).data.toString(), 'after');
    assert.equal(s.server.slowConsumerEvents, 2);
  });

  it('reassembles a fragmented text message sent by the client', async (t) => {
    const s = await echoServer(t);
    const peer = await WsPeer.open(t, s.url);
    peer.ws.send('frag', { fin: false });
    peer.ws.send('ment', { fin: false });
    peer.ws.send('ed ✓', { fin: true });
    const echo = await peer.next();
    assert.equal(echo.isBinary, false);
    assert.equal(echo.data.toString('utf8'), 'fragmented ✓');
    assert.equal(s.rec.messages.length, 1, 'fragments must be delivered as one message');
  });

  it('reassembles a fragmented binary message, with a ping between its fragments', async (t) => {
    const s = await echoServer(t);
    const peer = await WsPeer.open(t, s.url);
    const whole = pattern(150_000, 9);
    peer.ws.send(whole.subarray(0, 100), { binary: true, fin: false });
    peer.ws.ping('between'); // §5.4: control frames may be injected in the middle of a fragmented message
    peer.ws.send(whole.subarray(100, 70_000), { binary: true, fin: false });
    peer.ws.send(whole.subarray(70_000), { binary: true, fin: true });
    const echo = await peer.next();
    assert.equal(echo.isBinary, true);
    assert.ok(echo.data.equals(whole));
    assert.deepEqual(peer.pongs.map(String), ['between']);
  });

  it('answers a ping with a pong carrying the same payload', async (t) => {
    const s = await echoServer(t);
    const peer = await WsPeer.open(t, s.url);
    const payload = pattern(125, 5); // the largest control payload
    peer.ws.ping(payload);
    peer.ws.ping();
    await waitUntil(() => peer.pongs.length === 2, 'two pongs');
    assert.ok(peer.pongs[0].equals(payload));
    assert.equal(peer.pongs[1].length, 0);
  });

  it('completes a close handshake started by the client', async (t) => {
    const s = await echoServer(t);
    const peer = await WsPeer.open(t, s.url);
    peer.ws.close(4000, 'client done');
    const seen = await peer.closed();
    assert.equal(seen.code, 4000, 'the server must echo the close code');
    await waitUntil(() => s.rec.closes.length === 1, 'onClose');
    assert.equal(s.rec.closes[0].code, 4000);
    assert.equal(s.rec.closes[0].reason, 'client done');
    assert.equal(s.server.connectionCount, 0);
  });

  it('completes a close handshake started by the server, after the messages queued before it', async (t) => {
    let conn: WebSocketConnection | undefined;
    const s = await echoServer(t, {
      onMessage(c) {
        conn = c;
        c.send('last words');
        c.close(4001, 'bye');
        assert.equal(c.send('too late'), 'dropped');
      },
    });
    const peer = await WsPeer.open(t, s.url);
    peer.ws.send('close me');
    assert.deepEqual(await peer.closed(), { code: 4001, reason: 'bye' });
    assert.deepEqual(peer.messages.map((m) => m.data.toString()), ['last words']);
    await waitUntil(() => s.rec.closes.length === 1 && s.server.connectionCount === 0, 'onClose');
    assert.equal(s.rec.closes[0].conn, conn);
    assert.equal(s.rec.closes[0].code, 4001);
    assert.equal(s.rec.closes[0].reason, 'bye');
    assert.equal(peer.error, undefined);
  });

  it('closes with 1009 when a client message exceeds maxMessageSize, summed over fragments', async (t) => {
    const s = await echoServer(t, { maxMessageSize: 100_000 });
    const whole = await WsPeer.open(t, s.url);
    whole.ws.send(pattern(100_001));
    assert.equal((await whole.closed()).code, CloseCode.MessageTooBig);
    const fragmented = await WsPeer.open(t, s.url);
    fragmented.ws.send(pattern(60_000), { fin: false });
    fragmented.ws.send(pattern(60_000), { fin: true });
    assert.equal((await fragmented.closed()).code, CloseCode.MessageTooBig);
    await waitUntil(() => s.rec.closes.length === 2, 'both onClose calls');
    assert.deepEqual(s.rec.closes.map((c) => c.code), [1009, 1009]);
    assert.equal(s.rec.messages.length, 0);
  });

  it('terminate() drops the connection without a close frame; onClose sees 1006', async (t) => {
    const s = await echoServer(t, { onMessage: (conn) => conn.terminate() });
    const peer = await WsPeer.open(t, s.url);
    peer.ws.send('terminate me');
    assert.equal((await peer.closed()).code, CloseCode.AbnormalClosure);
    await waitUntil(() => s.rec.closes.length === 1, 'onClose');
    assert.equal(s.rec.closes[0].code, CloseCode.AbnormalClosure);
  });

  it('fires onClose exactly once for every opened connection, however it ends', async (t) => {
    const s = await echoServer(t, {
      onMessage(conn, data) {
        const command = data.toString();
        if (command === 'server-close') conn.close(4001, 'bye');
        else if (command === 'terminate') conn.terminate();
        else if (command === 'close-twice') {
          conn.close(4002);
          conn.close(4003);
          conn.terminate();
        }
      },
    });
    const peers = await Promise.all(Array.from({ length: 7 }, () => WsPeer.open(t, s.url)));
    peers[0].ws.close(4000);
    peers[1].ws.send('server-close');
    peers[2].ws.send('terminate');
    peers[3].ws.send('close-twice');
    peers[4].ws.terminate();
    peers[5].ws.close(); // 1005 on the server: no status code
    // peers[6] stays open until the server shuts down (1001)
    await waitUntil(() => s.rec.closes.length === 6, 'six onClose calls');
    await s.close();
    assert.equal((await peers[6].closed()).code, CloseCode.GoingAway);
    await waitUntil(() => s.rec.closes.length === 7, 'seven onClose calls');
    s.rec.assertEachClosedOnce();
    const codeOf = (i: number): number | undefined => s.rec.closesOf(s.rec.opens[i])[0]?.code;
    const codes = peers.map((_, i) => codeOf(i)).sort();
    assert.deepEqual(codes, [1001, 1005, 1006, 1006, 4000, 4001, 4002].sort());
    assert.equal(s.server.connectionCount, 0);
  });
});

/** Frames a conforming client never sends, each with the close code RFC 6455 requires. */
const PROTOCOL_ERRORS: { name: string; code: number; frame: () => Buffer }[] = [
  { name: 'an unmasked frame', code: 1002, frame: () => Buffer.concat([frameHeader(OpCode.Text, 2, { masked: false }), Buffer.from('hi')]) },
  { name: 'a reserved opcode', code: 1002, frame: () => frameHeader(0x3, 0) },
  { name: 'RSV1 without an extension', code: 1002, frame: () => Buffer.concat([frameHeader(OpCode.Text, 1, { rsv: 4 }), Buffer.from('x')]) },
  { name: 'a fragmented ping', code: 1002, frame: () => frameHeader(OpCode.Ping, 0, { fin: false }) },
  { name: 'a ping over 125 bytes', code: 1002, frame: () => Buffer.concat([frameHeader(OpCode.Ping, 126), Buffer.alloc(126)]) },
  { name: 'a continuation with nothing to continue', code: 1002, frame: () => Buffer.concat([frameHeader(OpCode.Continuation, 1), Buffer.from('x')]) },
  { name: 'a 1-byte close payload', code: 1002, frame: () => Buffer.concat([frameHeader(OpCode.Close, 1), Buffer.from([3])]) },
  { name: 'close code 1005', code: 1002, frame: () => Buffer.concat([frameHeader(OpCode.Close, 2), Buffer.from([0x03, 0xed])]) },
  { name: 'invalid UTF-8 in a text frame', code: 1007, frame: () => Buffer.concat([frameHeader(OpCode.Text, 2), Buffer.from([0xc3, 0x28])]) },
  { name: 'a frame over maxMessageSize', code: 1009, frame: () => frameHeader(OpCode.Binary, 4096) },
];

describe('WebSocketServer protocol errors from a raw client', () => {
  for (const { name, code, frame } of PROTOCOL_ERRORS) {
    it(`closes with ${code} on ${name}, then ends the connection`, async (t) => {
      const s = await startServer(t, { maxMessageSize: 1024 });
      const client = s.track(await RawClient.open(s.port));
      client.write(frame());
      const close = await client.nextClose();
      assert.equal(close.code, code);
      await client.waitEnded();
      await waitUntil(() => s.rec.closes.length === 1, 'onClose');
      assert.equal(s.rec.closes[0].code, code);
      assert.equal(s.rec.messages.length, 0);
    });
  }
});
