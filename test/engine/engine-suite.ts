/**
 * The shared engine test suite: the Engine contract (src/engine/engine.ts),
 * checked the same way for every implementation (centrifuge's shared broker
 * tests). Each engine's test file calls `runEngineSuite` with a factory; no
 * case is skipped for any engine.
 *
 * No timing assertions. Deliveries may be asynchronous (Redis), so the suite
 * waits for them with a generous deadline; "not delivered" is shown with a
 * barrier: a broadcast published afterwards, through the same engine, whose
 * arrival proves that anything published before it would have arrived.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import {
  streamOf,
  type Delivery,
  type Engine,
  type EngineHandler,
  type Publication,
  type StreamPosition,
} from '../../src/engine/engine.js';

/** What a factory is asked for. */
export interface EngineFixtureOptions {
  /** Publications the engine keeps per stream. */
  historySize: number;
}

/** One engine under test, not started yet (the suite starts it with its own handler). */
export interface EngineFixture {
  engine: Engine;
  /**
   * True: the engine delivers a topic publication to this node only while it
   * has called `subscribeTopic(topic)`, and a user's only while it has called
   * `subscribeUser(uid)` (RedisEngine). False: the engine documents that it
   * delivers every publication regardless of interest (MemoryEngine, one node).
   */
  routesByInterest: boolean;
  /** Resolves once the interest calls made so far are in effect (Redis: SUBSCRIBE answered). */
  interestSettled(): Promise<void>;
  /** Close the engine (if the test has not) and remove what it left behind. */
  cleanup(): Promise<void>;
}

export type EngineFactory = (options: EngineFixtureOptions) => Promise<EngineFixture>;

const DEADLINE_MS = 10_000;
const TEST_TIMEOUT_MS = 60_000;

/** Records deliveries; lets a test wait for some to arrive. */
export class DeliveryRecorder implements EngineHandler {
  readonly deliveries: Delivery[] = [];
  private waiters: { check: () => boolean; resolve: () => void }[] = [];

  onPublication(delivery: Delivery): void {
    this.deliveries.push(delivery);
    this.waiters = this.waiters.filter((waiter) => {
      if (!waiter.check()) return true;
      waiter.resolve();
      return false;
    });
  }

  /** Deliveries to `topic`/`uid` exactly as given (undefined means "absent"). */
  to(target: { uid?: string; topic?: string }): Delivery[] {
    return this.deliveries.filter((d) => d.uid === target.uid && d.topic === target.topic);
  }

  /** Wait until `check()` holds; rejects after a deadline naming `what`. */
  waitFor(check: () => boolean, what: string): Promise<void> {
    if (check()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((waiter) => waiter.resolve !== done);
        reject(new Error(`no ${what} within ${DEADLINE_MS} ms (${this.deliveries.length} deliveries so far)`));
      }, DEADLINE_MS);
      const done = (): void => {
        clearTimeout(timer);
        resolve();
      };
      this.waiters.push({ check, resolve: done });
    });
  }

  /** Wait until at least `count` deliveries went to `target`. */
  waitForCount(target: { uid?: string; topic?: string }, count: number): Promise<void> {
    return this.waitFor(() => this.to(target).length >= count, `${count} deliveries to ${JSON.stringify(target)}`);
  }
}

/** A fresh name, so tests never share streams even on a shared Redis. */
export function unique(label: string): string {
  return `${label}-${randomBytes(4).toString('hex')}`;
}

/**
 * Publish a broadcast through `engine` and wait for it: everything published
 * through the same engine before it has been delivered (or never will be).
 */
export async function barrier(engine: Engine, recorder: DeliveryRecorder): Promise<void> {
  const marker = Buffer.from(unique('barrier'));
  await engine.publish({ data: marker });
  await recorder.waitFor(() => recorder.deliveries.some((d) => d.data.equals(marker)), 'barrier broadcast');
}

interface Started {
  fixture: EngineFixture;
  engine: Engine;
  recorder: DeliveryRecorder;
}

/** Build an engine with `factory`, start it with a recorder, run `body`, always clean up. */
async function withEngine(
  factory: EngineFactory,
  options: Partial<EngineFixtureOptions>,
  body: (started: Started) => Promise<void>,
): Promise<void> {
  const fixture = await factory({ historySize: 100, ...options });
  try {
    const recorder = new DeliveryRecorder();
    await fixture.engine.start(recorder);
    await body({ fixture, engine: fixture.engine, recorder });
  } finally {
    await fixture.cleanup();
  }
}

function text(value: string): Buffer {
  return Buffer.from(value, 'utf8');
}

function assertSameDelivery(actual: Delivery, expected: Publication, position: StreamPosition | undefined): void {
  assert.equal(actual.uid, expected.uid);
  assert.equal(actual.topic, expected.topic);
  assert.deepEqual(actual.data, expected.data);
  assert.deepEqual(actual.position, position);
}

/** Run the contract checks against engines made by `factory`, as `describe(name)`. */
export function runEngineSuite(name: string, factory: EngineFactory): void {
  const test = (title: string, options: Partial<EngineFixtureOptions>, body: (started: Started) => Promise<void>): void => {
    it(title, { timeout: TEST_TIMEOUT_MS }, () => withEngine(factory, options, body));
  };

  describe(`${name} (engine suite)`, () => {
    describe('lifecycle', () => {
      test('is ready once started', {}, async ({ engine }) => {
        assert.equal(engine.ready, true);
      });

      test('rejects publish with EngineUnavailableError after close, and is no longer ready', {}, async ({ engine }) => {
        await engine.close();
        assert.equal(engine.ready, false);
        await assert.rejects(engine.publish({ topic: unique('t'), data: text('late') }), { name: 'EngineUnavailableError' });
      });
    });

    describe('publish and delivery', () => {
      test('delivers each routing kind with the same uid, topic and data, and the position publish returned', {}, async (s) => {
        const uid = unique('user');
        const topic = unique('topic');
        s.engine.subscribeTopic(topic);
        s.engine.subscribeUser(uid);
        await s.fixture.interestSettled();
        const publications: Publication[] = [
          { topic, data: text('public') },
          { uid, data: text('to the user') },
          { uid, topic, data: text('private') },
          { data: text('everyone') },
        ];
        const positions: (StreamPosition | undefined)[] = [];
        for (const publication of publications) positions.push(await s.engine.publish(publication));
        for (const [i, publication] of publications.entries()) {
          await s.recorder.waitForCount(publication, 1);
          const [delivery] = s.recorder.to(publication).filter((d) => d.data.equals(publication.data));
          assert.ok(delivery, `delivery of ${publication.data.toString()}`);
          assert.ok(positions[i] !== undefined, 'an engine with history returns a position');
          assertSameDelivery(delivery, publication, positions[i]);
        }
      });

      test('numbers each stream from 1, independently of the others', {}, async (s) => {
        const uid = unique('user');
        const [a, b] = [unique('a'), unique('b')];
        s.engine.subscribeTopic(a);
        s.engine.subscribeTopic(b);
        s.engine.subscribeUser(uid);
        await s.fixture.interestSettled();
        const order: Publication[] = [
          { topic: a, data: text('a1') },
          { topic: b, data: text('b1') },
          { uid, data: text('u1') },
          { topic: a, data: text('a2') },
          { uid, topic: a, data: text('p1') },
          { uid, data: text('u2') },
          { topic: a, data: text('a3') },
          { uid, topic: a, data: text('p2') },
          { topic: b, data: text('b2') },
        ];
        const expectedSeq = [1, 1, 1, 2, 1, 2, 3, 2, 2];
        const seen = new Map<string, string>();
        for (const [i, publication] of order.entries()) {
          const position = await s.engine.publish(publication);
          assert.ok(position !== undefined);
          assert.equal(position.seq, expectedSeq[i], `seq of ${publication.data.toString()}`);
          const stream = streamOf(publication);
          const epoch = seen.get(stream) ?? position.epoch;
          assert.equal(position.epoch, epoch, `one epoch per stream (${stream})`);
          seen.set(stream, epoch);
        }
        assert.equal(new Set(order.map(streamOf)).size, 4);
        for (const stream of seen.keys()) {
          const history = await s.engine.history(stream, undefined);
          assert.deepEqual(history.position, { seq: order.filter((p) => streamOf(p) === stream).length, epoch: seen.get(stream) });
        }
        await s.recorder.waitForCount({ topic: b }, 2);
        await s.recorder.waitForCount({ uid, topic: a }, 2);
        assert.deepEqual(
          s.recorder.to({ uid, topic: a }).map((d) => [d.data.toString(), d.position?.seq]),
          [['p1', 1], ['p2', 2]],
        );
      });

      test('delivers 500 rapid publishes to one stream in publish order with seq 1..500', {}, async (s) => {
        const topic = unique('rapid');
        s.engine.subscribeTopic(topic);
        await s.fixture.interestSettled();
        const count = 500;
        const pending: Promise<StreamPosition | undefined>[] = [];
        for (let i = 1; i <= count; i++) pending.push(s.engine.publish({ topic, data: text(String(i)) }));
        const positions = await Promise.all(pending);
        assert.deepEqual(
          positions.map((p) => p?.seq),
          Array.from({ length: count }, (_, i) => i + 1),
        );
        await s.recorder.waitForCount({ topic }, count);
        const delivered = s.recorder.to({ topic });
        assert.equal(delivered.length, count, 'each publication once');
        delivered.forEach((d, i) => {
          assert.equal(d.data.toString(), String(i + 1));
          assert.equal(d.position?.seq, i + 1);
        });
      });

      test('round-trips every byte value, empty payloads and non-ASCII uids and topics', {}, async (s) => {
        const uid = unique('ü sér\n✓');
        const topic = unique('τοπικ 1 \r\n -');
        s.engine.subscribeTopic(topic);
        s.engine.subscribeUser(uid);
        await s.fixture.interestSettled();
        const all = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
        const publications: Publication[] = [
          { topic, data: all },
          { uid, topic, data: Buffer.concat([all, Buffer.from(all).reverse()]) },
          { uid, data: Buffer.alloc(0) },
          { topic, data: Buffer.from('h1 1 e 0 0\n') },
        ];
        const positions = [];
        for (const publication of publications) positions.push(await s.engine.publish(publication));
        await s.recorder.waitForCount({ topic }, 2);
        await s.recorder.waitForCount({ uid }, 1);
        await s.recorder.waitForCount({ uid, topic }, 1);
        assertSameDelivery(s.recorder.to({ topic })[0], publications[0], positions[0]);
        assertSameDelivery(s.recorder.to({ uid, topic })[0], publications[1], positions[1]);
        assertSameDelivery(s.recorder.to({ uid })[0], publications[2], positions[2]);
        assertSameDelivery(s.recorder.to({ topic })[1], publications[3], positions[3]);
        const history = await s.engine.history(streamOf({ uid, topic }), { seq: 0, epoch: positions[1]!.epoch });
        assert.equal(history.recovered, true);
        assert.ok(history.recovered);
        assertSameDelivery(history.publications[0], publications[1], positions[1]);
      });
    });

    describe('history', () => {
      /** Publish `count` publications to a fresh private stream; returns them and their positions. */
      async function fill(engine: Engine, count: number): Promise<{ stream: string; sent: Publication[]; last: StreamPosition }> {
        const publication = { uid: unique('u'), topic: unique('t') };
        const sent: Publication[] = [];
        let last: StreamPosition | undefined;
        for (let i = 1; i <= count; i++) {
          const p = { ...publication, data: text(`#${i}`) };
          sent.push(p);
          last = await engine.publish(p);
        }
        assert.ok(last !== undefined);
        return { stream: streamOf(publication), sent, last };
      }

      test('answers since = undefined with the current position only', {}, async ({ engine }) => {
        const { stream, last } = await fill(engine, 3);
        assert.deepEqual(await engine.history(stream, undefined), { recovered: true, publications: [], position: last });
      });

      test('answers since = the current position as recovered with no publications', {}, async ({ engine }) => {
        const { stream, last } = await fill(engine, 3);
        assert.deepEqual(await engine.history(stream, last), { recovered: true, publications: [], position: last });
      });

      test('returns exactly the publications after since, oldest first, with their positions', {}, async ({ engine }) => {
        const n = 6;
        const { stream, sent, last } = await fill(engine, n);
        for (let k = 0; k <= n; k++) {
          const result = await engine.history(stream, { seq: k, epoch: last.epoch });
          assert.equal(result.recovered, true, `since ${k}`);
          assert.ok(result.recovered);
          assert.deepEqual(result.position, last);
          assert.equal(result.publications.length, n - k);
          result.publications.forEach((d, i) => assertSameDelivery(d, sent[k + i], { seq: k + i + 1, epoch: last.epoch }));
        }
      });

      test('answers recovered: false for a position beyond the current one or from another epoch', {}, async ({ engine }) => {
        const { stream, last } = await fill(engine, 3);
        assert.deepEqual(await engine.history(stream, { seq: 4, epoch: last.epoch }), { recovered: false, position: last });
        assert.deepEqual(await engine.history(stream, { seq: 1, epoch: `${last.epoch}x` }), { recovered: false, position: last });
        assert.deepEqual(await engine.history(stream, { seq: 3, epoch: 'another' }), { recovered: false, position: last });
      });

      test('answers recovered: false once the gap is longer than the history', { historySize: 10 }, async ({ engine }) => {
        const { stream, sent, last } = await fill(engine, 30);
        assert.equal(last.seq, 30);
        assert.deepEqual(await engine.history(stream, { seq: 1, epoch: last.epoch }), { recovered: false, position: last });
        assert.deepEqual(await engine.history(stream, { seq: 19, epoch: last.epoch }), { recovered: false, position: last });
        const tail = await engine.history(stream, { seq: 20, epoch: last.epoch });
        assert.ok(tail.recovered, 'the last 10 are held');
        assert.deepEqual(
          tail.publications.map((d) => d.data.toString()),
          sent.slice(20).map((p) => p.data.toString()),
        );
      });

      test('resumes from the position of a stream nothing was published to yet', {}, async ({ engine }) => {
        const topic = unique('empty');
        const stream = streamOf({ topic });
        const start = await engine.history(stream, undefined);
        assert.equal(start.recovered, true);
        assert.equal(start.position.seq, 0);
        await engine.publish({ topic, data: text('first') });
        await engine.publish({ topic, data: text('second') });
        const result = await engine.history(stream, start.position);
        assert.ok(result.recovered);
        assert.deepEqual(result.position, { seq: 2, epoch: start.position.epoch });
        assert.deepEqual(
          result.publications.map((d) => [d.topic, d.data.toString(), d.position?.seq]),
          [[topic, 'first', 1], [topic, 'second', 2]],
        );
      });
    });

    describe('history with a limit, and removeHistory', () => {
      async function fill(engine: Engine, count: number, topic = unique('t')): Promise<{ stream: string; last: StreamPosition }> {
        let last: StreamPosition | undefined;
        for (let i = 1; i <= count; i++) last = await engine.publish({ topic, data: text(`#${i}`) });
        assert.ok(last !== undefined);
        return { stream: streamOf({ topic }), last };
      }
      const texts = (result: Awaited<ReturnType<Engine['history']>>): string[] =>
        result.recovered ? result.publications.map((d) => d.data.toString()) : ['(not recovered)'];

      test('a limit returns the oldest publications after since; without since, from the oldest held', { historySize: 5 }, async ({ engine }) => {
        const { stream, last } = await fill(engine, 8);
        assert.deepEqual(texts(await engine.history(stream, { seq: 4, epoch: last.epoch }, 2)), ['#5', '#6']);
        assert.deepEqual(texts(await engine.history(stream, { seq: 6, epoch: last.epoch }, 10)), ['#7', '#8']);
        assert.deepEqual(texts(await engine.history(stream, undefined, 3)), ['#4', '#5', '#6']);
        assert.deepEqual(texts(await engine.history(stream, undefined, 100)), ['#4', '#5', '#6', '#7', '#8']);
        assert.deepEqual((await engine.history(stream, undefined, 3)).position, last);
        assert.deepEqual(await engine.history(stream, { seq: 1, epoch: last.epoch }, 2), { recovered: false, position: last });
        const empty = await engine.history(streamOf({ topic: unique('none') }), undefined, 10);
        assert.ok(empty.recovered);
        assert.deepEqual(empty.publications, []);
      });

      test('removeHistory forgets the stream: old positions are not recovered, numbering restarts under a new epoch', {}, async ({ engine }) => {
        const topic = unique('t');
        const { stream, last } = await fill(engine, 3, topic);
        const other = await fill(engine, 2);
        await engine.removeHistory(stream);
        const after = await engine.history(stream, { seq: 1, epoch: last.epoch });
        assert.equal(after.recovered, false);
        const next = await engine.publish({ topic, data: text('again') });
        assert.ok(next !== undefined);
        assert.equal(next.seq, 1);
        assert.notEqual(next.epoch, last.epoch);
        assert.deepEqual(texts(await engine.history(stream, undefined, 10)), ['again']);
        // Other streams keep theirs.
        assert.deepEqual(texts(await engine.history(other.stream, undefined, 10)), ['#1', '#2']);
        // Removing a stream that does not exist is fine.
        await engine.removeHistory(streamOf({ topic: unique('none') }));
      });
    });

    describe('interest', () => {
      test('delivers topic publications according to subscribeTopic/unsubscribeTopic', {}, async (s) => {
        const topic = unique('interest');
        await s.engine.publish({ topic, data: text('before') });
        await barrier(s.engine, s.recorder);
        s.engine.subscribeTopic(topic);
        await s.fixture.interestSettled();
        await s.engine.publish({ topic, data: text('during') });
        await s.recorder.waitFor(() => s.recorder.to({ topic }).some((d) => d.data.equals(text('during'))), 'the subscribed publication');
        s.engine.unsubscribeTopic(topic);
        await s.fixture.interestSettled();
        await s.engine.publish({ topic, data: text('after') });
        await barrier(s.engine, s.recorder);
        const expected = s.fixture.routesByInterest ? ['during'] : ['before', 'during', 'after'];
        assert.deepEqual(s.recorder.to({ topic }).map((d) => d.data.toString()), expected);
      });

      test('delivers user publications (with or without topic) according to subscribeUser/unsubscribeUser', {}, async (s) => {
        const [uid, other] = [unique('user'), unique('other')];
        const topic = unique('private');
        s.engine.subscribeUser(uid);
        await s.fixture.interestSettled();
        await s.engine.publish({ uid, data: text('u') });
        await s.engine.publish({ uid, topic, data: text('p') });
        await s.engine.publish({ uid: other, data: text('other') });
        await barrier(s.engine, s.recorder);
        s.engine.unsubscribeUser(uid);
        await s.fixture.interestSettled();
        await s.engine.publish({ uid, data: text('gone') });
        await barrier(s.engine, s.recorder);
        const toUid = s.recorder.deliveries.filter((d) => d.uid === uid).map((d) => d.data.toString());
        const toOther = s.recorder.deliveries.filter((d) => d.uid === other).map((d) => d.data.toString());
        if (s.fixture.routesByInterest) {
          assert.deepEqual(toUid, ['u', 'p']);
          assert.deepEqual(toOther, []);
        } else {
          assert.deepEqual(toUid, ['u', 'p', 'gone']);
          assert.deepEqual(toOther, ['other']);
        }
      });

      test('a subscribe and an unsubscribe in the same tick net out, in call order', {}, async (s) => {
        const [gone, kept] = [unique('gone'), unique('kept')];
        s.engine.subscribeTopic(gone);
        s.engine.unsubscribeTopic(gone);
        s.engine.unsubscribeTopic(kept);
        s.engine.subscribeTopic(kept);
        await s.fixture.interestSettled();
        await s.engine.publish({ topic: gone, data: text('gone') });
        await s.engine.publish({ topic: kept, data: text('kept') });
        await barrier(s.engine, s.recorder);
        assert.deepEqual(s.recorder.to({ topic: kept }).map((d) => d.data.toString()), ['kept']);
        assert.equal(s.recorder.to({ topic: gone }).length, s.fixture.routesByInterest ? 0 : 1);
      });

      test('always delivers broadcasts', {}, async (s) => {
        await s.engine.publish({ data: text('hello all') });
        await s.recorder.waitFor(() => s.recorder.to({}).some((d) => d.data.equals(text('hello all'))), 'the broadcast');
      });
    });
  });
}
