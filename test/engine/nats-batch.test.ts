import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BATCH_MAX_BYTES, BATCH_MAX_COUNT, packBatch, takeBatch, unpackBatch } from '../../src/engine/nats-batch.js';
import { decodeToken, encodeToken, routeOfTail, subjectTail, tailOfStream } from '../../src/engine/nats-subjects.js';
import { streamOf } from '../../src/streams.js';

describe('NATS batch framing', () => {
  it('round-trips one publication unframed, and several framed, empty ones included', () => {
    const one = Buffer.from('solo');
    assert.equal(packBatch([one]), one);
    const items = [Buffer.from('a'), Buffer.alloc(0), Buffer.from(Array.from({ length: 256 }, (_, i) => i))];
    assert.deepEqual(unpackBatch(packBatch(items), 3), items);
    assert.deepEqual(unpackBatch(one, 1), [one]);
  });

  it('refuses frames that do not add up (truncated, trailing bytes, a count too high)', () => {
    const packed = Buffer.from(packBatch([Buffer.from('ab'), Buffer.from('cd')]));
    assert.equal(unpackBatch(packed.subarray(0, packed.length - 1), 2), undefined);
    assert.equal(unpackBatch(Buffer.concat([packed, Buffer.from('x')]), 2), undefined);
    assert.equal(unpackBatch(packed, 3), undefined);
    assert.equal(unpackBatch(Buffer.from([0xff, 0xff, 0xff, 0xff]), 2), undefined);
  });

  it('takes at least one item, then stays within the count and byte caps, in order', () => {
    const big = { data: Buffer.alloc(BATCH_MAX_BYTES + 1) };
    const queue = [big, { data: Buffer.alloc(1) }];
    assert.deepEqual(takeBatch(queue), [big]);
    const many = Array.from({ length: BATCH_MAX_COUNT + 5 }, (_, i) => ({ data: Buffer.from([i & 0xff]) }));
    const first = takeBatch(many);
    assert.equal(first.length, BATCH_MAX_COUNT);
    assert.equal(many.length, 5);
    const halves = [{ data: Buffer.alloc(BATCH_MAX_BYTES / 2) }, { data: Buffer.alloc(BATCH_MAX_BYTES / 2) }, { data: Buffer.alloc(1) }];
    assert.equal(takeBatch(halves).length, 2);
  });
});

describe('NATS subject names', () => {
  it('encode any uid or topic as one safe token, and map every stream key to its subject and back', () => {
    for (const value of ['', 'a.b', '*', '>', 'x y', 'ü\n✓', 'x']) {
      const token = encodeToken(value);
      assert.match(token, /^x[A-Za-z0-9_-]*$/);
      assert.equal(decodeToken(token), value);
    }
    for (const route of [{}, { topic: 'a.b' }, { uid: 'u.1' }, { uid: 'u:2', topic: 't:>' }]) {
      const tail = subjectTail(route.uid, route.topic);
      assert.equal(tailOfStream(streamOf(route)), tail);
      assert.deepEqual(routeOfTail(tail), route);
    }
    assert.equal(routeOfTail('t.not-a-token'), undefined);
    assert.equal(routeOfTail('u.xYQ.q'), undefined);
    assert.equal(tailOfStream('p:99:short'), undefined);
  });
});
