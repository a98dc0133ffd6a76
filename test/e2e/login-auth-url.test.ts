/**
 * Login (op 3) through gpush's auth URL (`AuthUrlVerifier`) against a real
 * local HTTP server: accept, refuse, hang, garbage, down. Logins are
 * asynchronous: a slow auth service never stalls other connections (gpush
 * called it synchronously on the reader goroutine, and crashed on odd replies).
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import { AuthUrlVerifier } from '../../src/auth/auth-url-verifier.js';
import { replyJson, startAuthServer } from '../helpers/auth-server.js';
import { metricValue, startNode, waitUntil, type TestNode } from '../helpers/herald-node.js';

/** What the fake auth service does with a request, chosen by the token it carries. */
type Behaviour = (res: ServerResponse, token: unknown) => void;

interface AuthService {
  url: string;
  server: Server;
  /** Tokens received, in order. */
  tokens: unknown[];
  /** Requests received but not answered (the "hang" and "hold" behaviours), in arrival order. */
  held: { res: ServerResponse; token: string }[];
  close(): Promise<void>;
}

const json = replyJson;

/** Token → behaviour. */
const BEHAVIOURS: Record<string, Behaviour> = {
  ok: (res) => json(res, { code: 0, data: { user_info: { uid: 'u1' } } }),
  'ok-string-code': (res) => json(res, { code: '0', msg: 'ok', data: { user_info: { uid: 'u2' } } }),
  'ok-numeric-uid': (res) => json(res, { code: 0, data: { user_info: { uid: 12345 } } }),
  refuse: (res) => json(res, { code: 1 }),
  'refuse-with-msg': (res) => json(res, { code: 401, msg: 'token invalid' }),
  garbage: (res) => json(res, 'this is not json {'),
  'wrong-types': (res) => json(res, { code: 0, data: { user_info: 'not-an-object' } }),
  'uid-object': (res) => json(res, { code: 0, data: { user_info: { uid: { nested: true } } } }),
  'array-body': (res) => json(res, [0, 1]),
  'null-body': (res) => json(res, 'null'),
  'http-500': (res) => json(res, { code: 0, data: { user_info: { uid: 'u1' } } }, 500),
  'http-401': (res) => json(res, { code: 0, data: { user_info: { uid: 'u1' } } }, 401),
  reset: (res) => res.socket?.destroy(),
  // "hang" and "hold:<n>" are never answered by the service itself: they wait in `held`.
};

async function startAuthService(): Promise<AuthService> {
  const tokens: unknown[] = [];
  const held: { res: ServerResponse; token: string }[] = [];
  const service = await startAuthServer((_req, res, body) => {
    let token: unknown;
    try {
      token = (JSON.parse(body) as { token?: unknown }).token;
    } catch {
      token = undefined;
    }
    tokens.push(token);
    const key = typeof token === 'string' ? token.split(':')[0] : '';
    if (key === 'hang' || key === 'hold') {
      held.push({ res, token: token as string });
      return;
    }
    const behaviour = BEHAVIOURS[key];
    if (behaviour === undefined) return json(res, { code: 2, msg: 'unknown token' });
    behaviour(res, token);
  });
  return { url: service.url, server: service.server, tokens, held, close: () => service.close() };
}

describe('e2e: login through the auth URL', () => {
  let auth: AuthService;
  let h: TestNode;
  const uncaught: unknown[] = [];
  const onUncaught = (error: unknown) => uncaught.push(error);

  before(async () => {
    process.on('uncaughtException', onUncaught);
    process.on('unhandledRejection', onUncaught);
    auth = await startAuthService();
  });
  after(async () => {
    await auth.close();
    process.off('uncaughtException', onUncaught);
    process.off('unhandledRejection', onUncaught);
  });
  beforeEach(async () => {
    h = await startNode({ verifier: new AuthUrlVerifier({ url: auth.url, timeoutMs: 300 }) });
  });
  afterEach(async () => {
    await h.stop();
    // Answer whatever is still held so no request outlives its test.
    for (const { res } of auth.held.splice(0)) res.socket?.destroy();
    assert.deepEqual(uncaught, [], 'nothing may escape as an uncaught exception or unhandled rejection');
  });

  it('the service answers OK {"code":0,"data":{"user_info":{"uid":"u1"}}} → 20003 with uid u1; the token is POSTed as {"token":…}', async () => {
    const c = await h.connect();
    await c.login('ok', 'u1');
    assert.deepEqual(auth.tokens.at(-1), 'ok');
    await c.subscribePrivate('inbox');
    await h.send({ uid: 'u1', topic: 'inbox' }, 'for-u1');
    assert.deepEqual(await c.sync(), ['for-u1']);
    // Variants gpush accepted: code as the string "0", a numeric uid.
    await c.login('ok-string-code', 'u2');
    await c.login('ok-numeric-uid', '12345');
    await c.close();
  });

  it('the service refuses {"code":1} (or any non-zero code) → 30003', async () => {
    const c = await h.connect();
    await c.op(3, { data: 'refuse' }, 30003);
    await c.op(3, { data: 'refuse-with-msg' }, 30003);
    await c.op(3, { data: 'someone-unknown' }, 30003);
    await c.op(5, { topic: 'inbox' }, 30002);
    await c.close();
  });

  it('the service hangs → 30003 after the timeout, while another client keeps getting replies and pushes', async () => {
    const hung = await h.connect();
    const other = await h.connect();
    await other.subscribe('news');
    hung.send({ code: 3, data: 'hang' });
    await waitUntil(() => auth.held.length === 1, 'the auth service to receive the login');
    // The login is in flight; everyone else is served.
    await other.subscribe('sport');
    await h.send({ topic: 'news' }, 'during-hang');
    assert.deepEqual(await other.sync(), ['during-hang']);
    // The hung client's 30003 comes by itself once the verifier gives up.
    await hung.nextReply(30003);
    const metrics = await h.request('/metrics');
    assert.equal(metricValue(metrics.text, 'herald_auth_failures_total{reason="timeout"}'), 1);
    await hung.op(5, { topic: 'inbox' }, 30002);
    await hung.close();
    await other.close();
  });

  it('while one login is held by the auth service, other connections are served, and the waiting one gets pushes and pongs; its own commands wait for the login', async () => {
    // A long verifier timeout, so the login is certainly still pending until the test answers it.
    const slow = await startNode({ verifier: new AuthUrlVerifier({ url: auth.url, timeoutMs: 60_000 }) });
    try {
      const waiting = await slow.connect();
      const other = await slow.connect();
      await waiting.subscribe('news');
      await other.subscribe('sport');
      waiting.send({ code: 3, data: 'hold:1' });
      await waitUntil(() => auth.held.length === 1, 'the auth service to receive the login');
      // Replies and pushes interleave for the other connection while the login waits.
      for (let i = 0; i < 5; i++) {
        await other.op(1, { topic: `t${i}` }, 20001);
        await slow.send({ topic: 'news' }, `n${i}`);
      }
      for (let i = 0; i < 5; i++) await slow.send({ topic: 'sport' }, `s${i}`);
      assert.deepEqual(await other.sync(), ['s0', 's1', 's2', 's3', 's4']);
      // The waiting connection gets its pushes and its pongs; a command sent now is answered after the login.
      waiting.send({ code: 1, topic: 'meanwhile' });
      assert.deepEqual(await waiting.sync(), ['n0', 'n1', 'n2', 'n3', 'n4']);
      json(auth.held.shift()!.res, { code: 0, data: { user_info: { uid: 'held-user' } } });
      const login = await waiting.nextReply(20003);
      assert.deepEqual(login.detail, { uid: 'held-user' });
      await waiting.nextReply(20001);
      await waiting.subscribePrivate('inbox');
      await slow.send({ uid: 'held-user', topic: 'inbox' }, 'private');
      assert.deepEqual(await waiting.sync(), ['private']);
    } finally {
      await slow.stop();
    }
  });

  it('many logins held at once do not stall anyone; they complete in any order', async () => {
    const slow = await startNode({ verifier: new AuthUrlVerifier({ url: auth.url, timeoutMs: 60_000 }) });
    try {
      const clients = await Promise.all(Array.from({ length: 10 }, () => slow.connect()));
      clients.forEach((c, i) => c.send({ code: 3, data: `hold:${i}` }));
      await waitUntil(() => auth.held.length === 10, 'the auth service to receive every login');
      const other = await slow.connect();
      await other.subscribe('x');
      // Answer in reverse order; each client gets its own uid.
      for (const { res, token } of auth.held.splice(0).reverse()) {
        json(res, { code: 0, data: { user_info: { uid: `user-${token.split(':')[1]}` } } });
      }
      for (let i = 0; i < clients.length; i++) {
        const reply = await clients[i].nextReply(20003);
        assert.deepEqual(reply.detail, { uid: `user-${i}` });
      }
      assert.equal(slow.node.hub.userCount, 10);
      for (const c of clients) await c.close();
      await other.close();
    } finally {
      await slow.stop();
    }
  });

  it('ops sent right behind a login, before its reply, are answered after it, in order (gpush logged in synchronously)', async () => {
    const slow = await startNode({ verifier: new AuthUrlVerifier({ url: auth.url, timeoutMs: 60_000 }) });
    try {
      const c = await slow.connect();
      // A gpush client may pipeline: login, then subscribe privately, without waiting for 20003.
      c.send({ code: 3, data: 'hold:pipelined' });
      c.send({ code: 5, topic: 'inbox' });
      c.send({ code: 1, topic: 'news' });
      await waitUntil(() => auth.held.length === 1, 'the auth service to receive the login');
      json(auth.held.shift()!.res, { code: 0, data: { user_info: { uid: 'piper' } } });
      const codes = [(await c.nextReply()).code, (await c.nextReply()).code, (await c.nextReply()).code];
      assert.deepEqual(codes, [20003, 20001, 20001], 'replies in request order, and op 5 sees the login');
      await slow.send({ uid: 'piper', topic: 'inbox' }, 'private');
      assert.deepEqual(await c.sync(), ['private']);
      await c.close();
    } finally {
      await slow.stop();
    }
  });

  it('two logins in a row each get exactly one reply, in request order; the last one wins', async () => {
    const slow = await startNode({ verifier: new AuthUrlVerifier({ url: auth.url, timeoutMs: 60_000 }) });
    try {
      const c = await slow.connect();
      c.send({ code: 3, data: 'hold:first' });
      c.send({ code: 3, data: 'hold:second' });
      // Whether the second login reaches the service before the first is answered or only after, each gets its reply.
      await waitUntil(() => auth.held.length >= 1, 'the auth service to receive the first login');
      const a = auth.held.shift()!;
      assert.equal(a.token, 'hold:first');
      json(a.res, { code: 0, data: { user_info: { uid: 'first' } } });
      const first = await c.nextReply(20003);
      await waitUntil(() => auth.held.length >= 1, 'the auth service to receive the second login');
      const b = auth.held.shift()!;
      assert.equal(b.token, 'hold:second');
      json(b.res, { code: 0, data: { user_info: { uid: 'second' } } });
      const second = await c.nextReply(20003);
      assert.deepEqual([first.detail, second.detail], [{ uid: 'first' }, { uid: 'second' }]);
      await c.subscribePrivate('inbox');
      await slow.send({ uid: 'second', topic: 'inbox' }, 'to-second');
      await slow.send({ uid: 'first', topic: 'inbox' }, 'to-first');
      assert.deepEqual(await c.sync(), ['to-second']);
      await c.close();
    } finally {
      await slow.stop();
    }
  });

  it('a garbage or ill-typed body from the service → 30003, and the process does not crash', async () => {
    const c = await h.connect();
    for (const token of ['garbage', 'wrong-types', 'uid-object', 'array-body', 'null-body', 'http-500', 'http-401', 'reset']) {
      await c.op(3, { data: token }, 30003);
    }
    await c.subscribe('alive');
    await h.send({ topic: 'alive' }, 'still-alive');
    assert.deepEqual(await c.sync(), ['still-alive']);
    await c.close();
  });

  it('a non-string credential is passed to the service as JSON (gpush behaviour) and its refusal → 30003', async () => {
    const c = await h.connect();
    await c.op(3, { data: { nested: ['x'] } }, 30003);
    await c.op(3, { data: 7 }, 30003);
    await c.op(3, {}, 30003);
    assert.deepEqual(auth.tokens.slice(-3), [{ nested: ['x'] }, 7, null]);
    await c.close();
  });

  it('the client disconnects while its login is in flight: the late answer is ignored, no crash, no leak', async () => {
    const verifier = new AuthUrlVerifier({ url: auth.url, timeoutMs: 60_000 });
    const slow = await startNode({ verifier });
    try {
      const c = await slow.connect();
      c.send({ code: 3, data: 'hold:2' });
      await waitUntil(() => auth.held.length === 1, 'the auth service to receive the login');
      c.terminate();
      await waitUntil(() => slow.node.hub.clientCount === 0, 'the hub to drop the client');
      json(auth.held.shift()!.res, { code: 0, data: { user_info: { uid: 'ghost' } } });
      const other = await slow.connect();
      // The auth server has written its answer; wait until the verifier has read it.
      await waitUntil(() => verifier.inFlight === 0, 'the verifier to finish');
      await other.subscribe('x');
      assert.equal(slow.node.hub.userCount, 0);
      assert.equal(slow.node.hub.clientCount, 1);
      await other.close();
    } finally {
      await slow.stop();
    }
  });

  it('stopping the node aborts a login still in flight', async () => {
    const slow = await startNode({ verifier: new AuthUrlVerifier({ url: auth.url, timeoutMs: 60_000 }) });
    const c = await slow.connect();
    c.send({ code: 3, data: 'hold:3' });
    await waitUntil(() => auth.held.length === 1, 'the auth service to receive the login');
    await slow.node.stop(); // not slow.stop(), which would terminate the client first
    assert.equal((await c.closed()).code, 1001);
  });
});

describe('e2e: login through an auth URL that is down', () => {
  it('the auth service is down (closed port) → 30003, the process keeps serving', async () => {
    // Bind a port, then close it: nothing listens there any more.
    const probe = createServer();
    probe.listen(0, '127.0.0.1');
    await once(probe, 'listening');
    const { port } = probe.address() as AddressInfo;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    const h = await startNode({ verifier: new AuthUrlVerifier({ url: `http://127.0.0.1:${port}/validate`, timeoutMs: 300 }) });
    try {
      const c = await h.connect();
      await c.op(3, { data: 'ok' }, 30003);
      await c.op(3, { data: 'ok' }, 30003);
      await c.subscribe('alive');
      await h.send({ topic: 'alive' }, 'still-alive');
      assert.deepEqual(await c.sync(), ['still-alive']);
      const metrics = await h.request('/metrics');
      assert.equal(metricValue(metrics.text, 'herald_auth_failures_total{reason="unavailable"}'), 2);
      await c.close();
    } finally {
      await h.stop();
    }
  });
});
