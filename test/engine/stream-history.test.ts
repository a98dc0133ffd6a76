import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Delivery, Publication, StreamPosition } from '../../src/engine/engine.js';
import { StreamHistory } from '../../src/engine/stream-history.js';
import { streamOf } from '../../src/streams.js';

/** A deterministic pseudo-random sequence (xorshift32), so failures reproduce. */
function random(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 2 ** 32;
  };
}

function payload(next: () => number, length: number, tag: number): Buffer {
  const data = Buffer.alloc(length);
  for (let i = 0; i < length; i++) data[i] = (tag * 31 + i * 7 + Math.floor(next() * 256)) & 0xff;
  return data;
}

/** What history() must answer, from a plain list of everything published to the stream. */
function expected(sent: Publication[], last: StreamPosition, since: number, size: number): Delivery[] | null {
  if (since > last.seq || since < 0) return null;
  if (since + 1 < Math.max(1, last.seq - size + 1)) return null;
  return sent.slice(since).map((p, i) => ({ ...p, position: { seq: since + i + 1, epoch: last.epoch } }));
}

describe('StreamHistory', () => {
  it('answers every window exactly while payload sizes vary (ring wrap, growth and shrinking)', () => {
    for (const size of [1, 2, 3, 10, 100]) {
      const next = random(size * 1009);
      const history = new StreamHistory({ size });
      const target = { uid: 'alice', topic: 'inbox' };
      const stream = streamOf(target);
      const sent: Publication[] = [];
      let last: StreamPosition | undefined;
      for (let n = 1; n <= 600; n++) {
        // Phases of small, large and empty payloads, so the ring grows, wraps and shrinks.
        const phase = Math.floor(n / 150) % 4;
        const length = phase === 0 ? Math.floor(next() * 20) : phase === 1 ? 500 + Math.floor(next() * 3000) : phase === 2 ? 0 : Math.floor(next() * 5);
        const publication = { ...target, data: payload(next, length, n) };
        sent.push({ ...publication, data: Buffer.from(publication.data) });
        const delivery: Delivery = publication;
        last = history.append(stream, delivery);
        assert.deepEqual(last, { seq: n, epoch: last.epoch });
        assert.equal(delivery.position, last, 'the delivery gets its position');
        if (n % 7 === 0 || n < 12) {
          for (const back of [0, 1, 2, size - 1, size, size + 1, Math.floor(next() * (size + 3))]) {
            const since = n - back;
            const result = history.history(stream, { seq: since, epoch: last.epoch });
            const want = expected(sent, last, since, size);
            if (want === null) assert.deepEqual(result, { recovered: false, position: last }, `size ${size}, n ${n}, since ${since}`);
            else assert.deepEqual(result, { recovered: true, publications: want, position: last }, `size ${size}, n ${n}, since ${since}`);
          }
        }
      }
    }
  });

  it('copies payloads: a view into a larger buffer is not retained, and returned data is not overwritten later', () => {
    const history = new StreamHistory({ size: 2 });
    const body = Buffer.allocUnsafeSlow(16);
    body.write('0123456789abcdef');
    const first: Delivery = { topic: 'T', data: body.subarray(2, 5) };
    const position = history.append('t:T', first);
    body.fill(0);
    const result = history.history('t:T', { seq: 0, epoch: position.epoch });
    assert.ok(result.recovered);
    assert.equal(result.publications[0].data.toString(), '234');
    assert.equal(result.publications[0].data.buffer === body.buffer, false);
    const held = result.publications[0].data;
    for (let i = 0; i < 10; i++) history.append('t:T', { topic: 'T', data: Buffer.from(`next-${i}`) });
    assert.equal(held.toString(), '234');
  });

  it('returns the uid/topic each publication had, as their own properties', () => {
    const history = new StreamHistory({ size: 10 });
    // A stream key not made by streamOf may carry different targets (StreamHistory does not check).
    const sent: Publication[] = [
      { uid: 'u', topic: 't', data: Buffer.from('a') },
      { uid: 'u', data: Buffer.from('b') },
      { data: Buffer.from('c') },
      { topic: 't', data: Buffer.from('d') },
      { uid: 'u', topic: 't', data: Buffer.from('e') },
    ];
    let last: StreamPosition | undefined;
    for (const p of sent) last = history.append('custom', { ...p });
    const result = history.history('custom', { seq: 0, epoch: last!.epoch });
    assert.deepEqual(result, {
      recovered: true,
      publications: sent.map((p, i) => ({ ...p, position: { seq: i + 1, epoch: last!.epoch } })),
      position: last,
    });
    for (const d of result.recovered ? result.publications : []) {
      assert.equal('uid' in d, d.uid !== undefined);
      assert.equal('topic' in d, d.topic !== undefined);
    }
  });

  it('keeps positions only with size 0', () => {
    const history = new StreamHistory({ size: 0 });
    const a = history.append('t:T', { topic: 'T', data: Buffer.from('a') });
    const b = history.append('t:T', { topic: 'T', data: Buffer.from('b') });
    assert.deepEqual(b, { seq: 2, epoch: a.epoch });
    assert.deepEqual(history.history('t:T', a), { recovered: false, position: b });
    assert.deepEqual(history.history('t:T', b), { recovered: true, publications: [], position: b });
  });

  it('forgets a stream idle for longer than the TTL: a new epoch, seq from 1', () => {
    const history = new StreamHistory({ size: 10, ttlMs: 1_000 });
    const t0 = 1_000_000;
    const old = history.append('t:T', { topic: 'T', data: Buffer.from('old') }, t0);
    history.append('t:U', { topic: 'U', data: Buffer.from('other') }, t0 + 900);
    assert.equal(history.streamCount, 2);
    const fresh = history.append('t:U', { topic: 'U', data: Buffer.from('again') }, t0 + 1_500);
    assert.equal(fresh.seq, 2, 'a stream in use is kept');
    assert.equal(history.streamCount, 1, 'the idle stream is swept');
    const renewed = history.history('t:T', old, t0 + 1_600);
    assert.deepEqual(renewed, { recovered: false, position: { seq: 0, epoch: renewed.position.epoch } });
    assert.notEqual(renewed.position.epoch, old.epoch);
    const next = history.append('t:T', { topic: 'T', data: Buffer.from('new') }, t0 + 1_700);
    assert.deepEqual(next, { seq: 1, epoch: renewed.position.epoch });
  });

  it('holds many streams independently', () => {
    const history = new StreamHistory({ size: 5 });
    const last = new Map<string, StreamPosition>();
    for (let n = 0; n < 2_000; n++) {
      const uid = `u${(n * 37) % 100}`;
      last.set(uid, history.append(streamOf({ uid, topic: 'inbox' }), { uid, topic: 'inbox', data: Buffer.from(`${uid}#${n}`) }));
    }
    for (const [uid, position] of last) {
      const result = history.history(streamOf({ uid, topic: 'inbox' }), { seq: position.seq - 5, epoch: position.epoch });
      assert.ok(result.recovered);
      assert.equal(result.publications.length, 5);
      result.publications.forEach((d, i) => {
        assert.equal(d.uid, uid);
        assert.equal(d.topic, 'inbox');
        assert.deepEqual(d.position, { seq: position.seq - 4 + i, epoch: position.epoch });
        assert.match(d.data.toString(), new RegExp(`^${uid}#\\d+$`));
      });
    }
  });

  it('finds a user’s stream by uid (appendToOwn) as by its key (append, history, remove, sweep)', () => {
    const history = new StreamHistory({ size: 10, ttlMs: 1_000 });
    const t0 = 1_000_000;
    const first: Delivery = { uid: 'ann', data: Buffer.from('a1') };
    const a1 = history.appendToOwn(first, t0);
    assert.equal(first.stream, 'u:ann', 'the delivery carries its stream key');
    const a2 = history.append('u:ann', { uid: 'ann', data: Buffer.from('a2') }, t0);
    assert.deepEqual(a2, { seq: 2, epoch: a1.epoch }, 'one stream, whichever way it is reached');
    const other: Delivery = { uid: 'ann', topic: 'inbox', data: Buffer.from('p1') };
    assert.equal(history.appendToOwn(other, t0).seq, 1, 'a private topic is a stream of its own');
    assert.equal(other.stream, streamOf({ uid: 'ann', topic: 'inbox' }));
    assert.equal(history.streamCount, 2);
    const found = history.history('u:ann', a1, t0);
    assert.ok(found.recovered);
    assert.deepEqual(found.publications.map((d) => d.data.toString()), ['a2']);
    history.remove('u:ann');
    assert.equal(history.streamCount, 1);
    const renewed = history.appendToOwn({ uid: 'ann', data: Buffer.from('a3') }, t0);
    assert.equal(renewed.seq, 1);
    assert.notEqual(renewed.epoch, a1.epoch, 'a removed stream starts a new incarnation');
    history.appendToOwn({ uid: 'bob', data: Buffer.from('b1') }, t0 + 1_500);
    assert.equal(history.streamCount, 1, 'idle user streams are swept too');
  });
});
