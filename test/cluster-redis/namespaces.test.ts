/**
 * Namespaces on two HeraldNodes sharing a Redis engine: the token rule is
 * enforced by each node for its own clients (real HS256 JWTs), a publication
 * made through one node reaches the token holders on both, and a namespace's
 * history size is what the shared stream keeps, read through either node; the
 * login and proxy rules (a real HTTP backend), client publish (op 9) and a
 * per-node maxSubscribers hold across the two nodes as well.
 */
import assert from 'node:assert/strict';
import { after, describe, it, type TestContext } from 'node:test';
import { SignJWT } from 'jose';
import { JwtVerifier } from '../../src/auth/jwt-verifier.js';
import { RedisControlPlane } from '../../src/control/redis-control-plane.js';
import { RedisEngine } from '../../src/engine/redis-engine.js';
import { createProxies } from '../../src/proxy/create-proxies.js';
import { Namespaces } from '../../src/util/namespaces.js';
import { startHttpBackend } from '../helpers/proxy-backend.js';
import { startNode, type TestClient, type TestNode } from '../helpers/herald-node.js';
import { adminClient, deleteKeys, ensureRedis, subscriberCount, uniquePrefix, waitUntil } from '../helpers/redis.js';
import { CLUSTER_WAIT_MS, uniqueName } from './cluster-client.js';

const SECRET = 'a-development-secret-of-32-bytes!';
const redisUrl = await ensureRedis();
const admin = adminClient(redisUrl);
after(() => admin.quit());

const NAMESPACES = Namespaces.parse([
  { topics: 'tok:*', subscribe: 'token' },
  { topics: 'hist:*', historySize: 2, historyTtl: '1m' },
  { topics: 'auth:*', subscribe: 'login' },
  { topics: 'pxy:*', subscribe: 'proxy' },
  { topics: 'chat:*', publish: true, maxSubscribers: 1 },
  { topics: 'quiet:*', joinLeave: false, presence: false },
]);

async function token(channel: string, expInSeconds = 60, sub = ''): Promise<string> {
  return new SignJWT(channel === '' ? {} : { channel })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(sub)
    .setExpirationTime(Math.floor(Date.now() / 1000) + expInSeconds)
    .sign(new TextEncoder().encode(SECRET));
}

/** Nodes A and B on a fresh prefix, each with the same namespaces (as every node of a cluster must be configured). */
async function twoNodes(
  t: TestContext,
  extra: Record<string, unknown> | ((prefix: string) => Record<string, unknown>) = {},
): Promise<{ A: TestNode; B: TestNode; prefix: string }> {
  const prefix = uniquePrefix();
  const nodes: TestNode[] = [];
  t.after(async () => {
    for (const node of nodes) await node.stop();
    await deleteKeys(admin, prefix);
  });
  for (let i = 0; i < 2; i++) {
    nodes.push(
      await startNode({
        engine: new RedisEngine({ url: redisUrl, prefix, historySize: 50, historyFor: NAMESPACES.historyLimits() }),
        namespaces: NAMESPACES,
        verifier: new JwtVerifier({ secret: SECRET }),
        ...(typeof extra === 'function' ? extra(prefix) : extra),
      }),
    );
  }
  return { A: nodes[0], B: nodes[1], prefix };
}

async function subscribe(c: TestClient, body: Record<string, unknown>, expect: number): Promise<Record<string, unknown>> {
  c.send({ code: 1, ...body });
  return (await c.nextReply(expect)) as unknown as Record<string, unknown>;
}

describe('namespaces on two nodes (Redis engine)', { timeout: 120_000 }, () => {
  it('the token rule holds on both nodes, and a push through A reaches the token holders on both', async (t) => {
    const { A, B, prefix } = await twoNodes(t);
    const topic = uniqueName('tok:room');
    const onA = await A.connect();
    const onB = await B.connect({ protocol: 'herald.v1' });
    assert.equal((await subscribe(onA, { topic }, 30003)).detail, 'subscription token missing');
    assert.equal((await subscribe(onB, { topic, token: await token('tok:other') }, 30003)).detail, 'subscription token is for another channel');
    await subscribe(onA, { topic, token: await token(topic) }, 20001);
    const reply = await subscribe(onB, { topic, token: await token(topic) }, 20001);
    assert.equal(typeof reply.expiresAt, 'number');
    await waitUntil(async () => (await subscriberCount(admin, `${prefix}t:${topic}`)) === 2, 'both nodes subscribed in Redis', CLUSTER_WAIT_MS);
    await A.send({ topic }, 'to both');
    assert.equal(await onA.nextText(), 'to both');
    assert.equal(JSON.parse(await onB.nextText()).data, 'to both');
  });

  it('a namespace’s history size is what the shared stream keeps, whichever node reads it', async (t) => {
    const { A, B } = await twoNodes(t);
    const topic = uniqueName('hist:feed');
    const other = uniqueName('plain');
    for (let i = 1; i <= 5; i++) {
      await A.send({ topic }, `m${i}`);
      await B.send({ topic: other }, `m${i}`);
    }
    for (const node of [A, B]) {
      const head = await node.node.engine.history(`t:${topic}`, undefined);
      assert.equal(head.position.seq, 5);
      const epoch = head.position.epoch;
      assert.equal((await node.node.engine.history(`t:${topic}`, { seq: 2, epoch })).recovered, false, 'only 2 kept');
      const kept = await node.node.engine.history(`t:${topic}`, { seq: 3, epoch });
      assert.ok(kept.recovered);
      assert.deepEqual(kept.publications.map((p) => p.data.toString()), ['m4', 'm5']);
      const otherHead = await node.node.engine.history(`t:${other}`, undefined);
      const all = await node.node.engine.history(`t:${other}`, { seq: 0, epoch: otherHead.position.epoch });
      assert.ok(all.recovered, 'a topic of no namespace keeps the engine’s 50');
      assert.equal(all.publications.length, 5);
    }
    // A resume through B from before the window: told it cannot be recovered.
    const c = await B.connect({ protocol: 'herald.v1' });
    const epoch = (await B.node.engine.history(`t:${topic}`, undefined)).position.epoch;
    const resumed = await subscribe(c, { topic, since: { seq: 1, epoch } }, 20001);
    assert.equal(resumed.recovered, false);
  });

  it('login and proxy rules, client publish and a per-node maxSubscribers hold on both nodes', async (t) => {
    const backend = await startHttpBackend((request) =>
      request.topic === 'pxy:no' ? { answer: { error: { code: 403, message: 'not yours' } } } : { answer: { result: {} } },
    );
    const proxies = createProxies({ subscribeProxyUrl: backend.url, subscribeProxyTimeoutMs: 2000 }, { warn: () => undefined });
    t.after(async () => {
      proxies.close();
      await backend.close();
    });
    const { A, B } = await twoNodes(t, { subscribeProxy: proxies.subscribeProxy });

    // login: anonymous refused on A, a logged-in user allowed on B.
    const anonymous = await A.connect();
    assert.equal((await subscribe(anonymous, { topic: 'auth:x' }, 30002)).detail, 'login required for this namespace');
    const alice = await B.connect();
    await alice.login(await token('', 3600, 'alice'), 'alice');
    await subscribe(alice, { topic: 'auth:x' }, 20001);

    // proxy: the backend decides on either node; its uid is the connection's.
    await subscribe(alice, { topic: 'pxy:ok' }, 20001);
    assert.match(JSON.stringify((await subscribe(anonymous, { topic: 'pxy:no' }, 30008)).detail), /refused by the backend: not yours/);
    await subscribe(anonymous, { topic: 'pxy:ok' }, 20001);
    assert.deepEqual(
      backend.requests.map((r) => [r.uid, r.topic]),
      [
        ['alice', 'pxy:ok'],
        [null, 'pxy:no'],
        [null, 'pxy:ok'],
      ],
    );

    // maxSubscribers 1 is per node: one subscriber on A and one on B; a second on B is refused.
    const topic = uniqueName('chat:room');
    const publisher = await A.connect({ protocol: 'herald.v1' });
    publisher.send({ code: 1, id: 1, topic });
    assert.equal((await publisher.nextReply(20001)).code, 20001);
    const listener = await B.connect();
    await subscribe(listener, { topic }, 20001);
    const third = await B.connect();
    assert.equal((await subscribe(third, { topic }, 30005)).detail, 'namespace full');

    // op 9 through A reaches the gpush subscriber on B as the JSON text of the data.
    publisher.send({ code: 9, id: 2, topic, data: { text: 'hello from A' } });
    // The publisher's own copy (an envelope) may come before its 20009.
    let published: Record<string, unknown>;
    do published = JSON.parse(await publisher.nextText()) as Record<string, unknown>;
    while (published.code === undefined);
    assert.equal(published.code, 20009);
    assert.equal(published.id, 2);
    assert.deepEqual(JSON.parse(await listener.nextText()), { text: 'hello from A' });
  });

  it('a namespace’s history TTL is what its streams’ keys expire with (public and private); others keep the engine’s', async (t) => {
    const { A, prefix } = await twoNodes(t);
    const topic = uniqueName('hist:ttl');
    const other = uniqueName('plain');
    await A.send({ topic }, 'public');
    await A.send({ uid: 'alice', topic }, 'private');
    await A.send({ topic: other }, 'plain');
    const streams = [`t:${topic}`, `p:5:alice:${topic}`];
    for (const stream of streams) {
      for (const key of [`${prefix}seq:${stream}`, `${prefix}epoch:${stream}`, `${prefix}s:${stream}`]) {
        const ttl = await admin.pttl(key);
        assert.ok(ttl > 0 && ttl <= 60_000, `${key}: the namespace's 1m, got ${ttl} ms`);
      }
    }
    for (const key of [`${prefix}seq:t:${other}`, `${prefix}s:t:${other}`]) {
      const ttl = await admin.pttl(key);
      assert.ok(ttl > 60_000 && ttl <= 300_000, `${key}: the engine's 5 min, got ${ttl} ms`);
    }
  });

  it('joinLeave and presence flags hold on both nodes; presence of other topics is cluster-wide', async (t) => {
    const { A, B } = await twoNodes(t, (prefix) => ({
      controlPlane: new RedisControlPlane({ url: redisUrl, prefix, presenceTtlMs: 30_000 }),
      presence: true,
      clientPresence: true,
      joinLeave: true,
    }));
    const quiet = uniqueName('quiet:room');
    const open = uniqueName('open');
    const onA = await A.connect({ protocol: 'herald.v1' });
    const onB = await B.connect({ protocol: 'herald.v1' });
    const ask = async (c: TestClient, body: Record<string, unknown>, expect: number) => {
      c.send(body);
      return (await c.nextReply(expect)) as unknown as Record<string, unknown>;
    };
    assert.equal((await ask(onB, { code: 1, id: 1, topic: quiet, joinLeave: true }, 30008)).detail, 'join/leave not allowed in this namespace');
    await ask(onB, { code: 1, id: 2, topic: quiet }, 20001);
    await ask(onA, { code: 1, id: 3, topic: quiet }, 20001);
    assert.equal((await ask(onA, { code: 7, id: 4, topic: quiet }, 30008)).detail, 'presence not allowed in this namespace');
    assert.equal((await B.request(`/v1/presence?topic=${encodeURIComponent(quiet)}`)).status, 409);
    await ask(onA, { code: 1, id: 5, topic: open }, 20001);
    await ask(onB, { code: 1, id: 6, topic: open }, 20001);
    await waitUntil(async () => {
      const stats = await A.request(`/v1/presence-stats?topic=${encodeURIComponent(open)}`);
      return (stats.json as { clients?: number } | undefined)?.clients === 2;
    }, 'both nodes’ clients in presence', CLUSTER_WAIT_MS);
  });
});
