/**
 * Login (op 3) with a JWT verified locally (`JwtVerifier`, HS256 secret), end
 * to end: replies, private delivery, and the session ending at the token's
 * `exp` (unprompted 30006).
 */
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import { CompactSign, SignJWT, base64url, type JWTPayload } from 'jose';
import WebSocket from 'ws';
import { JwtVerifier } from '../../src/auth/jwt-verifier.js';
import type { LoginIdentity, LoginVerifier } from '../../src/auth/login-verifier.js';
import { TestClient, metricValue, startNode, waitUntil, type TestNode } from '../helpers/herald-node.js';
import { HeraldProcess } from '../helpers/herald-process.js';

const SECRET = 'e2e-shared-secret-of-at-least-32-bytes!';
const nowSec = (): number => Math.floor(Date.now() / 1000);

function hs256(payload: JWTPayload, secret = SECRET): Promise<string> {
  return new SignJWT(payload).setProtectedHeader({ alg: 'HS256' }).sign(new TextEncoder().encode(secret));
}

describe('e2e: login with a JWT', () => {
  let h: TestNode;
  before(async () => {
    h = await startNode({ verifier: new JwtVerifier({ secret: SECRET }) });
  });
  afterEach(async () => {
    await h.closeClients();
  });
  after(async () => {
    await h.stop();
  });

  it('a valid token → 20003 with detail.uid = sub, and a private push reaches the connection', async () => {
    const c = await h.connect();
    const other = await h.connect();
    await c.login(await hs256({ sub: 'alice', exp: nowSec() + 3600 }), 'alice');
    await c.subscribePrivate('inbox');
    await h.send({ uid: 'alice', topic: 'inbox' }, 'hello alice');
    assert.deepEqual(await c.sync(), ['hello alice']);
    assert.deepEqual(await other.sync(), []);
    await c.close();
    await other.close();
  });

  it('op 5 sent right behind op 3, before 20003 arrived, is answered after the login and succeeds (gpush order)', async () => {
    const c = await h.connect();
    c.send({ code: 3, data: await hs256({ sub: 'eager', exp: nowSec() + 3600 }) });
    c.send({ code: 5, topic: 'inbox' });
    const replies = [await c.nextReply(), await c.nextReply()];
    assert.deepEqual(
      replies.map((r) => r.code),
      [20003, 20001],
    );
    await h.send({ uid: 'eager', topic: 'inbox' }, 'eager-private');
    assert.deepEqual(await c.sync(), ['eager-private']);
    await c.close();
  });

  it('a valid token without exp → 20003 (the session does not expire)', async () => {
    const c = await h.connect();
    await c.login(await hs256({ sub: 'noexp' }), 'noexp');
    await c.close();
  });

  it('a token with a wrong signature → 30003, and private ops still need a login', async () => {
    const c = await h.connect();
    await c.op(3, { data: await hs256({ sub: 'mallory', exp: nowSec() + 3600 }, 'another-secret-of-at-least-32-bytes!!') }, 30003);
    // A tampered payload on a genuine signature.
    const genuine = await hs256({ sub: 'alice', exp: nowSec() + 3600 });
    const [head, , sig] = genuine.split('.');
    const forged = `${head}.${base64url.encode(JSON.stringify({ sub: 'mallory', exp: nowSec() + 3600 }))}.${sig}`;
    await c.op(3, { data: forged }, 30003);
    // alg "none" is never accepted.
    const none = `${base64url.encode('{"alg":"none","typ":"JWT"}')}.${base64url.encode(JSON.stringify({ sub: 'mallory' }))}.`;
    await c.op(3, { data: none }, 30003);
    await c.op(5, { topic: 'inbox' }, 30002);
    assert.equal(h.node.hub.userCount, 0);
    await c.close();
  });

  it('a token already expired → 30003 (past the clock tolerance, and within it)', async () => {
    const c = await h.connect();
    const before = await h.request('/metrics');
    const expiredBefore = metricValue(before.text, 'herald_auth_failures_total{reason="expired"}') ?? 0;
    await c.op(3, { data: await hs256({ sub: 'late', exp: nowSec() - 60 }) }, 30003);
    // Within the verifier's 5 s tolerance jose accepts it, but the session must still refuse it.
    await c.op(3, { data: await hs256({ sub: 'late', exp: nowSec() - 1 }) }, 30003);
    await c.op(5, { topic: 'inbox' }, 30002);
    assert.equal(h.node.hub.userCount, 0);
    const after = await h.request('/metrics');
    assert.equal(metricValue(after.text, 'herald_auth_failures_total{reason="expired"}'), expiredBefore + 2);
    await c.close();
  });

  it('a token expiring ~1.5 s after login → unprompted {"code":30006}; private delivery stops, public continues', async () => {
    const c = await h.connect();
    // exp is in whole seconds: between 1.5 and 2.5 s from now.
    await c.login(await hs256({ sub: 'brief', exp: Math.ceil(Date.now() / 1000 + 1.5) }), 'brief');
    await c.subscribePrivate('inbox');
    await c.subscribe('news');
    await h.send({ uid: 'brief', topic: 'inbox' }, 'private-before');
    assert.deepEqual(await c.sync(), ['private-before']);
    // Nothing is sent by the client from here on: the 30006 comes by itself.
    const expired = await c.nextReply(30006);
    assert.equal(typeof expired.message, 'string');
    assert.equal(c.unread.length, 0);
    assert.equal(h.node.hub.userCount, 0);
    await h.send({ uid: 'brief', topic: 'inbox' }, 'private-after');
    await h.send({ uid: 'brief' }, 'user-after');
    await h.send({ topic: 'news' }, 'public-after');
    assert.deepEqual(await c.sync(), ['public-after']);
    await c.op(5, { topic: 'inbox' }, 30002);
    await c.op(4, {}, 30002);
    // A fresh login works again.
    await c.login(await hs256({ sub: 'brief', exp: nowSec() + 3600 }), 'brief');
    await c.subscribePrivate('inbox');
    await h.send({ uid: 'brief', topic: 'inbox' }, 'private-again');
    assert.deepEqual(await c.sync(), ['private-again']);
    await c.close();
  });

  it('a later login with a long-lived token replaces a short one: no 30006 at the old expiry', async () => {
    const c = await h.connect();
    const shortExp = Math.ceil(Date.now() / 1000 + 1.5);
    await c.login(await hs256({ sub: 'renew', exp: shortExp }), 'renew');
    await c.login(await hs256({ sub: 'renew', exp: nowSec() + 3600 }), 'renew');
    await c.subscribePrivate('inbox');
    // Wait (by the wall clock, not asserting any duration) until well past the old expiry plus the wheel's resolution.
    while (Date.now() < shortExp * 1000 + 2500) await new Promise((resolve) => setTimeout(resolve, 100));
    await h.send({ uid: 'renew', topic: 'inbox' }, 'still-private');
    assert.deepEqual(await c.sync(), ['still-private']);
    await c.close();
  });

  it('a non-string credential (number, object, null, array, missing) → 30003', async () => {
    const c = await h.connect();
    const token = await hs256({ sub: 'alice', exp: nowSec() + 3600 });
    for (const data of [12345, { token }, null, [token], true, '']) {
      await c.op(3, { data }, 30003);
    }
    await c.op(3, {}, 30003);
    await c.close();
  });

  it('a token without a usable sub → 30003', async () => {
    const c = await h.connect();
    await c.op(3, { data: await hs256({ exp: nowSec() + 3600 }) }, 30003);
    await c.op(3, { data: await hs256({ sub: '', exp: nowSec() + 3600 }) }, 30003);
    await c.close();
  });

  it('a failed login after a successful one keeps the earlier login', async () => {
    const c = await h.connect();
    await c.login(await hs256({ sub: 'keep', exp: nowSec() + 3600 }), 'keep');
    await c.subscribePrivate('inbox');
    await c.op(3, { data: 'garbage' }, 30003);
    await h.send({ uid: 'keep', topic: 'inbox' }, 'still-mine');
    assert.deepEqual(await c.sync(), ['still-mine']);
    await c.close();
  });
});

describe('e2e: login without a verifier', () => {
  it('login without a verifier configured → 30003 (and herald_auth_failures_total{reason="not_configured"} counts it)', async () => {
    const h = await startNode();
    try {
      const c = await h.connect();
      await c.op(3, { data: await hs256({ sub: 'alice', exp: nowSec() + 3600 }) }, 30003);
      await c.op(5, { topic: 'inbox' }, 30002);
      const metrics = await h.request('/metrics');
      assert.equal(metricValue(metrics.text, 'herald_auth_failures_total{reason="not_configured"}'), 1);
      await c.close();
    } finally {
      await h.stop();
    }
  });
});

/** A verifier the test answers by hand: every verify() call waits in `pending` until resolved. */
function manualVerifier(): { verifier: LoginVerifier; pending: { credential: unknown; resolve(identity: LoginIdentity): void }[] } {
  const pending: { credential: unknown; resolve(identity: LoginIdentity): void }[] = [];
  return {
    pending,
    verifier: {
      verify: (credential) => new Promise<LoginIdentity>((resolve) => pending.push({ credential, resolve })),
    },
  };
}

describe('e2e: commands during a pending login', () => {
  it('the session expiring while a second login is being verified: that login still gets its reply and later commands are served', async () => {
    const { verifier, pending } = manualVerifier();
    const h = await startNode({ verifier });
    try {
      const c = await h.connect();
      c.send({ code: 3, data: 'first' });
      await waitUntil(() => pending.length === 1, 'the first verification');
      pending.shift()!.resolve({ uid: 'alice', expiresAt: Date.now() + 1500 });
      await c.nextReply(20003);
      // A second login is sent and left pending past the first one's expiry.
      c.send({ code: 3, data: 'second' });
      await waitUntil(() => pending.length === 1, 'the second verification');
      await c.nextReply(30006); // the first login expires meanwhile
      pending.shift()!.resolve({ uid: 'bob' });
      const reply = await c.nextReply(20003);
      assert.deepEqual(reply.detail, { uid: 'bob' });
      await c.subscribePrivate('inbox');
      await h.send({ uid: 'bob', topic: 'inbox' }, 'for-bob');
      assert.deepEqual(await c.sync(), ['for-bob']);
    } finally {
      await h.stop();
    }
  });

  it('every command sent behind a pending login gets one reply, in request order — even past the deferral bound', async () => {
    const { verifier, pending } = manualVerifier();
    const h = await startNode({ verifier });
    try {
      const c = await h.connect();
      c.send({ code: 3, data: 'slow' });
      for (let i = 0; i < 40; i++) c.send({ code: 1, topic: `t${i}` });
      await waitUntil(() => pending.length === 1, 'the verification');
      // Nothing may be answered ahead of the login's own reply.
      assert.deepEqual(await c.sync(), [], 'replies overtook the pending login');
      pending.shift()!.resolve({ uid: 'u' });
      const codes: number[] = [];
      for (let i = 0; i < 41 && c.closeEvent === undefined; i++) codes.push((await c.nextReply()).code);
      assert.equal(codes[0], 20003);
      // The gateway may refuse commands beyond its bound (30001), but only in their place in the sequence.
      const firstRefused = codes.indexOf(30001);
      if (firstRefused !== -1) assert.ok(codes.slice(firstRefused).every((code) => code === 30001), codes.join(','));
      assert.ok(codes.slice(1, firstRefused === -1 ? undefined : firstRefused).every((code) => code === 20001), codes.join(','));
    } finally {
      await h.stop();
    }
  });
});

describe('e2e: absurd expiry times never crash the gateway', () => {
  it('a correctly signed token with exp 1e308, Number.MAX_VALUE or 1e309 logs in without an expiry; other clients are served', async () => {
    const h = await startNode({ verifier: new JwtVerifier({ secret: SECRET }) });
    try {
      const c = await h.connect();
      await c.login(await hs256({ sub: 'forever', exp: 1e308 }), 'forever');
      await c.login(await hs256({ sub: 'forever', exp: Number.MAX_VALUE }), 'forever');
      // JSON.parse reads 1e309 as Infinity: sign the payload text as written.
      const infinite = await new CompactSign(new TextEncoder().encode('{"sub":"forever","exp":1e309}'))
        .setProtectedHeader({ alg: 'HS256' })
        .sign(new TextEncoder().encode(SECRET));
      await c.login(infinite, 'forever');
      await c.subscribePrivate('inbox');
      const other = await h.connect();
      await other.subscribe('news');
      await h.send({ uid: 'forever', topic: 'inbox' }, 'still-here');
      await h.send({ topic: 'news' }, 'news-1');
      assert.deepEqual(await c.sync(), ['still-here']);
      assert.deepEqual(await other.sync(), ['news-1']);
      assert.equal(c.closeEvent, undefined);
    } finally {
      await h.stop();
    }
  });

  it('a verifier answering expiresAt Infinity → 20003 without expiry, NaN → 30003; the connection stays usable', async () => {
    const { verifier, pending } = manualVerifier();
    const h = await startNode({ verifier });
    try {
      const c = await h.connect();
      c.send({ code: 3, data: 'inf' });
      await waitUntil(() => pending.length === 1, 'the verification');
      pending.shift()!.resolve({ uid: 'inf', expiresAt: Infinity });
      assert.deepEqual((await c.nextReply(20003)).detail, { uid: 'inf' });
      c.send({ code: 3, data: 'nan' });
      await waitUntil(() => pending.length === 1, 'the second verification');
      pending.shift()!.resolve({ uid: 'nan', expiresAt: NaN });
      assert.equal((await c.nextReply(30003)).detail, 'invalid');
      // The earlier login holds.
      await c.subscribePrivate('inbox');
      await h.send({ uid: 'inf', topic: 'inbox' }, 'for-inf');
      assert.deepEqual(await c.sync(), ['for-inf']);
    } finally {
      await h.stop();
    }
  });
});

describe('e2e: a bug in a login\'s completion', () => {
  it('closes only that connection with 1011 (no unhandled rejection); the others are served', async () => {
    const { verifier, pending } = manualVerifier();
    const h = await startNode({ verifier });
    try {
      const other = await h.connect();
      await other.subscribe('news');
      const c = await h.connect();
      c.send({ code: 3, data: 'buggy' });
      await waitUntil(() => pending.length === 1, 'the verification');
      // An identity whose uid cannot be read: the success handler throws inside the promise chain.
      pending.shift()!.resolve({
        get uid(): string {
          throw new Error('identity bug');
        },
      } as LoginIdentity);
      assert.equal((await c.closed()).code, 1011);
      await h.send({ topic: 'news' }, 'news-after');
      assert.deepEqual(await other.sync(), ['news-after']);
    } finally {
      await h.stop();
    }
  });
});

describe('e2e: a hostile exp against the real process', { timeout: 60_000 }, () => {
  for (const workers of [1, 2]) {
    it(`${workers === 1 ? 'one process' : '--workers 2'}: a login with exp 1e308 gets 20003, and the process goes on serving new clients`, async () => {
      const herald = await HeraldProcess.start({
        name: `jwt-exp-${workers}`,
        args: ['--jwt-secret', SECRET, ...(workers > 1 ? ['--workers', String(workers)] : [])],
      });
      const clients: TestClient[] = [];
      const connect = async (): Promise<TestClient> => {
        const client = new TestClient(new WebSocket(herald.wsUrl));
        clients.push(client);
        await new Promise((resolve, reject) => {
          client.ws.once('open', resolve);
          client.ws.once('error', reject);
        });
        await client.nextReply(20000);
        return client;
      };
      try {
        // Under --workers the kernel picks the worker: several logins make it very likely every worker sees one.
        for (let i = 0; i < 2 * workers; i++) {
          const c = await connect();
          await c.login(await hs256({ sub: `forever${i}`, exp: 1e308 }), `forever${i}`);
          await c.login(await hs256({ sub: `forever${i}`, exp: Number.MAX_VALUE }), `forever${i}`);
        }
        const late = await connect();
        await late.subscribe('news');
        assert.equal((await herald.pushData({ topic: 'news' }, 'after')).status, 200);
        await waitUntil(() => late.unread.some((m) => m.data.toString() === 'after'), 'the push to the late client');
        assert.ok(herald.alive, `the process exited\n${herald.stderr}`);
        assert.ok(clients.every((c) => c.closeEvent === undefined), 'a client was dropped');
        assert.doesNotMatch(herald.stdout, /unhandled promise rejection/);
      } finally {
        for (const c of clients) c.terminate();
        await herald.stop();
      }
    });
  }
});
