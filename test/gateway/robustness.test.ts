import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import WebSocket from 'ws';
import { CloseCode, OpCode, type WebSocketConnection } from '../../src/index.js';
import { RawClient, buildRequest, frameHeader } from '../helpers/raw-client.js';
import { startServer, waitUntil, withTimeout, type CloseRecord, type TestServer } from '../helpers/server.js';

/** A well-behaved client that checks it receives every broadcast tick, in order. */
class GoodClient {
  received = 0;
  gaps: string[] = [];
  closed: number | undefined;
  private last = -1;

  constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => {
      const n = Number(data.toString().slice('tick '.length));
      if (this.last !== -1 && n !== this.last + 1) this.gaps.push(`${this.last} -> ${n}`);
      this.last = n;
      this.received++;
    });
    ws.on('close', (code) => (this.closed = code));
  }
}

interface Fixture {
  s: TestServer;
  good: GoodClient[];
  /** Resolves once every good client has received `n` more ticks than now, and checks nothing was lost. */
  stillFlowing(n?: number): Promise<void>;
}

/**
 * A server that broadcasts a numbered tick every 2 ms to the connections on
 * /good (three ws clients), while a test misbehaves on other connections.
 */
async function fixture(t: TestContext): Promise<Fixture> {
  const good = new Set<WebSocketConnection>();
  const s = await startServer(t, {
    maxMessageSize: 1024 * 1024,
    // A raw client never answers the server's close frame; don't wait the default 3 s for it.
    closeTimeoutMs: 500,
    timerResolutionMs: 50,
    onOpen(conn, request) {
      if (request.path === '/good') good.add(conn);
      if (request.path === '/throw-open') throw new Error('onOpen bug');
    },
    onClose(conn) {
      good.delete(conn);
      if (pathOf(s, conn) === '/throw-close') throw new Error('onClose bug');
    },
    onMessage(conn, data, isText) {
      if (data.toString() === 'throw') throw new Error('handler bug');
      conn.send(data, isText);
    },
  });
  let tick = 0;
  const timer = setInterval(() => {
    tick++;
    for (const conn of good) conn.send(`tick ${tick}`);
  }, 2);
  t.after(() => clearInterval(timer));
  const clients = await Promise.all(
    [0, 1, 2].map(
      () =>
        new Promise<GoodClient>((resolve, reject) => {
          const ws = new WebSocket(`${s.url}/good`);
          t.after(() => ws.terminate());
          const client = new GoodClient(ws);
          ws.once('open', () => resolve(client));
          ws.once('error', reject);
        }),
    ),
  );
  await waitUntil(() => clients.every((c) => c.received > 0), 'the good clients to receive ticks');
  return {
    s,
    good: clients,
    async stillFlowing(n = 20) {
      const before = clients.map((c) => c.received);
      await waitUntil(() => clients.every((c, i) => c.received >= before[i] + n), 'the good clients to keep receiving');
      for (const c of clients) {
        assert.equal(c.closed, undefined, 'a good client was closed');
        assert.deepEqual(c.gaps, [], 'a good client missed ticks');
      }
      assert.equal(s.rec.closes.filter((r) => pathOf(s, r.conn) === '/good').length, 0);
    },
  };
}

function pathOf(s: TestServer, conn: WebSocketConnection): string {
  return s.rec.requests[s.rec.opens.indexOf(conn)].path;
}

/** A raw client on /bad that completed its handshake. */
async function badClient(f: Fixture): Promise<RawClient> {
  return f.s.track(await RawClient.open(f.s.port, { path: '/bad' }));
}

/** The close record of the only connection on `path`, once onClose has fired. */
async function badClose(f: Fixture, path = '/bad'): Promise<CloseRecord> {
  const isBad = (conn: WebSocketConnection): boolean => pathOf(f.s, conn) === path;
  await waitUntil(() => f.s.rec.closes.some((c) => isBad(c.conn)), `onClose of the connection on ${path}`);
  const closes = f.s.rec.closes.filter((c) => isBad(c.conn));
  assert.equal(closes.length, 1);
  return closes[0];
}

describe('one misbehaving client does not disturb the others', () => {
  it('garbage instead of a request head: 400, and the others keep receiving', async (t) => {
    const f = await fixture(t);
    const bad = f.s.track(await RawClient.connect(f.s.port));
    bad.write(Buffer.concat([Buffer.from([0, 1, 2, 0xff, 0xfe, 0x80]), Buffer.from('\r\n\r\n')]));
    assert.equal((await bad.readResponse()).status, 400);
    await bad.waitClosed();
    await f.stillFlowing();
  });

  it('garbage after the handshake: closed with 1002', async (t) => {
    const f = await fixture(t);
    const bad = await badClient(f);
    bad.write(Buffer.alloc(64, 0xff)); // RSV bits set, reserved opcode
    assert.equal((await bad.nextClose()).code, CloseCode.ProtocolError);
    await bad.waitClosed();
    assert.equal((await badClose(f)).code, CloseCode.ProtocolError);
    await f.stillFlowing();
  });

  it('an unmasked frame: closed with 1002', async (t) => {
    const f = await fixture(t);
    const bad = await badClient(f);
    bad.write(Buffer.concat([frameHeader(OpCode.Text, 5, { masked: false }), Buffer.from('hello')]));
    assert.equal((await bad.nextClose()).code, CloseCode.ProtocolError);
    assert.equal((await badClose(f)).code, CloseCode.ProtocolError);
    await f.stillFlowing();
  });

  it('a frame announcing more than maxMessageSize: closed with 1009 before the payload arrives', async (t) => {
    const f = await fixture(t);
    const bad = await badClient(f);
    bad.write(frameHeader(OpCode.Binary, 64 * 1024 * 1024)); // the header alone; no payload follows
    assert.equal((await bad.nextClose()).code, CloseCode.MessageTooBig);
    assert.equal((await badClose(f)).code, CloseCode.MessageTooBig);
    await f.stillFlowing();
  });

  it('half a frame, then FIN: onClose with 1006 and no close frame', async (t) => {
    const f = await fixture(t);
    const bad = await badClient(f);
    bad.write(Buffer.concat([frameHeader(OpCode.Binary, 1000), Buffer.alloc(10)]));
    bad.socket.end();
    await bad.waitClosed();
    assert.equal((await badClose(f)).code, CloseCode.AbnormalClosure);
    assert.deepEqual(bad.events, []);
    await f.stillFlowing();
  });

  it('a connection reset mid-frame: onClose with 1006', async (t) => {
    const f = await fixture(t);
    const bad = await badClient(f);
    bad.write(Buffer.concat([frameHeader(OpCode.Binary, 1000), Buffer.alloc(10)]));
    await new Promise((resolve) => setImmediate(resolve));
    bad.socket.resetAndDestroy();
    // 1.2 MB of unread echoes may already have passed the 1 MiB slow-consumer bound (1008), else the reset ends it (1006).
    const { code } = await badClose(f);
    assert.ok(code === CloseCode.AbnormalClosure || code === CloseCode.PolicyViolation, `closed with ${code}`);
    await f.stillFlowing();
  });

  it('a connection reset mid-handshake: nothing opened, nothing closed', async (t) => {
    const f = await fixture(t);
    const bad = f.s.track(await RawClient.connect(f.s.port));
    bad.write(buildRequest().slice(0, 40));
    await new Promise((resolve) => setImmediate(resolve));
    bad.socket.resetAndDestroy();
    await bad.waitClosed();
    await f.stillFlowing();
    assert.equal(f.s.rec.opens.length, 3);
    assert.equal(f.s.server.connectionCount, 3);
  });

  it('a client that vanishes without reading: the server keeps broadcasting to the rest', async (t) => {
    const f = await fixture(t);
    const bad = await badClient(f);
    for (let i = 0; i < 20; i++) bad.send(OpCode.Binary, Buffer.alloc(60_000, i)); // echoes it never reads
    bad.socket.pause();
    await f.stillFlowing();
    bad.socket.resetAndDestroy();
    // 1.2 MB of unread echoes may already have passed the 1 MiB slow-consumer bound (1008), else the reset ends it (1006).
    const { code } = await badClose(f);
    assert.ok(code === CloseCode.AbnormalClosure || code === CloseCode.PolicyViolation, `closed with ${code}`);
    await f.stillFlowing();
  });

  it('a throwing onMessage: that connection is closed with 1011 and onError is called', async (t) => {
    const f = await fixture(t);
    const ws = new WebSocket(`${f.s.url}/bad`);
    t.after(() => ws.terminate());
    await withTimeout(new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject)), 'open');
    const closed = withTimeout(
      new Promise<{ code: number; reason: string }>((resolve) => ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() }))),
      'the close of the throwing connection',
    );
    ws.send('throw');
    assert.equal((await closed).code, CloseCode.InternalError);
    const close = await badClose(f);
    assert.equal(close.code, CloseCode.InternalError);
    assert.equal(f.s.rec.errors.length, 1);
    const { error, conn } = f.s.rec.errors[0];
    assert.ok(error instanceof Error && error.message === 'handler bug');
    assert.equal(conn, close.conn);
    await f.stillFlowing();
  });

  it('a throwing onOpen: that connection is closed with 1011 and onError is called', async (t) => {
    const f = await fixture(t);
    const bad = f.s.track(await RawClient.open(f.s.port, { path: '/throw-open' }));
    assert.equal((await bad.nextClose()).code, CloseCode.InternalError);
    const close = await badClose(f, '/throw-open');
    assert.equal(close.code, CloseCode.InternalError);
    assert.equal(f.s.rec.errors.length, 1);
    assert.equal(f.s.rec.errors[0].conn, close.conn);
    assert.equal((f.s.rec.errors[0].error as Error).message, 'onOpen bug');
    await f.stillFlowing();
  });

  it('a throwing onClose is reported to onError with its connection', async (t) => {
    const f = await fixture(t);
    const bad = f.s.track(await RawClient.open(f.s.port, { path: '/throw-close' }));
    bad.sendClose(CloseCode.NormalClosure);
    await bad.waitClosed();
    await waitUntil(() => f.s.rec.errors.length === 1, 'onError');
    assert.equal((f.s.rec.errors[0].error as Error).message, 'onClose bug');
    assert.notEqual(f.s.rec.errors[0].conn, undefined);
    assert.equal((await badClose(f, '/throw-close')).code, CloseCode.NormalClosure);
    await f.stillFlowing();
    assert.equal(f.s.server.connectionCount, 3);
  });

  it('several misbehaving clients at once, while the broadcast goes on', async (t) => {
    const f = await fixture(t);
    const bads = await Promise.all(Array.from({ length: 6 }, () => badClient(f)));
    bads[0].write(Buffer.alloc(32, 0xff));
    bads[1].write(Buffer.concat([frameHeader(OpCode.Text, 3, { masked: false }), Buffer.from('abc')]));
    bads[2].write(frameHeader(OpCode.Binary, 2 * 1024 * 1024));
    bads[3].write(frameHeader(OpCode.Text, 100));
    bads[3].socket.end();
    bads[4].socket.resetAndDestroy();
    bads[5].send(OpCode.Text, 'throw');
    await waitUntil(() => f.s.rec.closes.length === 6, 'all six bad connections to close');
    f.s.rec.closes.forEach((c) => assert.notEqual(pathOf(f.s, c.conn), '/good'));
    assert.deepEqual(f.s.rec.closes.map((c) => c.code).sort(), [1002, 1002, 1006, 1006, 1009, 1011]);
    await f.stillFlowing();
    assert.equal(f.s.server.connectionCount, 3);
  });
});
