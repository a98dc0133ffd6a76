import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { after, describe, it, type TestContext } from 'node:test';
import { streamOf, type StreamPosition } from '../../src/engine/engine.js';
import { connect } from 'nats';
import { NatsEngine, type NatsEngineOptions } from '../../src/engine/nats-engine.js';
import { NatsProcess } from '../helpers/nats.js';
import { barrier, DeliveryRecorder, runEngineSuite, unique } from './engine-suite.js';

const server = await NatsProcess.start();
after(() => server.dispose());

/** A fresh prefix (= JetStream stream name), so fixtures never share streams. */
const freshPrefix = (): string => `hrt${randomBytes(5).toString('hex')}`;

runEngineSuite('NatsEngine', async ({ historySize }) => {
  const engine = new NatsEngine({ servers: [server.url], prefix: freshPrefix(), historySize });
  return {
    engine,
    routesByInterest: true,
    interestSettled: () => engine.settled(),
    cleanup: () => engine.close(),
  };
});

const text = (value: string): Buffer => Buffer.from(value, 'utf8');

/** A started engine on `natsServer` with `prefix`, closed when the test ends. */
async function startNode(t: TestContext, prefix: string, options: NatsEngineOptions = {}, natsServer = server): Promise<{ engine: NatsEngine; recorder: DeliveryRecorder }> {
  const engine = new NatsEngine({ servers: [natsServer.url], prefix, ...options });
  const recorder = new DeliveryRecorder();
  t.after(() => engine.close());
  await engine.start(recorder);
  return { engine, recorder };
}

describe('NatsEngine across nodes', { timeout: 60_000 }, () => {
  it('numbers a stream 1..n across nodes publishing at once, and every node sees one order', async (t) => {
    const prefix = freshPrefix();
    const [a, b, c] = [await startNode(t, prefix), await startNode(t, prefix), await startNode(t, prefix)];
    const topic = unique('shared');
    c.engine.subscribeTopic(topic);
    await c.engine.settled();
    const count = 100;
    const pending: Promise<StreamPosition | undefined>[] = [];
    for (let i = 0; i < count; i++) {
      pending.push(a.engine.publish({ topic, data: text(`a${i}`) }));
      pending.push(b.engine.publish({ topic, data: text(`b${i}`) }));
    }
    const positions = await Promise.all(pending);
    assert.deepEqual(
      positions.map((p) => p!.seq).sort((x, y) => x - y),
      Array.from({ length: 2 * count }, (_, i) => i + 1),
      'each seq handed out once',
    );
    assert.equal(new Set(positions.map((p) => p!.epoch)).size, 1);
    await c.recorder.waitForCount({ topic }, 2 * count);
    assert.deepEqual(
      c.recorder.to({ topic }).map((d) => d.position!.seq),
      Array.from({ length: 2 * count }, (_, i) => i + 1),
      'delivered in seq order',
    );
    const aOrder = c.recorder.to({ topic }).filter((d) => d.data.toString().startsWith('a')).map((d) => d.data.toString());
    assert.deepEqual(aOrder, Array.from({ length: count }, (_, i) => `a${i}`), 'one node’s publishes in call order');
    const history = await b.engine.history(streamOf({ topic }), { seq: 2 * count - 5, epoch: positions[0]!.epoch });
    assert.ok(history.recovered);
    assert.deepEqual(history.publications, c.recorder.to({ topic }).slice(-5));
  });

  it('keeps topics apart whatever characters they hold (subject tokens are encoded)', async (t) => {
    const prefix = freshPrefix();
    const a = await startNode(t, prefix);
    const base = unique('room');
    const topics = [base, `${base}.x`, `${base}.*`, `${base}.>`, `${base} x`, '>', '*', '.', ''];
    a.engine.subscribeTopic(base);
    a.engine.subscribeTopic('>');
    await a.engine.settled();
    for (const topic of topics) await a.engine.publish({ topic, data: text(topic) });
    await barrier(a.engine, a.recorder);
    const got = a.recorder.deliveries.filter((d) => d.topic !== undefined).map((d) => d.topic);
    assert.deepEqual(got, [base, '>']);
  });

  it('a publication larger than the server’s max_payload is refused with EngineUnavailableError; the engine goes on', async (t) => {
    const a = await startNode(t, freshPrefix());
    const topic = unique('big');
    a.engine.subscribeTopic(topic);
    await a.engine.settled();
    await assert.rejects(a.engine.publish({ topic, data: Buffer.alloc(1024 * 1024 + 1) }), { name: 'EngineUnavailableError' });
    const next = await a.engine.publish({ topic, data: text('small') });
    assert.equal(next!.seq, 1, 'the refused one took no seq');
    await a.recorder.waitForCount({ topic }, 1);
  });

  it('start rejects with EngineUnavailableError when no server answers', async () => {
    const engine = new NatsEngine({ servers: ['nats://127.0.0.1:1'], prefix: freshPrefix(), connectTimeoutMs: 500 });
    await assert.rejects(engine.start(new DeliveryRecorder()), { name: 'EngineUnavailableError' });
    await engine.close();
  });

  it('rejects at once while the server is down, and after a restart reports every interest resubscribed', async (t) => {
    const own = await NatsProcess.start();
    t.after(() => own.dispose());
    const prefix = freshPrefix();
    const resubscribed: { uid?: string; topic?: string }[] = [];
    const engine = new NatsEngine({ servers: [own.url], prefix, requestTimeoutMs: 1_000 });
    const recorder = new DeliveryRecorder();
    t.after(() => engine.close());
    await engine.start(Object.assign(recorder, { onResubscribed: (interest: { uid?: string; topic?: string }) => resubscribed.push(interest) }));
    const [topic, uid] = [unique('t'), unique('u')];
    engine.subscribeTopic(topic);
    engine.subscribeUser(uid);
    const before = await engine.publish({ topic, data: text('before') });
    await own.stop('SIGKILL');
    await waitFor(() => !engine.ready, 'not ready');
    await assert.rejects(engine.publish({ topic, data: text('down') }), { name: 'EngineUnavailableError' });
    await assert.rejects(engine.history(streamOf({ topic }), undefined), { name: 'EngineUnavailableError' });
    await own.restart();
    await waitFor(() => engine.ready && resubscribed.length === 3, 'ready and resubscribed');
    assert.deepEqual(
      resubscribed.map((i) => JSON.stringify(i)).sort(),
      [{}, { topic }, { uid }].map((i) => JSON.stringify(i)).sort(),
    );
    const after = await engine.publish({ topic, data: text('after') });
    assert.deepEqual(after, { seq: before!.seq + 1, epoch: before!.epoch }, 'the file store kept the stream');
    await recorder.waitFor(() => recorder.to({ topic }).some((d) => d.data.equals(text('after'))), 'the publication after the restart');
  });
});

async function waitFor(check: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('NatsEngine batching', { timeout: 60_000 }, () => {
  it('publications queued behind one in flight go out together, keep their seqs, and history serves exactly the window', async (t) => {
    const prefix = freshPrefix();
    const a = await startNode(t, prefix, { historySize: 10 });
    const b = await startNode(t, prefix, { historySize: 10 });
    const topic = unique('burst');
    b.engine.subscribeTopic(topic);
    await b.engine.settled();
    const count = 300;
    const positions = await Promise.all(Array.from({ length: count }, (_, i) => a.engine.publish({ topic, data: text(String(i + 1)) })));
    assert.deepEqual(positions.map((p) => p!.seq), Array.from({ length: count }, (_, i) => i + 1));
    await b.recorder.waitForCount({ topic }, count);
    assert.deepEqual(b.recorder.to({ topic }).map((d) => [d.data.toString(), d.position!.seq]), Array.from({ length: count }, (_, i) => [String(i + 1), i + 1]));
    const admin = await connect({ servers: [server.url] });
    t.after(() => admin.close());
    const stored = (await (await admin.jetstreamManager()).streams.info(prefix)).state.last_seq;
    assert.ok(stored < count, `${count} publications in ${stored} JetStream messages: batched`);
    const epoch = positions[0]!.epoch;
    const stream = streamOf({ topic });
    const tail = await b.engine.history(stream, { seq: count - 10, epoch });
    assert.ok(tail.recovered);
    assert.deepEqual(tail.publications.map((d) => d.data.toString()), Array.from({ length: 10 }, (_, i) => String(count - 9 + i)));
    assert.equal((await b.engine.history(stream, { seq: count - 11, epoch })).recovered, false, 'one more than the window');
    const oldest = await b.engine.history(stream, undefined, 3);
    assert.ok(oldest.recovered);
    assert.deepEqual(oldest.publications.map((d) => d.position!.seq), [count - 9, count - 8, count - 7]);
  });
});

describe('NatsEngine after a nats-server restart that lost its store', { timeout: 60_000 }, () => {
  it('re-creates its JetStream stream; the stream goes on under a new epoch and old positions are not recovered', async (t) => {
    const own = await NatsProcess.start();
    t.after(() => own.dispose());
    const prefix = freshPrefix();
    const { engine, recorder } = await startNode(t, prefix, {}, own);
    const topic = unique('lost');
    engine.subscribeTopic(topic);
    await engine.settled();
    const before = await engine.publish({ topic, data: text('before') });
    await own.stop('SIGKILL');
    await rm(own.storeDir, { recursive: true, force: true });
    await waitFor(() => !engine.ready, 'not ready');
    await own.restart();
    await waitFor(() => engine.ready, 'ready again');
    const after = await engine.publish({ topic, data: text('after') });
    assert.equal(after!.seq, 1);
    assert.notEqual(after!.epoch, before!.epoch);
    assert.deepEqual(await engine.history(streamOf({ topic }), before), { recovered: false, position: after });
    await recorder.waitFor(() => recorder.to({ topic }).some((d) => d.data.equals(text('after'))), 'the publication after the restart');
  });
});

describe('NatsEngine interest calls after close', () => {
  it('never throw (the hub may still report interest changes while the node stops)', async (t) => {
    const a = await startNode(t, freshPrefix());
    a.engine.subscribeTopic('kept');
    await a.engine.close();
    a.engine.subscribeTopic('new');
    a.engine.unsubscribeTopic('kept');
    a.engine.subscribeUser('u');
    a.engine.unsubscribeUser('u');
    assert.equal(a.engine.ready, false);
  });
});
