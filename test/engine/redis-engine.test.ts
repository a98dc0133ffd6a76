import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { after, describe, it, type TestContext } from 'node:test';
import { streamOf, type StreamPosition } from '../../src/engine/engine.js';
import { RedisEngine, type RedisEngineOptions } from '../../src/engine/redis-engine.js';
import {
  adminClient,
  deleteKeys,
  ensureRedis,
  RedisProcess,
  subscriberCount,
  uniquePrefix,
  waitUntil,
} from '../helpers/redis.js';
import { barrier, DeliveryRecorder, runEngineSuite, unique } from './engine-suite.js';

const url = await ensureRedis();
const runPrefix = uniquePrefix();
const admin = adminClient(url);
let fixtures = 0;

after(async () => {
  await deleteKeys(admin, runPrefix);
  await admin.quit();
});

runEngineSuite('RedisEngine', async ({ historySize }) => {
  const prefix = `${runPrefix}${++fixtures}:`;
  const engine = new RedisEngine({ url, prefix, historySize });
  return {
    engine,
    routesByInterest: true,
    interestSettled: () => engine.settled(),
    async cleanup() {
      await engine.close();
      await deleteKeys(admin, prefix);
    },
  };
});

const text = (value: string): Buffer => Buffer.from(value, 'utf8');

interface Node {
  engine: RedisEngine;
  recorder: DeliveryRecorder;
}

/** Start a RedisEngine ("node") that is closed when the test ends. */
async function startNode(t: TestContext, options: RedisEngineOptions): Promise<Node> {
  const engine = new RedisEngine({ url, ...options });
  const recorder = new DeliveryRecorder();
  t.after(() => engine.close());
  await engine.start(recorder);
  return { engine, recorder };
}

/** Two nodes sharing a fresh prefix, keys deleted afterwards. */
async function twoNodes(t: TestContext): Promise<{ a: Node; b: Node; prefix: string }> {
  const prefix = `${runPrefix}${++fixtures}:`;
  t.after(() => deleteKeys(admin, prefix));
  return { a: await startNode(t, { prefix }), b: await startNode(t, { prefix }), prefix };
}

function dataOf(node: Node, target: { uid?: string; topic?: string }): string[] {
  return node.recorder.to(target).map((d) => d.data.toString());
}

describe('RedisEngine across nodes', { timeout: 60_000 }, () => {
  it('sends a topic only to the nodes with interest in it, and stops on unsubscribe', async (t) => {
    const { a, b, prefix } = await twoNodes(t);
    const topic = unique('x');
    const channel = `${prefix}t:${topic}`;
    a.engine.subscribeTopic(topic);
    await a.engine.settled();
    assert.equal(await subscriberCount(admin, channel), 1);
    assert.equal(b.engine.channels.has(channel), false);

    await a.engine.publish({ topic, data: text('one') });
    await barrier(b.engine, b.recorder);
    assert.deepEqual(dataOf(b, { topic }), [], 'node B has no interest');

    b.engine.subscribeTopic(topic);
    await b.engine.settled();
    assert.equal(await subscriberCount(admin, channel), 2);
    await a.engine.publish({ topic, data: text('two') });
    await b.recorder.waitForCount({ topic }, 1);

    b.engine.unsubscribeTopic(topic);
    await b.engine.settled();
    assert.equal(await subscriberCount(admin, channel), 1);
    await a.engine.publish({ topic, data: text('three') });
    await barrier(b.engine, b.recorder);
    await a.recorder.waitForCount({ topic }, 3);
    assert.deepEqual(dataOf(b, { topic }), ['two']);
    assert.deepEqual(dataOf(a, { topic }), ['one', 'two', 'three']);
  });

  it("sends a user's publications, private topics included, only to the nodes where the user is", async (t) => {
    const { a, b, prefix } = await twoNodes(t);
    const uid = unique('user');
    a.engine.subscribeUser(uid);
    await a.engine.settled();
    assert.equal(await subscriberCount(admin, `${prefix}u:${uid}`), 1);
    await b.engine.publish({ uid, data: text('direct') });
    await b.engine.publish({ uid, topic: 'news', data: text('private') });
    await barrier(b.engine, b.recorder);
    await a.recorder.waitForCount({ uid, topic: 'news' }, 1);
    assert.deepEqual(dataOf(a, { uid }), ['direct']);
    assert.equal(b.recorder.deliveries.filter((d) => d.uid === uid).length, 0);
  });

  it('shares sequence numbers and history: a position from one node resumes on another', async (t) => {
    const { a, b } = await twoNodes(t);
    const topic = unique('shared');
    const positions: (StreamPosition | undefined)[] = [];
    for (const data of ['1', '2', '3']) positions.push(await a.engine.publish({ topic, data: text(data) }));
    const resumed = await b.engine.history(streamOf({ topic }), positions[0]);
    assert.ok(resumed.recovered);
    assert.deepEqual(
      resumed.publications.map((d) => [d.data.toString(), d.position]),
      [['2', positions[1]], ['3', positions[2]]],
    );
    assert.deepEqual(await b.engine.publish({ topic, data: text('4') }), { seq: 4, epoch: positions[0]?.epoch });
  });

  it('subscribes the broadcast channel on start and exposes the wanted channel set', async (t) => {
    const { a, prefix } = await twoNodes(t);
    assert.deepEqual([...a.engine.channels], [`${prefix}all`]);
    a.engine.subscribeTopic('t1');
    a.engine.subscribeUser('u1');
    a.engine.subscribeTopic('t2');
    a.engine.unsubscribeTopic('t2');
    await a.engine.settled();
    assert.deepEqual(new Set(a.engine.channels), new Set([`${prefix}all`, `${prefix}t:t1`, `${prefix}u:u1`]));
    assert.equal(await subscriberCount(admin, `${prefix}t:t2`), 0);
    assert.equal(await subscriberCount(admin, `${prefix}all`), 2);
  });

  it('reports and skips a foreign message on a routing channel', async (t) => {
    const prefix = `${runPrefix}${++fixtures}:`;
    const errors: Error[] = [];
    const node = await startNode(t, { prefix, events: { onError: (error) => errors.push(error) } });
    await admin.publish(`${prefix}all`, 'not a herald frame');
    await barrier(node.engine, node.recorder);
    assert.equal(node.recorder.deliveries.length, 1, 'only the barrier');
    assert.match(errors[0]?.message ?? '', /unparseable message/);
  });
});

describe('RedisEngine failures', { timeout: 60_000 }, () => {
  it('rejects start with EngineUnavailableError when Redis cannot be reached', async () => {
    const port = await freePort();
    const engine = new RedisEngine({ url: `redis://127.0.0.1:${port}`, connectTimeoutMs: 300, reconnectBaseMs: 20 });
    await assert.rejects(engine.start(new DeliveryRecorder()), { name: 'EngineUnavailableError' });
    assert.equal(engine.ready, false);
    await assert.rejects(engine.publish({ data: text('x') }), { name: 'EngineUnavailableError' });
    await engine.close();
  });

  it('rejects a publish that gets no answer (a hung Redis) instead of hanging', async (t) => {
    const server = await RedisProcess.start();
    t.after(() => server.kill());
    const { engine } = await startNode(t, { url: server.url, prefix: uniquePrefix(), commandTimeoutMs: 300 });
    server.pause();
    try {
      await assert.rejects(engine.publish({ data: text('stuck') }), { name: 'EngineUnavailableError' });
    } finally {
      server.resume();
    }
  });

  it('survives a Redis crash: rejects while down, reconnects, resubscribes, and reports the lost history', async (t) => {
    const server = await RedisProcess.start();
    t.after(() => server.kill());
    const reconnected: string[] = [];
    const { engine, recorder } = await startNode(t, {
      url: server.url,
      prefix: uniquePrefix(),
      reconnectBaseMs: 20,
      reconnectMaxMs: 200,
      commandTimeoutMs: 1_000,
      events: { onError() {}, onReconnect: (role) => reconnected.push(role) },
    });
    const topic = unique('crash');
    const stream = streamOf({ topic });
    engine.subscribeTopic(topic);
    await engine.settled();
    let before: StreamPosition | undefined;
    for (const data of ['a', 'b', 'c']) before = await engine.publish({ topic, data: text(data) });
    await recorder.waitForCount({ topic }, 3);
    assert.ok(before !== undefined);

    await server.kill();
    await assert.rejects(engine.publish({ topic, data: text('lost') }), { name: 'EngineUnavailableError' });
    await waitUntil(() => !engine.ready, 'the engine to notice the crash');
    await assert.rejects(engine.publish({ topic, data: text('lost') }), { name: 'EngineUnavailableError' });
    await assert.rejects(engine.history(stream, before), { name: 'EngineUnavailableError' });

    await server.restart();
    await waitUntil(() => engine.ready, 'the engine to reconnect');
    await engine.settled();
    assert.deepEqual(reconnected.sort(), ['command', 'subscriber']);
    assert.equal(engine.reconnects, 2);
    const check = adminClient(server.url);
    t.after(() => check.quit());
    assert.equal(await subscriberCount(check, [...engine.channels].find((c) => c.endsWith(`t:${topic}`)) as string), 1);

    const after = await engine.publish({ topic, data: text('d') });
    assert.equal(after?.seq, 1, 'Redis lost the stream: numbering starts over');
    assert.notEqual(after?.epoch, before.epoch, '… in a new epoch');
    await recorder.waitFor(() => dataOf({ engine, recorder }, { topic }).includes('d'), 'delivery after the restart');
    assert.deepEqual(dataOf({ engine, recorder }, { topic }), ['a', 'b', 'c', 'd']);
    assert.deepEqual(recorder.to({ topic })[3].position, after);
    assert.deepEqual(await engine.history(stream, before), { recovered: false, position: after });
  });
});

/** A loopback port nothing listens on (bound, then released). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}
