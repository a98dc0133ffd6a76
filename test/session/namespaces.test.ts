/**
 * Namespaces enforced by a real HeraldNode (memory engine), on both client
 * protocols: subscribe rules (anyone, login, token, proxy), subscription
 * tokens as real HS256 JWTs signed here with jose, expiry while subscribed
 * (30009), maxSubscribers, the joinLeave/presence/publish flags, per-namespace
 * history, and connect admission with an in-test ConnectProxy.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { SignJWT } from 'jose';
import { JwtVerifier } from '../../src/auth/jwt-verifier.js';
import { HERALD_V1 } from '../../src/node.js';
import type { ConnectCheck, ConnectProxy, SubscribeCheck, SubscribeProxy } from '../../src/session/proxy-hooks.js';
import { metricValue, startNode, type TestClient, type TestNode } from '../helpers/herald-node.js';

const SECRET = 'a-development-secret-of-32-bytes!';
const KEY = new TextEncoder().encode(SECRET);

/** A JWT signed with `secret` (default: the node's), `exp` in seconds from now unless given absolutely. */
async function token(claims: Record<string, unknown>, sub: string, expInSeconds: number, secret = KEY): Promise<string> {
  return new SignJWT(claims)
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(sub)
    .setExpirationTime(Math.floor(Date.now() / 1000) + expInSeconds)
    .sign(secret);
}

async function login(c: TestClient, uid: string): Promise<void> {
  await c.login(await token({}, uid, 3600), uid);
}

/** Send a command with any fields and return its reply (in order). */
async function command(c: TestClient, body: Record<string, unknown>, expect?: number): Promise<Record<string, unknown>> {
  c.send(body);
  return (await c.nextReply(expect)) as unknown as Record<string, unknown>;
}

const NAMESPACES = [
  { topics: 'login:*', subscribe: 'login' },
  { topics: 'tok:*', subscribe: 'token' },
  { topics: 'proxy:*', subscribe: 'proxy' },
  { topics: 'full:*', maxSubscribers: 2 },
  { topics: 'quiet:*', joinLeave: false, presence: false },
  { topics: 'chat:*', subscribe: 'login', publish: true },
  { topics: 'open:*', publish: true },
  { topics: 'hist:*', historySize: 2 },
];

const PROTOCOLS = [
  { name: 'gpush', protocol: undefined },
  { name: 'herald.v1', protocol: HERALD_V1 },
] as const;

describe('namespaces: subscribe rules and flags on a real node', () => {
  let h: TestNode;
  const proxyCalls: SubscribeCheck[] = [];
  const subscribeProxy: SubscribeProxy = {
    async check(request) {
      proxyCalls.push(request);
      if (request.topic === 'proxy:deny') return { allowed: false, reason: 'refused by the backend: nope' };
      if (request.topic === 'proxy:brief') return { allowed: true, expiresAt: Date.now() + 1500 };
      return { allowed: true };
    },
  };

  before(async () => {
    h = await startNode({
      verifier: new JwtVerifier({ secret: SECRET }),
      namespaces: NAMESPACES,
      subscribeProxy,
      presence: true,
      clientPresence: true,
      joinLeave: true,
      historySize: 20,
    });
  });
  after(() => h.stop());

  for (const { name, protocol } of PROTOCOLS) {
    describe(`over ${name}`, () => {
      const open = (): Promise<TestClient> => h.connect({ protocol });

      it('anyone: a topic of no namespace and an open namespace subscribe as before', async () => {
        const c = await open();
        await command(c, { code: 1, topic: 'plain' }, 20001);
        await command(c, { code: 1, topic: 'open:1' }, 20001);
        await c.close();
      });

      it('login: refused without a login (30002), allowed after it', async () => {
        const c = await open();
        const refused = await command(c, { code: 1, topic: 'login:a' }, 30002);
        assert.equal(refused.detail, 'login required for this namespace');
        await login(c, 'alice');
        await command(c, { code: 1, topic: 'login:a' }, 20001);
        await c.close();
      });

      it('token: allowed with a valid token, refused with a reason otherwise (30003)', async () => {
        const c = await open();
        const reason = async (body: Record<string, unknown>): Promise<unknown> => (await command(c, { code: 1, ...body }, 30003)).detail;
        assert.equal(await reason({ topic: 'tok:1' }), 'subscription token missing');
        assert.equal(await reason({ topic: 'tok:1', token: await token({ channel: 'tok:1' }, '', -60) }), 'subscription token expired');
        assert.equal(await reason({ topic: 'tok:1', token: await token({ channel: 'tok:2' }, '', 60) }), 'subscription token is for another channel');
        assert.equal(await reason({ topic: 'tok:1', token: await token({ channel: 'tok:1' }, 'bob', 60) }), 'subscription token is for another user');
        const forged = await token({ channel: 'tok:1' }, '', 60, new TextEncoder().encode('another-secret-of-at-least-32-bytes'));
        assert.equal(await reason({ topic: 'tok:1', token: forged }), 'subscription token invalid');
        assert.equal(await reason({ topic: 'tok:1', token: 'not.a.jwt' }), 'subscription token invalid');
        assert.equal(await reason({ topic: 'tok:1', token: await token({}, '', 60) }), 'subscription token invalid', 'no channel claim');
        const ok = await token({ channel: 'tok:1' }, '', 60);
        const reply = await command(c, { code: 1, topic: 'tok:1', token: ok }, 20001);
        if (protocol === undefined) assert.equal(reply.expiresAt, undefined, 'gpush replies are unchanged');
        else assert.equal(typeof reply.expiresAt, 'number');
        // channel_glob covers a family of topics; a logged-in user's token names that user.
        await login(c, 'alice');
        const glob = await token({ channel_glob: 'tok:room-?' }, 'alice', 60);
        await command(c, { code: 1, topic: 'tok:room-7', token: glob }, 20001);
        await command(c, { code: 5, topic: 'tok:room-8', token: glob }, 20001);
        assert.equal(await reason({ topic: 'tok:room-10', token: glob }), 'subscription token is for another channel');
        assert.equal(await reason({ topic: 'tok:1', token: ok }), 'subscription token is for another user', 'sub "" is for anonymous connections only');
        await c.close();
      });

      it('token: the subscription ends with an unprompted 30009 when the token expires, and no message follows', async () => {
        const c = await open();
        const exp = Math.floor(Date.now() / 1000) + 2;
        const short = await new SignJWT({ channel: 'tok:brief' }).setProtectedHeader({ alg: 'HS256' }).setSubject('').setExpirationTime(exp).sign(KEY);
        const reply = await command(c, { code: 1, topic: 'tok:brief', token: short }, 20001);
        if (protocol !== undefined) assert.equal(reply.expiresAt, exp * 1000);
        // A private subscription by token ends the same way, with "private": true.
        const p = await open();
        await login(p, 'pat');
        const mine = await new SignJWT({ channel: 'tok:brief' }).setProtectedHeader({ alg: 'HS256' }).setSubject('pat').setExpirationTime(exp).sign(KEY);
        await command(p, { code: 5, topic: 'tok:brief', token: mine }, 20001);
        await h.send({ topic: 'tok:brief' }, 'before');
        const before = await c.nextText();
        assert.ok(before.includes('before'), before);
        const expired = await c.nextText(10_000);
        assert.equal(expired, '{"code":30009,"message":"subscription expired","topic":"tok:brief","private":false}');
        assert.equal(await p.nextText(10_000), '{"code":30009,"message":"subscription expired","topic":"tok:brief","private":true}');
        await h.send({ topic: 'tok:brief' }, 'after');
        await h.send({ uid: 'pat', topic: 'tok:brief' }, 'after');
        assert.deepEqual(await c.sync(), [], 'nothing after the expiry');
        assert.deepEqual(await p.sync(), []);
        await Promise.all([c.close(), p.close()]);
      });

      it('maxSubscribers: the node refuses past the limit (30005 namespace full) and admits again after a leave', async () => {
        const topic = `full:${name}`;
        const [a, b, c] = [await open(), await open(), await open()];
        await command(a, { code: 1, topic }, 20001);
        // A private subscription counts too; a connection subscribed both ways counts once.
        await login(b, 'bob');
        await command(b, { code: 5, topic }, 20001);
        await command(b, { code: 1, topic }, 20001);
        assert.equal(h.node.control.memberCount(topic), 2);
        const refused = await command(c, { code: 1, topic }, 30005);
        assert.equal(refused.detail, 'namespace full');
        const metrics = await h.request('/metrics');
        assert.ok((metricValue(metrics.text, 'herald_subscriptions_refused_total{reason="namespace_full"}') ?? 0) >= 1);
        await command(a, { code: 1, topic }, 20001); // already subscribed: no new subscriber
        await command(b, { code: 2, topic }, 20002);
        await command(c, { code: 1, topic }, 30005); // b still holds its private one
        await command(b, { code: 6, topic }, 20002);
        await command(c, { code: 1, topic }, 20001);
        await Promise.all([a.close(), b.close(), c.close()]);
      });

      it('proxy: the backend allows, refuses with its reason (30008), or allows until a time (30009)', async () => {
        const c = await open();
        proxyCalls.length = 0;
        await command(c, { code: 1, topic: 'proxy:ok' }, 20001);
        assert.deepEqual(
          { ...proxyCalls[0], client: typeof proxyCalls[0].client },
          { client: 'string', uid: null, topic: 'proxy:ok', private: false, protocol: protocol === undefined ? 'gpush' : 'herald.v1' },
        );
        const refused = await command(c, { code: 1, topic: 'proxy:deny' }, 30008);
        assert.equal(refused.detail, 'refused by the backend: nope');
        const brief = await command(c, { code: 1, topic: 'proxy:brief' }, 20001);
        if (protocol !== undefined) assert.equal(typeof brief.expiresAt, 'number');
        assert.equal(await c.nextText(10_000), '{"code":30009,"message":"subscription expired","topic":"proxy:brief","private":false}');
        await c.close();
      });

      it('a burst of token subscribes (a reconnect re-subscribing everything) is answered in full, in order', async () => {
        const c = await open();
        const glob = await token({ channel_glob: 'tok:burst-*' }, '', 60);
        const count = 300;
        // Sent in one go: they arrive while the first token is being verified.
        for (let i = 0; i < count; i++) {
          c.send({ code: 1, topic: `tok:burst-${i}`, token: glob });
        }
        for (let i = 0; i < count; i++) await c.nextReply(20001);
        assert.equal(h.node.control.memberCount('tok:burst-299'), 1);
        await c.close();
      });

      it('commands sent behind an asynchronous subscribe are answered after it, in order', async () => {
        const c = await open();
        c.send({ code: 1, topic: 'tok:order', token: await token({ channel: 'tok:order' }, '', 60) });
        c.send({ code: 1, topic: 'proxy:deny' });
        c.send({ code: 1, topic: 'plain-after' });
        assert.equal((await c.nextReply()).code, 20001);
        assert.equal((await c.nextReply()).code, 30008);
        assert.equal((await c.nextReply()).code, 20001);
        await c.close();
      });
    });
  }

  it('joinLeave false: a herald.v1 subscribe asking for join/leave gets 30008; gpush ignores the field', async () => {
    const v1 = await h.connect({ protocol: HERALD_V1 });
    const refused = await command(v1, { code: 1, topic: 'quiet:1', joinLeave: true }, 30008);
    assert.equal(refused.detail, 'join/leave not allowed in this namespace');
    await command(v1, { code: 1, topic: 'quiet:1' }, 20001);
    await command(v1, { code: 1, topic: 'open:jl', joinLeave: true }, 20001);
    const gpush = await h.connect();
    await command(gpush, { code: 1, topic: 'quiet:1', joinLeave: true }, 20001);
    await Promise.all([v1.close(), gpush.close()]);
  });

  it('presence false: ops 7/8 get 30008, the server API 409; other topics answer', async () => {
    const c = await h.connect({ protocol: HERALD_V1 });
    await command(c, { code: 1, topic: 'quiet:p' }, 20001);
    await command(c, { code: 1, topic: 'open:p' }, 20001);
    const refused = await command(c, { code: 7, topic: 'quiet:p' }, 30008);
    assert.equal(refused.detail, 'presence not allowed in this namespace');
    assert.equal((await command(c, { code: 8, topic: 'quiet:p' }, 30008)).detail, 'presence not allowed in this namespace');
    await command(c, { code: 8, topic: 'open:p' }, 20008);
    const api = await h.request('/v1/presence?topic=quiet:p');
    assert.equal(api.status, 409);
    assert.equal(api.json.error.code, 'PRESENCE_NOT_ALLOWED');
    assert.equal((await h.request('/v1/presence-stats?topic=quiet:p')).status, 409);
    assert.equal((await h.request('/v1/presence-stats?topic=open:p')).status, 200);
    await c.close();
  });

  it('publish (op 9, herald.v1): allowed where the namespace says so, pushed like an HTTP push of the JSON', async () => {
    const reader = await h.connect({ protocol: HERALD_V1 });
    await command(reader, { code: 1, topic: 'open:pub' }, 20001);
    const writer = await h.connect({ protocol: HERALD_V1 });
    // An open namespace lets anyone publish; the reply carries the id.
    const done = await command(writer, { code: 9, id: 'p1', topic: 'open:pub', data: { text: 'hi', n: 1 } }, 20009);
    assert.equal(done.id, 'p1');
    const delivery = JSON.parse(await reader.nextText()) as Record<string, unknown>;
    assert.equal(delivery.topic, 'open:pub');
    assert.equal(delivery.data, '{"text":"hi","n":1}');
    assert.equal(delivery.seq, 1);
    // Refusals: a topic of no namespace, a namespace without publish, a login namespace not subscribed to.
    assert.equal((await command(writer, { code: 9, topic: 'plain', data: 1 }, 30008)).detail, 'publish not allowed');
    assert.equal((await command(writer, { code: 9, topic: 'quiet:1', data: 1 }, 30008)).detail, 'publish not allowed');
    await login(writer, 'alice');
    assert.match(String((await command(writer, { code: 9, topic: 'chat:1', data: 1 }, 30008)).detail), /subscribe to the topic first/);
    await command(writer, { code: 1, topic: 'chat:1' }, 20001);
    writer.send({ code: 9, topic: 'chat:1', data: 'hello' });
    // The memory engine delivers before the publish resolves: its own subscription's copy comes first.
    assert.equal(JSON.parse(await writer.nextText()).data, '"hello"', 'its own subscription receives it');
    await writer.nextReply(20009);
    await command(writer, { code: 9, topic: 'open:pub' }, 30001);
    // gpush has no op 9.
    const gpush = await h.connect();
    await command(gpush, { code: 9, topic: 'open:pub', data: 1 }, 30001);
    assert.deepEqual(await reader.sync(), [], 'only the one publication reached the reader');
    await Promise.all([reader.close(), writer.close(), gpush.close()]);
  });

  it('history: a namespace keeps its own history size, other topics the global one', async () => {
    for (let i = 1; i <= 5; i++) {
      await h.send({ topic: 'hist:1' }, `m${i}`);
      await h.send({ topic: 'plain-hist' }, `m${i}`);
    }
    const engine = h.node.engine;
    const short = await engine.history('t:hist:1', undefined);
    const long = await engine.history('t:plain-hist', undefined);
    assert.equal(short.position.seq, 5);
    const epoch = short.position.epoch;
    assert.equal((await engine.history('t:hist:1', { seq: 2, epoch })).recovered, false, 'seq 3 is gone: only 2 kept');
    const kept = await engine.history('t:hist:1', { seq: 3, epoch });
    assert.ok(kept.recovered);
    assert.deepEqual(kept.publications.map((p) => p.data.toString()), ['m4', 'm5']);
    const all = await engine.history('t:plain-hist', { seq: 0, epoch: long.position.epoch });
    assert.ok(all.recovered);
    assert.equal(all.publications.length, 5);
  });
});

describe('connect admission with an in-test ConnectProxy', () => {
  let h: TestNode;
  const checks: ConnectCheck[] = [];
  let release: (() => void) | undefined;
  const connectProxy: ConnectProxy = {
    async check(request) {
      checks.push(request);
      const cookie = request.headers.cookie ?? '';
      if (cookie === 'session=slow') await new Promise<void>((resolve) => (release = resolve));
      if (cookie === 'session=bad') return { allowed: false, unavailable: false, reason: 'bad session' };
      if (cookie === 'session=down') return { allowed: false, unavailable: true, reason: 'backend unavailable' };
      if (cookie === 'session=anon') return { allowed: true };
      if (cookie === 'session=brief') return { allowed: true, uid: 'brief', expiresAt: Date.now() + 1500, subscriptions: [{ topic: 'mine', private: true }] };
      return {
        allowed: true,
        uid: 'alice',
        expiresAt: Date.now() + 3_600_000,
        subscriptions: [{ topic: 'news', private: false }, { topic: 'inbox', private: true }, { topic: '', private: false }],
      };
    },
  };

  before(async () => {
    h = await startNode({ connectProxy, namespaces: [{ topics: 'login:*', subscribe: 'login' }] });
  });
  after(() => h.stop());

  const open = (cookie: string, protocol?: string): Promise<TestClient> =>
    h.connect({ protocol, ws: { headers: { cookie, 'x-other': 'not forwarded' } } });

  for (const { name, protocol } of PROTOCOLS) {
    it(`allowed (${name}): logged in as uid (20003), initial subscriptions (20005 each), then the commands sent meanwhile`, async () => {
      const c = await h.connect({ protocol, greeting: false, ws: { headers: { cookie: 'session=slow' } } });
      assert.equal(await c.nextText(), '{"code":20000,"message":"connected"}');
      c.send({ code: 1, topic: 'login:1' });
      await new Promise<void>((resolve) => {
        const poll = (): void => (release === undefined ? void setImmediate(poll) : resolve());
        poll();
      });
      assert.deepEqual(await c.sync(), [], 'nothing is answered before the verdict');
      release?.();
      release = undefined;
      assert.equal(await c.nextText(), '{"code":20003,"message":"logged in","detail":{"uid":"alice"}}');
      assert.equal(await c.nextText(), '{"code":20005,"message":"subscribed by server","topic":"news","private":false}');
      assert.equal(await c.nextText(), '{"code":20005,"message":"subscribed by server","topic":"inbox","private":true}');
      await c.nextReply(20001); // the login namespace's subscribe, answered after the verdict
      await h.send({ uid: 'alice', topic: 'inbox' }, 'for alice');
      assert.ok((await c.nextText()).includes('for alice'));
      const check = checks.at(-1)!;
      assert.deepEqual(check.headers, { cookie: 'session=slow' }, 'only the configured headers are forwarded');
      assert.equal(check.protocol, protocol === undefined ? 'gpush' : 'herald.v1');
      assert.equal(typeof check.ip, 'string');
      await c.close();
    });
  }

  it('allowed without a uid: an anonymous connection', async () => {
    const c = await open('session=anon');
    await command(c, { code: 1, topic: 'login:1' }, 30002);
    await c.close();
  });

  it('the login the backend gave ends at its expiresAt (30006), dropping the private subscriptions', async () => {
    const c = await open('session=brief');
    assert.equal(await c.nextText(), '{"code":20003,"message":"logged in","detail":{"uid":"brief"}}');
    await c.nextReply(20005);
    assert.equal((await c.nextReply(undefined, 10_000)).code, 30006);
    await h.send({ uid: 'brief', topic: 'mine' }, 'too late');
    assert.deepEqual(await c.sync(), []);
    await c.close();
  });

  it('refused: closed with 4500 and the reason', async () => {
    const c = await open('session=bad');
    assert.deepEqual(await c.closed(), { code: 4500, reason: 'bad session' });
  });

  it('backend unavailable: closed with 4102 (retry later)', async () => {
    const c = await open('session=down', HERALD_V1);
    assert.deepEqual(await c.closed(), { code: 4102, reason: 'backend unavailable' });
  });
});

describe('gpush compatibility: reply bytes of ops 1–6 are unchanged', () => {
  // PROTOCOL.md's tables (and test/session/gpush-replies.test.ts for the gpush texts): exactly these frames.
  const EXPECTED = [
    '{"code":20000,"message":"connected"}',
    '{"code":20001,"message":"subscribed"}',
    '{"code":20001,"message":"subscribed"}',
    '{"code":20002,"message":"unsubscribed"}',
    '{"code":30002,"message":"not logged in"}',
    '{"code":20003,"message":"logged in","detail":{"uid":"alice"}}',
    '{"code":20001,"message":"subscribed"}',
    '{"code":20002,"message":"unsubscribed"}',
    '{"code":20004,"message":"logged out"}',
    '{"code":30002,"message":"not logged in"}',
  ];

  async function script(h: TestNode): Promise<string[]> {
    const c = await h.connect({ greeting: false });
    const texts = [await c.nextText()];
    const steps: Record<string, unknown>[] = [
      { code: 1, topic: 'news' },
      { code: 1, topic: 'news' },
      { code: 2, topic: 'news' },
      { code: 5, topic: 'inbox' },
      { code: 3, data: await token({}, 'alice', 3600) },
      { code: 5, topic: 'inbox' },
      { code: 6, topic: 'inbox' },
      { code: 4 },
      { code: 6, topic: 'inbox' },
    ];
    for (const step of steps) {
      c.send(step);
      texts.push(await c.nextText());
    }
    await c.close();
    return texts;
  }

  it('without namespaces, and with namespaces that match none of the topics', async () => {
    for (const namespaces of [undefined, NAMESPACES]) {
      const h = await startNode({ verifier: new JwtVerifier({ secret: SECRET }), namespaces });
      try {
        assert.deepEqual(await script(h), EXPECTED);
      } finally {
        await h.stop();
      }
    }
  });
});
