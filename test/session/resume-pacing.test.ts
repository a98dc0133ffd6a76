/**
 * A herald.v1 resume whose history is larger than `--max-buffered-bytes`:
 * the replay is paced by the connection's drain, so every message arrives,
 * in order, under both slow-consumer policies and on both engines — never
 * `recovered: true` followed by a 4001 or a silent drop. Live messages
 * published during the replay follow it in order; if they outgrow the bound
 * while the client does not read, the connection is closed with 4001 after
 * a contiguous prefix (the client resumes from there), never with a hole.
 */
import assert from 'node:assert/strict';
import type { Socket } from 'node:net';
import { after, describe, it, type TestContext } from 'node:test';
import { RedisEngine } from '../../src/engine/redis-engine.js';
import { startNode, type TestNode } from '../helpers/herald-node.js';
import { adminClient, deleteKeys, ensureRedis, uniquePrefix } from '../helpers/redis.js';
import { waitUntil } from '../helpers/server.js';
import { ClusterClient, uniqueName, type Position } from '../cluster-redis/cluster-client.js';

const redisUrl = await ensureRedis();
const admin = adminClient(redisUrl);
after(() => admin.quit());

const MAX_BUFFERED = 128 * 1024;
/** 60 × 20 kB: about 1.2 MB of history, more than nine times the bound. */
const BIG_COUNT = 60;
const big = (i: number): string => `big${i}:`.padEnd(20_000, 'x');

async function node(t: TestContext, engine: 'memory' | 'redis', policy: 'close' | 'drop'): Promise<TestNode> {
  const prefix = uniquePrefix();
  const started = await startNode({
    maxBufferedBytes: MAX_BUFFERED,
    slowConsumerPolicy: policy,
    historySize: 200,
    engine: engine === 'redis' ? new RedisEngine({ url: redisUrl, prefix, historySize: 200 }) : undefined,
  });
  t.after(async () => {
    await started.stop();
    if (engine === 'redis') await deleteKeys(admin, prefix);
  });
  return started;
}

/** A herald.v1 client subscribed to `topic` that saw one push; returns its position, then leaves. */
async function firstVisit(n: TestNode, topic: string): Promise<Position> {
  const client = await ClusterClient.connect(n.wsUrl, { name: 'first', heraldV1: true });
  try {
    await client.subscribe(topic);
    await n.send({ topic }, 'start');
    await client.waitForData('start');
    return client.lastPosition as Position;
  } finally {
    client.terminate();
  }
}

describe('herald.v1 resume larger than --max-buffered-bytes', { timeout: 120_000 }, () => {
  for (const engine of ['memory', 'redis'] as const) {
    for (const policy of ['close', 'drop'] as const) {
      it(`${engine} engine, policy ${policy}: every missed message, then the live ones, in order`, async (t) => {
        const n = await node(t, engine, policy);
        const topic = uniqueName('bulk');
        const since = await firstVisit(n, topic);
        for (let i = 1; i <= BIG_COUNT; i++) await n.send({ topic }, big(i));

        const client = await ClusterClient.connect(n.wsUrl, { name: 'resumer', heraldV1: true });
        t.after(() => client.terminate());
        const replied = client.subscribe(topic, since);
        // Live pushes race the replay: they must come after it.
        for (let i = 1; i <= 5; i++) await n.send({ topic }, `live${i}`);
        const reply = await replied;
        assert.equal(reply.recovered, true, JSON.stringify(reply));
        await n.send({ topic }, 'end');
        await client.waitForData('end');

        const expected = [...Array.from({ length: BIG_COUNT }, (_, i) => big(i + 1)), 'live1', 'live2', 'live3', 'live4', 'live5', 'end'];
        assert.equal(client.data.length, expected.length, `received ${client.data.length} of ${expected.length}`);
        assert.ok(client.data.every((d, i) => d === expected[i]), 'every message once, in order');
        assert.deepEqual(
          client.envelopes.map((e) => e.seq),
          expected.map((_, i) => since.seq + 1 + i),
        );
        assert.equal(client.closeEvent, undefined, 'still connected');
      });
    }
  }

  it('two streams resumed at once, each past the bound: both replays complete (neither waits forever for the drain)', async (t) => {
    const n = await node(t, 'memory', 'close');
    const topics = [uniqueName('twinA'), uniqueName('twinB')];
    const since = [await firstVisit(n, topics[0]), await firstVisit(n, topics[1])];
    const count = 20; // 20 × 20 kB per stream: three times the bound each
    for (let i = 1; i <= count; i++) for (const topic of topics) await n.send({ topic }, `${topic}:${big(i)}`);

    const client = await ClusterClient.connect(n.wsUrl, { name: 'twins', heraldV1: true });
    t.after(() => client.terminate());
    const replies = await Promise.all(topics.map((topic, i) => client.subscribe(topic, since[i])));
    assert.ok(replies.every((r) => r.recovered === true), JSON.stringify(replies));
    for (const topic of topics) await n.send({ topic }, `${topic}:end`);
    for (const topic of topics) await client.waitForData(`${topic}:end`);
    for (const topic of topics) {
      const got = client.data.filter((d) => d.startsWith(`${topic}:`));
      const expected = [...Array.from({ length: count }, (_, i) => `${topic}:${big(i + 1)}`), `${topic}:end`];
      assert.equal(got.length, expected.length, `${topic}: received ${got.length} of ${expected.length}`);
      assert.ok(got.every((d, i) => d === expected[i]), `${topic}: every message once, in order`);
    }
  });

  it('live messages outgrowing the bound while the client does not read: 4001 after a contiguous prefix, never a hole', async (t) => {
    const n = await node(t, 'memory', 'drop');
    const topic = uniqueName('stalled');
    const since = await firstVisit(n, topic);
    // More history than the kernel's socket buffers take from a reader that does not read (a few MB on
    // loopback), so the replay must wait for the drain while the live messages arrive.
    const count = 150;
    for (let i = 1; i <= count; i++) await n.send({ topic }, `big${i}:`.padEnd(64_000, 'x'));

    const client = await ClusterClient.connect(n.wsUrl, { name: 'stalled', heraldV1: true });
    t.after(() => client.terminate());
    const socket = (client.ws as unknown as { _socket: Socket })._socket;
    socket.pause(); // stop reading
    client.ws.send(JSON.stringify({ code: 1, topic, since, id: 1 }));
    await waitUntil(() => n.node.hub.subscriptionCount === 1, 'the resume to start');
    // The memory engine hands a push to the hold before the push is acknowledged: past the bound, the resume ends.
    for (let i = 1; i <= 10; i++) await n.send({ topic }, `live${i}`.padEnd(20_000, 'y'));
    socket.resume();
    const closed = await client.closed();
    assert.equal(closed.code, 4001);
    assert.equal(client.replies.find((r) => r.id === 1)?.recovered, true);
    const seqs = client.envelopes.map((e) => e.seq);
    assert.ok(seqs.length < count, `the replay was cut short (${seqs.length} of ${count})`);
    assert.deepEqual(seqs, seqs.map((_, i) => since.seq + 1 + i), 'a contiguous prefix of the history');
    assert.ok(!client.data.some((d) => d.startsWith('live')), 'no live message after a hole');
  });
});
