/**
 * GET /v1/sse and POST /v1/stream under the WebSocket listener's policies and
 * the session's rules: origins and CORS, namespaces (token, maxSubscribers),
 * JWT logins (expired), a connect proxy's refusal, drain, and a request body
 * that arrives in pieces. Real HS256 JWTs (jose), real sockets.
 */
import assert from 'node:assert/strict';
import { createConnection } from 'node:net';
import { after, afterEach, before, describe, it } from 'node:test';
import { SignJWT } from 'jose';
import { JwtVerifier } from '../../src/auth/jwt-verifier.js';
import type { ConnectProxy } from '../../src/session/proxy-hooks.js';
import { startNode, waitUntil, type TestNode } from '../helpers/herald-node.js';
import { CurlStream } from './curl-stream.js';

const SECRET = 'a-development-secret-of-32-bytes!';

async function jwt(sub: string, expInSeconds: number): Promise<string> {
  return new SignJWT({})
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(sub)
    .setExpirationTime(Math.floor(Date.now() / 1000) + expInSeconds)
    .sign(new TextEncoder().encode(SECRET));
}

/** One raw request written in `pieces`; records what the server sends. */
function rawRequest(port: number, pieces: string[]): { text: () => string; socket: import('node:net').Socket } {
  const socket = createConnection({ host: '127.0.0.1', port });
  const chunks: Buffer[] = [];
  socket.on('data', (c: Buffer) => chunks.push(c));
  socket.on('error', () => {});
  socket.on('connect', async () => {
    for (const piece of pieces) {
      socket.write(piece);
      await new Promise((r) => setTimeout(r, 20));
    }
  });
  return { text: () => Buffer.concat(chunks).toString(), socket };
}

describe('SSE and NDJSON under the listener policies and session rules', () => {
  let t: TestNode;
  let base: string;
  const curls: CurlStream[] = [];
  const curl = (...args: string[]): CurlStream => {
    const c = new CurlStream(args);
    curls.push(c);
    return c;
  };
  const connectProxy: ConnectProxy = {
    async check(request) {
      return request.headers.cookie === 'banned=1' ? { allowed: false, unavailable: false, reason: 'banned' } : { allowed: true };
    },
  };

  before(async () => {
    t = await startNode({
      verifier: new JwtVerifier({ secret: SECRET }),
      namespaces: [
        { topics: 'tok:*', subscribe: 'token' },
        { topics: 'full:*', maxSubscribers: 1 },
      ],
      allowedOrigins: ['https://app.example.com'],
      connectProxy,
    });
    base = `http://127.0.0.1:${t.wsPort}`;
  });
  afterEach(async () => {
    for (const c of curls.splice(0)) c.kill();
    await t.closeClients();
  });
  after(() => t.stop());

  async function refused(args: string[], status: number, code: string): Promise<CurlStream> {
    const c = curl(...args);
    await c.exited();
    assert.equal(c.status, status, `${args.join(' ')}: ${c.text}`);
    assert.equal((JSON.parse(c.body) as { error: { code: string } }).error.code, code, c.text);
    return c;
  }

  it('refuses a foreign origin, and answers an allowed one with CORS headers and a preflight', async () => {
    await refused([`${base}/v1/sse?topic=a`, '-H', 'Origin: https://evil.example'], 403, 'FORBIDDEN_ORIGIN');
    const ok = curl(`${base}/v1/sse?topic=a`, '-H', 'Origin: https://app.example.com');
    await ok.waitFor((x) => x.blocks.some((b) => b.id !== undefined), 'the start');
    assert.equal(ok.header('access-control-allow-origin'), 'https://app.example.com');
    assert.equal(ok.header('access-control-allow-credentials'), 'true');
    const preflight = curl(`${base}/v1/stream`, '-X', 'OPTIONS', '-H', 'Origin: https://app.example.com');
    await preflight.exited();
    assert.equal(preflight.status, 204);
    assert.equal(preflight.header('access-control-allow-methods'), 'POST');
    assert.match(preflight.header('access-control-allow-headers') ?? '', /Content-Type/);
  });

  it('answers an expired or invalid JWT 401, and logs in with a valid one (query or Authorization)', async () => {
    const expired = await refused([`${base}/v1/sse?private=inbox&token=${await jwt('ann', -60)}`], 401, 'UNAUTHENTICATED');
    assert.match(JSON.parse(expired.body).error.message, /expired/);
    await refused([`${base}/v1/sse?topic=a&token=not.a.jwt`], 401, 'UNAUTHENTICATED');
    const ok = curl(`${base}/v1/sse?private=inbox`, '-H', `Authorization: Bearer ${await jwt('ann', 600)}`);
    await ok.waitFor((x) => x.blocks.some((b) => b.id !== undefined), 'the start');
    await t.send({ uid: 'ann', topic: 'inbox' }, 'private hello');
    await ok.waitFor((x) => x.events.some((e) => e.data === 'private hello'), 'the private push');
  });

  it('applies namespaces: 401 without a subscription token, 503 when a namespace is full', async () => {
    const refusedTopic = await refused([`${base}/v1/sse?topic=tok:room`], 401, 'UNAUTHENTICATED');
    assert.match(JSON.parse(refusedTopic.body).error.message, /tok:room.*subscription token missing/);
    const first = curl(`${base}/v1/sse?topic=full:one`);
    await first.waitFor((x) => x.blocks.some((b) => b.id !== undefined), 'the first subscriber');
    await refused([`${base}/v1/sse?topic=full:one`], 503, 'SUBSCRIPTION_REFUSED');
    // NDJSON goes on: the refusal is a line, the stream stays.
    const nd = curl(`${base}/v1/stream`, '-d', JSON.stringify({ subscriptions: [{ topic: 'full:one' }, { topic: 'free' }] }));
    await nd.waitFor((x) => x.lines.length === 2, 'two replies');
    assert.equal(nd.lines[0].code, 30005);
    assert.equal(nd.lines[0].topic, 'full:one');
    assert.equal(nd.lines[1].code, 20001);
    await waitUntil(() => t.node.hub.clientCount === 2, 'both streams to be hub clients');
  });

  it('answers a connect proxy refusal 403 before the stream starts', async () => {
    await refused([`${base}/v1/sse?topic=a`, '-H', 'Cookie: banned=1'], 403, 'FORBIDDEN');
  });

  it('reads a request body that arrives in pieces', async () => {
    const body = JSON.stringify({ subscriptions: [{ topic: 'pieces' }] });
    const raw = rawRequest(t.wsPort, [
      `POST /v1/stream HTTP/1.1\r\nHost: x\r\nContent-Length: ${body.length}\r\n\r\n`,
      body.slice(0, 10),
      body.slice(10),
    ]);
    await waitUntil(() => t.node.hub.topicCount > 0, 'the subscription');
    await t.send({ topic: 'pieces' }, 'arrived');
    await waitUntil(() => raw.text().includes('"data":"arrived"'), 'the delivery');
    assert.match(raw.text(), /^HTTP\/1\.1 200 OK\r\n/);
    raw.socket.destroy();
  });
});

describe('SSE during drain', () => {
  it('closes open streams with event: close and code 1001', async () => {
    const t = await startNode();
    const c = new CurlStream([`http://127.0.0.1:${t.wsPort}/v1/sse?topic=d`]);
    try {
      await c.waitFor((x) => x.blocks.some((b) => b.id !== undefined), 'the start');
      const stopping = t.stop();
      await c.exited();
      assert.deepEqual(JSON.parse(c.events.at(-1)!.data!), { code: 1001, reason: 'server shutting down' });
      await stopping;
    } finally {
      c.kill();
    }
  });
});

describe('SSE and NDJSON CORS without --allowed-origins', () => {
  let t: TestNode;
  const curls: CurlStream[] = [];
  before(async () => {
    t = await startNode({});
  });
  afterEach(async () => {
    for (const c of curls.splice(0)) c.kill();
    await t.closeClients();
  });
  after(() => t.stop());

  it('lets any page read a stream, never with credentials: a cookie-based login cannot be ridden from another site', async () => {
    const base = `http://127.0.0.1:${t.wsPort}`;
    const sse = new CurlStream([`${base}/v1/sse?topic=a`, '-H', 'Origin: https://evil.example', '-H', 'Cookie: session=victim']);
    curls.push(sse);
    await sse.waitFor((x) => x.blocks.some((b) => b.id !== undefined), 'the start');
    assert.equal(sse.header('access-control-allow-origin'), '*');
    assert.equal(sse.header('access-control-allow-credentials'), undefined);
    const preflight = new CurlStream([`${base}/v1/stream`, '-X', 'OPTIONS', '-H', 'Origin: https://evil.example']);
    curls.push(preflight);
    await preflight.exited();
    assert.equal(preflight.status, 204);
    assert.equal(preflight.header('access-control-allow-origin'), '*');
    assert.equal(preflight.header('access-control-allow-credentials'), undefined);
  });
});
