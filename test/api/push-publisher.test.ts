import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { acceptBatch, publisherOf, type BatchOutcome, type PublishPush } from '../../src/api/push-publisher.js';
import type { PushLimits } from '../../src/api/push-request.js';
import { EngineUnavailableError, type Delivery, type Publication } from '../../src/engine/engine.js';
import { MemoryEngine } from '../../src/engine/memory-engine.js';

const limits: PushLimits = { maxPushBytes: 1024, maxTopicLength: 256 };

async function settle(outcome: BatchOutcome | Promise<BatchOutcome>): Promise<BatchOutcome> {
  return outcome instanceof Promise ? outcome : outcome;
}

describe('publisherOf', () => {
  it('publishes synchronously on the memory engine: delivered before it returns, no promise', async () => {
    const engine = new MemoryEngine();
    const seen: Delivery[] = [];
    await engine.start({ onPublication: (d) => seen.push(d) });
    const publish = publisherOf(engine);
    assert.equal(publish({ uid: 'u1', topic: 'inbox', data: Buffer.from('a') }), undefined);
    assert.equal(seen.length, 1);
    assert.equal(seen[0].uid, 'u1');
    assert.equal(seen[0].topic, 'inbox');
    assert.equal(seen[0].stream, 'p:2:u1:inbox');
    assert.deepEqual(seen[0].position, { seq: 1, epoch: seen[0].position?.epoch });
    await engine.close();
  });

  it('throws EngineUnavailableError synchronously when the memory engine is not running', async () => {
    const engine = new MemoryEngine();
    const publish = publisherOf(engine);
    assert.throws(() => publish({ data: Buffer.from('x') }), EngineUnavailableError);
    // The promise API still rejects instead of throwing.
    await assert.rejects(engine.publish({ data: Buffer.from('x') }), EngineUnavailableError);
  });

  it('falls back to a promise for engines without publishNow', async () => {
    const calls: Publication[] = [];
    const publish = publisherOf({
      publish: async (p: Publication) => {
        calls.push(p);
        return undefined;
      },
    } as never);
    const accepting = publish({ data: Buffer.from('x') });
    assert.ok(accepting instanceof Promise);
    assert.equal(await accepting, undefined);
    assert.equal(calls.length, 1);
  });

  it('does not change the caller’s publication object', async () => {
    const engine = new MemoryEngine();
    await engine.start({ onPublication: () => undefined });
    const publication: Publication = { uid: 'u', data: Buffer.from('x') };
    publisherOf(engine)(publication);
    assert.deepEqual(Object.keys(publication), ['uid', 'data']);
    await engine.close();
  });
});

describe('acceptBatch', () => {
  it('publishes valid items in item order and reports each invalid one in place, synchronously on the memory engine', async () => {
    const engine = new MemoryEngine();
    const order: string[] = [];
    await engine.start({ onPublication: (d) => order.push(d.data.toString()) });
    const outcome = acceptBatch(
      [
        { uid: 'a', data: 'one' },
        { uid: 'a', data: 7 },
        { uid: 'b', dataBase64: 'dHdv' },
        'not an object',
        { uid: 'a', topic: 't', data: 'three' },
        { uid: 'a', data: 'x'.repeat(2000) },
      ],
      limits,
      publisherOf(engine),
    );
    assert.ok(!(outcome instanceof Promise), 'no promise when every item was accepted at once');
    assert.deepEqual(order, ['one', 'two', 'three']);
    assert.equal(outcome.accepted, 3);
    assert.equal(outcome.failed, 3);
    assert.deepEqual(
      outcome.results.map((r) => (r.ok ? 'ok' : r.error.code)),
      ['ok', 'INVALID_DATA', 'ok', 'BAD_REQUEST', 'ok', 'PAYLOAD_TOO_LARGE'],
    );
    assert.equal(JSON.stringify(outcome.results[0]), '{"ok":true}');
    await engine.close();
  });

  it('reports an engine that is not running as UNAVAILABLE per item', async () => {
    const engine = new MemoryEngine();
    const outcome = await settle(acceptBatch([{ data: 'a' }, { data: 'b' }], limits, publisherOf(engine)));
    assert.equal(outcome.accepted, 0);
    assert.deepEqual(
      outcome.results.map((r) => (r.ok ? 'ok' : r.error.code)),
      ['UNAVAILABLE', 'UNAVAILABLE'],
    );
  });

  it('waits for asynchronous engines, mixing accepted and refused items in item order', async () => {
    let n = 0;
    const started: string[] = [];
    const publish: PublishPush = (p) => {
      started.push(p.data.toString());
      n++;
      if (n === 2) return Promise.reject(new EngineUnavailableError('down for a moment'));
      if (n === 3) throw new EngineUnavailableError('refused at once');
      return new Promise((resolve) => setTimeout(resolve, 5 - n));
    };
    const accepting = acceptBatch([{ data: '1' }, { data: '2' }, { data: '3' }, { data: '4' }], limits, publish);
    assert.ok(accepting instanceof Promise);
    const outcome = await accepting;
    assert.deepEqual(started, ['1', '2', '3', '4']);
    assert.deepEqual(
      outcome.results.map((r) => (r.ok ? 'ok' : r.error.code)),
      ['ok', 'UNAVAILABLE', 'UNAVAILABLE', 'ok'],
    );
    assert.deepEqual(outcome.results[2], { ok: false, error: { code: 'UNAVAILABLE', message: 'refused at once' } });
    assert.equal(outcome.accepted, 2);
    assert.equal(outcome.failed, 2);
  });

  it('throws an error that is not the engine’s refusal (a bug: the request gets 500), synchronous or not', async () => {
    const bug = new TypeError('bug');
    assert.throws(
      () =>
        acceptBatch([{ data: 'a' }], limits, () => {
          throw bug;
        }),
      bug,
    );
    await assert.rejects(settle(acceptBatch([{ data: 'a' }], limits, () => Promise.reject(bug))), bug);
  });

  it('answers an empty batch with nothing accepted', async () => {
    assert.deepEqual(acceptBatch([], limits, () => undefined), { accepted: 0, failed: 0, results: [] });
  });
});
