/**
 * Connection admission end to end, on a real node: total cap (503), per-IP
 * cap (429), per-IP connection rate (429 CONNECTING_TOO_FAST) and the Origin
 * allow-list (403). Each refusal is a plain HTTP response with `Connection:
 * close` and the JSON error body, the limit holds, and two established
 * subscribers keep receiving pushes afterwards. Source addresses are taken
 * from 127.0.0.0/8 (`localAddress`).
 */
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, afterEach, before, describe, it } from 'node:test';
import { startNode, waitUntil, type TestClient, type TestNode } from '../helpers/herald-node.js';
import { withTimeout } from '../helpers/server.js';
import { attempt, open, refused, terminateAll, type Attempt } from './ws-attempt.js';

/** A node with `options`, two subscribers of `live` (from 127.0.0.1) and a set for other clients. */
async function setup(options: Parameters<typeof startNode>[0]) {
  const h = await startNode(options);
  const subscribers = [await h.connect(), await h.connect()];
  for (const s of subscribers) await s.subscribe('live');
  const opened = new Set<TestClient>();
  let seq = 0;
  return {
    h,
    opened,
    subscribers,
    /** A push to `live` reaches both subscribers (and nothing else was pending for them). */
    async stillDelivering(): Promise<void> {
      const marker = `live-${seq++}`;
      await h.send({ topic: 'live' }, marker);
      for (const s of subscribers) assert.deepEqual(await s.sync(), [marker]);
    },
    async stop(): Promise<void> {
      terminateAll(opened);
      await h.stop();
    },
  };
}

/** Retry `tryOnce` (bounded) until it opens; every refusal on the way must have `status`. */
async function eventuallyOpens(tryOnce: () => Promise<Attempt>, status: number): Promise<TestClient> {
  for (let i = 0; i < 200; i++) {
    const result = await tryOnce();
    if (result.kind === 'open') return result.client;
    assert.equal(result.status, status, result.text);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error('never admitted');
}

/** Raw TCP: connect and send nothing; resolve with everything the server writes before it ends. */
function silentConnect(port: number): Promise<string> {
  return withTimeout(
    new Promise<string>((resolve, reject) => {
      const socket = connect({ port, host: '127.0.0.1' });
      let text = '';
      socket.on('data', (chunk: Buffer) => (text += chunk.toString('latin1')));
      socket.on('end', () => {
        socket.destroy();
        resolve(text);
      });
      socket.on('error', reject);
    }),
    'the server to answer a silent connection',
  );
}

describe('limits: maxConnections 3', () => {
  let s: Awaited<ReturnType<typeof setup>>;
  before(async () => {
    s = await setup({ maxConnections: 3 });
  });
  after(() => s.stop());

  it('the 4th connection gets 503 TOO_MANY_CONNECTIONS with Retry-After; after one leaves, a new one is accepted', async () => {
    const third = await open(s.h.wsUrl, s.opened);
    const refusal = await refused(s.h.wsUrl, s.opened, 503, 'TOO_MANY_CONNECTIONS');
    assert.ok(Number(refusal.headers['retry-after']) >= 1, `Retry-After: ${refusal.headers['retry-after']}`);
    // The cap is global: another source address is refused too.
    await refused(s.h.wsUrl, s.opened, 503, 'TOO_MANY_CONNECTIONS', { from: '127.0.0.2' });
    assert.equal(s.h.node.ws.connectionCount, 3);
    await s.stillDelivering();

    await third.close();
    await waitUntil(() => s.h.node.ws.connectionCount === 2, 'the node to forget the third client');
    const fresh = await eventuallyOpens(() => attempt(s.h.wsUrl, s.opened), 503);
    await fresh.subscribe('live');
    await s.h.send({ topic: 'live' }, 'with-fresh');
    assert.deepEqual(await fresh.sync(), ['with-fresh']);
    for (const sub of s.subscribers) assert.deepEqual(await sub.sync(), ['with-fresh']);
  });

  it('the 503 is sent before any upgrade: a connection that sends nothing gets it at once', async () => {
    assert.equal(s.h.node.ws.connectionCount, 3);
    const response = await silentConnect(s.h.wsPort);
    assert.match(response, /^HTTP\/1\.1 503 /);
    assert.match(response, /\r\nConnection: close\r\n/i);
    assert.match(response, /\r\nRetry-After: \d+\r\n/i);
    assert.match(response, /"code":"TOO_MANY_CONNECTIONS"/);
    await s.stillDelivering();
  });
});

describe('limits: maxConnectionsPerIp 2', () => {
  let s: Awaited<ReturnType<typeof setup>>;
  before(async () => {
    s = await setup({ maxConnectionsPerIp: 2 });
  });
  after(() => s.stop());

  it('a third connection from 127.0.0.2 gets 429 TOO_MANY_CONNECTIONS_FROM_IP; 127.0.0.3 still connects', async () => {
    const first = await open(s.h.wsUrl, s.opened, { from: '127.0.0.2' });
    await open(s.h.wsUrl, s.opened, { from: '127.0.0.2' });
    await refused(s.h.wsUrl, s.opened, 429, 'TOO_MANY_CONNECTIONS_FROM_IP', { from: '127.0.0.2' });
    await refused(s.h.wsUrl, s.opened, 429, 'TOO_MANY_CONNECTIONS_FROM_IP', { from: '127.0.0.2' });
    // 127.0.0.1 holds the two subscribers: it is at its limit too.
    await refused(s.h.wsUrl, s.opened, 429, 'TOO_MANY_CONNECTIONS_FROM_IP', { from: '127.0.0.1' });
    const other = await open(s.h.wsUrl, s.opened, { from: '127.0.0.3' });
    await other.subscribe('live');
    await s.h.send({ topic: 'live' }, 'three-ips');
    assert.deepEqual(await other.sync(), ['three-ips']);
    for (const sub of s.subscribers) assert.deepEqual(await sub.sync(), ['three-ips']);

    // One leaves: 127.0.0.2 may connect again, once.
    await first.close();
    await eventuallyOpens(() => attempt(s.h.wsUrl, s.opened, { from: '127.0.0.2' }), 429);
    await refused(s.h.wsUrl, s.opened, 429, 'TOO_MANY_CONNECTIONS_FROM_IP', { from: '127.0.0.2' });
    await s.stillDelivering();
  });
});

describe('limits: newConnectionsPerSecondPerIp 3', () => {
  let s: Awaited<ReturnType<typeof setup>>;
  before(async () => {
    s = await setup({ newConnectionsPerSecondPerIp: 3 });
  });
  after(() => s.stop());

  it('a burst of 6 from one address: at least 3 open, some get 429 CONNECTING_TOO_FAST; another address is unaffected', async () => {
    const results = await Promise.all(Array.from({ length: 6 }, () => attempt(s.h.wsUrl, s.opened, { from: '127.0.0.4' })));
    const opened = results.filter((r) => r.kind === 'open');
    const limited = results.filter((r): r is Extract<Attempt, { kind: 'refused' }> => r.kind === 'refused');
    assert.ok(opened.length >= 3, `only ${opened.length} of the burst opened; a fresh bucket holds 3`);
    assert.ok(limited.length >= 1, 'no attempt of the burst was refused');
    for (const r of limited) {
      assert.equal(r.status, 429, r.text);
      assert.equal(r.json?.error?.code, 'CONNECTING_TOO_FAST');
      assert.equal(r.headers.connection, 'close');
      assert.ok(Number(r.headers['retry-after']) >= 1);
    }
    // The connections that did open work.
    for (const r of opened) if (r.kind === 'open') await r.client.subscribe('live');
    // Another source address has its own bucket.
    const other = await open(s.h.wsUrl, s.opened, { from: '127.0.0.5' });
    await other.subscribe('live');
    await s.h.send({ topic: 'live' }, 'after-burst');
    for (const client of [...s.subscribers, other, ...opened.map((r) => (r as { client: TestClient }).client)]) {
      assert.deepEqual(await client.sync(), ['after-burst']);
    }
  });
});

describe('limits: allowedOrigins', () => {
  let s: Awaited<ReturnType<typeof setup>>;
  before(async () => {
    s = await setup({ allowedOrigins: ['https://app.example.com', 'https://*.example.org'] });
  });
  after(() => s.stop());
  afterEach(() => terminateAll(s.opened));

  for (const origin of ['https://evil.example.com', 'https://example.org', 'http://app.example.com', 'http://x.example.org', 'null']) {
    it(`Origin ${origin} → 403 FORBIDDEN_ORIGIN`, async () => {
      await refused(s.h.wsUrl, s.opened, 403, 'FORBIDDEN_ORIGIN', { origin });
      await s.stillDelivering();
    });
  }

  for (const origin of ['https://app.example.com', 'https://x.example.org', 'https://a.b.example.org', 'HTTPS://X.EXAMPLE.ORG']) {
    it(`Origin ${origin} connects and receives pushes`, async () => {
      const client = await open(s.h.wsUrl, s.opened, { origin });
      await client.subscribe('live');
      await s.h.send({ topic: 'live' }, `via ${origin}`);
      assert.deepEqual(await client.sync(), [`via ${origin}`]);
      for (const sub of s.subscribers) assert.deepEqual(await sub.sync(), [`via ${origin}`]);
    });
  }

  it('a client without an Origin header (not a browser) connects', async () => {
    const client = await open(s.h.wsUrl, s.opened);
    await client.subscribe('live');
    await s.h.send({ topic: 'live' }, 'no-origin');
    assert.deepEqual(await client.sync(), ['no-origin']);
    for (const sub of s.subscribers) assert.deepEqual(await sub.sync(), ['no-origin']);
  });
});

describe('limits: refused connections and the total cap', () => {
  let s: Awaited<ReturnType<typeof setup>>;
  before(async () => {
    s = await setup({ maxConnections: 5, maxConnectionsPerIp: 2 });
  });
  after(() => s.stop());

  it(
    'connections refused by the per-IP cap, left half-open by their peer, do not fill maxConnections for others',
    async () => {
      // 127.0.0.9 holds its 2 allowed connections, then opens 4 more that are refused 429 and never closes them.
      await open(s.h.wsUrl, s.opened, { from: '127.0.0.9' });
      await open(s.h.wsUrl, s.opened, { from: '127.0.0.9' });
      const sockets = Array.from({ length: 4 }, () => {
        const socket = connect({ host: '127.0.0.1', port: s.h.wsPort, localAddress: '127.0.0.9', allowHalfOpen: true });
        let text = '';
        socket.on('data', (chunk: Buffer) => (text += chunk.toString('latin1')));
        socket.on('error', () => undefined);
        socket.write(
          'GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
            'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
        );
        return { socket, text: () => text };
      });
      try {
        await waitUntil(() => sockets.every((x) => x.text().includes('\r\n\r\n')), 'the four refusals');
        for (const x of sockets) assert.match(x.text(), /^HTTP\/1\.1 429 /);
        // 4 connections are admitted (2 subscribers + 2 from 127.0.0.9) under a cap of 5: a fifth from elsewhere fits.
        assert.equal(s.h.node.ws.connectionCount, 4);
        await open(s.h.wsUrl, s.opened, { from: '127.0.0.3' });
        await s.stillDelivering();
      } finally {
        for (const x of sockets) x.socket.destroy();
      }
    },
  );
});
