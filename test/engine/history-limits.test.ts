/**
 * Per-topic history limits (a namespace's historySize / historyTtl) in
 * StreamHistory, the memory engine's store: a topic's streams, public and
 * private, keep their namespace's window and TTL; others the defaults.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { StreamHistory } from '../../src/engine/stream-history.js';
import { streamOf, topicOfStream } from '../../src/streams.js';

const historyFor = (topic: string) =>
  topic.startsWith('short:') ? { historySize: 2, historyTtlMs: 1_000 } : topic.startsWith('size:') ? { historySize: 1 } : undefined;

function publish(history: StreamHistory, target: { uid?: string; topic?: string }, count: number, now: number): void {
  for (let i = 1; i <= count; i++) history.append(streamOf(target), { ...target, data: Buffer.from(`m${i}`) }, now);
}

describe('StreamHistory: limits per topic', () => {
  it('reads the topic back from stream keys', () => {
    assert.equal(topicOfStream(streamOf({ topic: 'a:b' })), 'a:b');
    assert.equal(topicOfStream(streamOf({ uid: 'u:1', topic: 'x:y' })), 'x:y');
    assert.equal(topicOfStream(streamOf({ uid: 'u' })), undefined);
    assert.equal(topicOfStream(streamOf({})), undefined);
  });

  it('keeps a namespace’s window for its public and private streams, the default for others', () => {
    const history = new StreamHistory({ size: 10, ttlMs: 60_000, historyFor });
    const now = 1_000_000;
    for (const target of [{ topic: 'short:1' }, { uid: 'alice', topic: 'short:1' }, { topic: 'plain' }, { topic: 'size:1' }]) {
      publish(history, target, 5, now);
    }
    const epochOf = (stream: string) => history.history(stream, undefined, now).position.epoch;
    const window = (stream: string) => {
      const result = history.history(stream, { seq: 0, epoch: epochOf(stream) }, now, 100);
      return result.recovered ? result.publications.length : 'lost';
    };
    const from = (stream: string, seq: number) => history.history(stream, { seq, epoch: epochOf(stream) }, now);
    assert.equal(window(streamOf({ topic: 'plain' })), 5);
    assert.equal(from(streamOf({ topic: 'short:1' }), 2).recovered, false);
    assert.deepEqual(
      (from(streamOf({ topic: 'short:1' }), 3) as { publications: { data: Buffer }[] }).publications.map((p) => p.data.toString()),
      ['m4', 'm5'],
    );
    assert.equal(from(streamOf({ uid: 'alice', topic: 'short:1' }), 2).recovered, false, 'the private stream too');
    assert.equal(from(streamOf({ uid: 'alice', topic: 'short:1' }), 3).recovered, true);
    assert.equal(from(streamOf({ topic: 'size:1' }), 3).recovered, false, 'historySize only: 1 kept');
    assert.equal(from(streamOf({ topic: 'size:1' }), 4).recovered, true);
  });

  it('forgets a namespace’s idle stream after its own TTL, others after the default', () => {
    const history = new StreamHistory({ size: 10, ttlMs: 60_000, historyFor });
    const start = 5_000_000;
    publish(history, { topic: 'short:ttl' }, 3, start);
    publish(history, { topic: 'plain' }, 3, start);
    const before = history.history('t:short:ttl', undefined, start).position.epoch;
    // A publication elsewhere 2 s later sweeps: the 1 s stream is gone, the 60 s one stays.
    publish(history, { topic: 'other' }, 1, start + 2_000);
    const after = history.history('t:short:ttl', undefined, start + 2_000).position;
    assert.equal(after.seq, 0);
    assert.notEqual(after.epoch, before, 'a new incarnation');
    assert.equal(history.history('t:plain', undefined, start + 2_000).position.seq, 3);
  });
});
