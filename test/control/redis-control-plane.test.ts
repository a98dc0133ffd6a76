import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, describe, it, type TestContext } from 'node:test';
import type { Redis } from 'ioredis';
import { EngineUnavailableError } from '../../src/engine/engine.js';
import type { PresenceEntry } from '../../src/control/control-plane.js';
import { RedisControlPlane, type RedisControlPlaneOptions } from '../../src/control/redis-control-plane.js';
import { adminClient, deleteKeys, ensureRedis, RedisProcess, uniquePrefix, waitUntil } from '../helpers/redis.js';
import { eventually, FakeHandler, runControlPlaneSuite, unique } from './control-plane-suite.js';

const url = await ensureRedis();
const runPrefix = uniquePrefix();
const admin = adminClient(url);
let fixtures = 0;

after(async () => {
  await deleteKeys(admin, runPrefix);
  await admin.quit();
});

runControlPlaneSuite('RedisControlPlane (3 nodes)', async ({ presenceTtlMs, replyTimeoutMs }) => {
  const prefix = `${runPrefix}${++fixtures}:`;
  const planes = [0, 1, 2].map(() => new RedisControlPlane({ url, prefix, presenceTtlMs, replyTimeoutMs }));
  const extra: Redis[] = [];
  return {
    planes,
    settled: (plane) => (plane as RedisControlPlane).settled(),
    async addSilentNode() {
      // A hung node: subscribed to the control channel and listed as live, but it never answers.
      const silent = adminClient(url);
      extra.push(silent);
      await silent.subscribe(`${prefix}control`);
      const info = { id: 'silent', address: '127.0.0.1:1', connections: 0, subscriptions: 0, uptimeMs: 0, version: 'x', at: Date.now() };
      await admin.set(`${prefix}{nodes}:silent`, JSON.stringify(info), 'PX', 60_000);
      await admin.zadd(`${prefix}{nodes}`, Date.now() + 60_000, 'silent');
    },
    async cleanup() {
      await Promise.all(planes.map((plane) => plane.close()));
      for (const connection of extra) connection.disconnect();
      await deleteKeys(admin, prefix);
    },
  };
});

function handlerFor(plane: RedisControlPlane): FakeHandler {
  return new FakeHandler({ id: plane.nodeId, address: '127.0.0.1:1', connections: 1, subscriptions: 1, uptimeMs: 0, version: 'test' });
}

/** A started plane on a fresh prefix (unless given), closed and cleaned up when the test ends. */
async function startPlane(t: TestContext, options: RedisControlPlaneOptions = {}): Promise<RedisControlPlane> {
  const prefix = options.prefix ?? `${runPrefix}${++fixtures}:`;
  const plane = new RedisControlPlane({ url, presenceTtlMs: 1_500, ...options, prefix });
  t.after(async () => {
    await plane.close();
    await deleteKeys(admin, prefix);
  });
  await plane.start(handlerFor(plane));
  return plane;
}

let counter = 0;
function entry(plane: RedisControlPlane, uid: string): PresenceEntry {
  return { client: `${plane.nodeId}.${++counter}`, uid, node: plane.nodeId, connectedAt: Date.now() };
}

const CHILD = fileURLToPath(new URL('../helpers/control-plane-child.js', import.meta.url));

describe('RedisControlPlane', { timeout: 60_000 }, () => {
  it('keeps a topic in three hash-tagged keys that expire a few TTLs after the last write; names its connections', async (t) => {
    const prefix = `${runPrefix}${++fixtures}:`;
    const plane = await startPlane(t, { prefix });
    const topic = unique('keys');
    const alice = entry(plane, 'alice');
    plane.presenceAdd(topic, alice);
    plane.presenceAdd(topic, entry(plane, ''));
    const keys = [`${prefix}presence:{${topic}}`, `${prefix}presence-exp:{${topic}}`, `${prefix}presence-users:{${topic}}`];
    await waitUntil(async () => (await admin.hlen(keys[0])) === 2, 'two entries');
    assert.deepEqual(JSON.parse((await admin.hget(keys[0], alice.client))!), alice);
    assert.equal(await admin.type(keys[1]), 'zset');
    assert.deepEqual(await admin.hgetall(keys[2]), { alice: '1' }, 'anonymous entries are not counted as users');
    for (const key of keys) {
      const ttl = await admin.pttl(key);
      assert.ok(ttl > 0 && ttl <= 3 * 1_500, `${key} expires on its own (pttl ${ttl})`);
    }
    const names = await admin.call('CLIENT', 'LIST');
    assert.match(String(names), new RegExp(`name=herald-control-${plane.nodeId} `));
    assert.match(String(names), new RegExp(`name=herald-control-subscriber-${plane.nodeId} `));

    plane.presenceRemove(topic, alice);
    await waitUntil(async () => (await admin.exists(keys[2])) === 0, 'the user count gone with its last connection');
  });

  it('presence returns at most limit distinct entries of a large topic', async (t) => {
    const plane = await startPlane(t);
    const topic = unique('large');
    for (let i = 0; i < 300; i++) plane.presenceAdd(topic, entry(plane, `u${i % 7}`));
    await eventually(() => plane.presenceStats(topic), (s) => s.clients === 300 && s.users === 7, '300 entries');
    for (const limit of [1, 100, 250, 300, 1000]) {
      const list = await plane.presence(topic, limit);
      assert.equal(list.length, Math.min(limit, 300), `limit ${limit}`);
      assert.equal(new Set(list.map((e) => e.client)).size, list.length, 'distinct');
    }
  });

  it('a non-member plane (member: false) asks the registered nodes only: not listed, no local part, handler never called', async (t) => {
    const prefix = `${runPrefix}${++fixtures}:`;
    t.after(() => deleteKeys(admin, prefix));
    const started = async (member: boolean): Promise<[RedisControlPlane, FakeHandler]> => {
      const plane = new RedisControlPlane({ url, prefix, presenceTtlMs: 1_500, member });
      t.after(() => plane.close());
      const handler = handlerFor(plane);
      await plane.start(handler);
      return [plane, handler];
    };
    const [a, handlerA] = await started(true);
    const [b, handlerB] = await started(true);
    const [asker, askerHandler] = await started(false);
    askerHandler.affected.set('alice', 100);
    askerHandler.topics.set('local-only', 7);
    handlerA.affected.set('alice', 1);
    handlerB.affected.set('alice', 2);
    handlerA.topics.set('room', 1);
    handlerB.topics.set('room', 2);

    assert.deepEqual((await asker.info()).map((node) => node.id), [a.nodeId, b.nodeId].sort());
    assert.deepEqual((await admin.zrange(`${prefix}{nodes}`, '0', '-1')).sort(), [a.nodeId, b.nodeId].sort());
    assert.equal(await asker.command({ op: 'disconnect', uid: 'alice', code: 4100, reason: 'x' }), 3);
    assert.deepEqual(await asker.channels(undefined, undefined, 10), { channels: [{ topic: 'room', subscribers: 3 }] });
    assert.deepEqual(askerHandler.applied, []);
    // The members' own requests do not wait for it, nor count it.
    assert.equal(await a.command({ op: 'disconnect', uid: 'alice', code: 4100, reason: 'x' }), 3);
    assert.deepEqual(askerHandler.applied, []);
    assert.deepEqual((await a.info()).map((node) => node.id), [a.nodeId, b.nodeId].sort());

    const topic = unique('asked');
    a.presenceAdd(topic, entry(a, 'alice'));
    b.presenceAdd(topic, entry(b, 'alice'));
    await waitUntil(async () => (await asker.presenceStats(topic)).clients === 2, 'both entries, read by the asker');
    assert.deepEqual(await asker.presenceStats(topic), { clients: 2, users: 1 });
    assert.equal((await asker.presence(topic, 10)).length, 2);
  });

  it('a read drops expired entries and their user counts, however many', async (t) => {
    const prefix = `${runPrefix}${++fixtures}:`;
    const plane = await startPlane(t, { prefix });
    const topic = unique('expired');
    const live = entry(plane, 'u1');
    plane.presenceAdd(topic, live);
    await eventually(() => plane.presenceStats(topic), (s) => s.clients === 1, 'the live entry');
    // 2,500 entries of a node that stopped refreshing long ago (more than one cleanup batch).
    const batch = admin.pipeline();
    for (let i = 0; i < 2_500; i++) {
      const client = `gone.${i}`;
      batch.hset(`${prefix}presence:{${topic}}`, client, JSON.stringify({ client, uid: `u${i % 5}`, node: 'gone', connectedAt: 1 }));
      batch.zadd(`${prefix}presence-exp:{${topic}}`, 1, client);
      batch.hincrby(`${prefix}presence-users:{${topic}}`, `u${i % 5}`, 1);
    }
    await batch.exec();
    assert.deepEqual(await plane.presenceStats(topic), { clients: 1, users: 1 });
    assert.deepEqual(await plane.presence(topic, 10), [live]);
    assert.deepEqual(await admin.hgetall(`${prefix}presence-users:{${topic}}`), { u1: '1' });
  });

  it('a SIGKILLed node disappears from presence, presenceStats and info within its TTL', async (t) => {
    const prefix = `${runPrefix}${++fixtures}:`;
    // Below --presence-ttl's floor (1.5 s; the class takes 300 ms) to keep the waits short: refreshes
    // every 300 ms still leave a stalled child 600 ms before its entries lapse.
    const ttl = 900;
    const observer = await startPlane(t, { prefix, presenceTtlMs: ttl });
    const topic = unique('killed');
    const own = entry(observer, 'user-0');
    observer.presenceAdd(topic, own);

    const child = spawn(process.execPath, [CHILD, url, prefix, String(ttl), topic, '50'], { stdio: ['ignore', 'pipe', 'pipe'] });
    const exited = new Promise((resolve) => child.once('exit', resolve));
    t.after(async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGKILL');
        await exited;
      }
    });
    let stdout = '';
    let stderr = '';
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    await waitUntil(() => stdout.includes('\n') || child.exitCode !== null, 'the child node to start', 20_000);
    assert.ok(stdout.includes('\n'), `child failed: ${stderr}`);
    const childId = (JSON.parse(stdout.split('\n')[0]) as { nodeId: string }).nodeId;

    assert.deepEqual(await observer.presenceStats(topic), { clients: 51, users: 3 });
    assert.ok((await observer.info()).some((node) => node.id === childId));
    // While alive, the child's refresh keeps its entries listed past several TTLs.
    await sleep(2.5 * ttl);
    assert.deepEqual(await observer.presenceStats(topic), { clients: 51, users: 3 });
    assert.ok((await observer.info()).some((node) => node.id === childId));

    child.kill('SIGKILL');
    await exited;
    const bound = 4 * ttl + 10_000; // a safety bound, not a measurement
    await eventually(() => observer.presenceStats(topic), (s) => s.clients === 1 && s.users === 1, 'the dead node out of presenceStats', bound);
    assert.deepEqual(await observer.presence(topic, 100), [own]);
    await eventually(() => observer.info(), (nodes) => !nodes.some((node) => node.id === childId), 'the dead node out of info', bound);
    assert.deepEqual((await observer.info()).map((node) => node.id), [observer.nodeId]);
  });

  it('with Redis down: presence reports neither throw nor queue, reads reject with 503; all re-added when Redis is back empty', async (t) => {
    const server = await RedisProcess.start();
    t.after(() => server.kill());
    /** Connections that reported an error (after the kill: a failed reconnect, so they know Redis is gone). */
    const failing = new Set<string>();
    const plane = new RedisControlPlane({
      url: server.url,
      prefix: 'herald:',
      presenceTtlMs: 1_500,
      reconnectBaseMs: 50,
      reconnectMaxMs: 200,
      connectTimeoutMs: 2_000,
      events: { onError: (_error, connection) => failing.add(connection) },
    });
    t.after(() => plane.close());
    await plane.start(handlerFor(plane));
    const topic = unique('down');
    const [a, b, c] = [entry(plane, 'alice'), entry(plane, 'bob'), entry(plane, 'carol')];
    plane.presenceAdd(topic, a);
    plane.presenceAdd(topic, b);
    await eventually(() => plane.presenceStats(topic), (s) => s.clients === 2, 'two entries');

    await server.kill();
    // Both connections must have noticed: `ready` turns false with the first, and a read on a command
    // connection that has not seen its socket close yet fails with ioredis's own error instead.
    await waitUntil(() => !plane.ready && failing.has('command') && failing.has('subscriber'), 'both connections to notice');
    plane.presenceAdd(topic, c);
    plane.presenceRemove(topic, a);
    for (let i = 0; i < 10_000; i++) {
      const churn = entry(plane, `churn${i}`);
      plane.presenceAdd(topic, churn);
      plane.presenceRemove(topic, churn);
    }
    assert.equal(plane.localPresenceSize, 2, 'nothing queued: only the live entries are held');
    const unavailable = (error: unknown): boolean => error instanceof EngineUnavailableError && /not connected/.test(error.message);
    await assert.rejects(plane.command({ op: 'disconnect', uid: 'bob', code: 4100, reason: 'x' }), unavailable);
    await assert.rejects(plane.info(), unavailable);
    await assert.rejects(plane.channels(undefined, undefined, 10), unavailable);
    await assert.rejects(plane.presence(topic, 10), unavailable);
    await assert.rejects(plane.presenceStats(topic), unavailable);
    plane.publishJoinLeave({ kind: 'join', topic, entry: c });

    await server.restart(); // no persistence: it comes back empty
    await waitUntil(() => plane.ready, 'the reconnect', 20_000);
    const list = await eventually(
      () => plane.presence(topic, 10),
      (entries) => entries.length === 2,
      'the entries re-added',
    );
    assert.deepEqual(list.map((e) => e.client).sort(), [b.client, c.client].sort());
    assert.deepEqual(await plane.presenceStats(topic), { clients: 2, users: 2 });
    const direct = adminClient(server.url);
    t.after(() => direct.disconnect());
    await waitUntil(async () => (await direct.zrange('herald:{nodes}', '0', '-1')).includes(plane.nodeId), 'the node registered again');
  });
});
