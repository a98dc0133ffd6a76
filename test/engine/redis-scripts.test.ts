import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseMessage } from '../../src/engine/redis-scripts.js';

const frame = (header: string, ...rest: Buffer[]): Buffer => Buffer.concat([Buffer.from(`${header}\n`, 'latin1'), ...rest]);

describe('parseMessage (RedisEngine channel framing)', () => {
  it('reads seq, epoch, uid, topic and the raw data after the header line', () => {
    const uid = Buffer.from('ü');
    const topic = Buffer.from('a b');
    const data = Buffer.from([0, 10, 255]);
    assert.deepEqual(parseMessage(frame(`h1 42 Ep-_9 ${uid.length} ${topic.length}`, uid, topic, data)), {
      seq: 42,
      epoch: 'Ep-_9',
      uid: 'ü',
      topic: 'a b',
      data,
    });
  });

  it('tells an absent uid or topic (-) from an empty one (0)', () => {
    const parsed = parseMessage(frame('h1 1 e - 0'));
    assert.equal(parsed?.uid, undefined);
    assert.equal(parsed?.topic, '');
    assert.equal(parsed?.data.length, 0);
  });

  it('rejects frames that are not ours or are cut short', () => {
    for (const bad of [
      Buffer.from('no header line'),
      frame('h2 1 e - -'),
      frame('h1 1 e -'),
      frame('h1 x e - -'),
      frame('h1 1 e -2 -'),
      frame('h1 1 e 5 -', Buffer.from('abc')),
      Buffer.concat([Buffer.from(`h1 1 ${'e'.repeat(200)} - -\n`)]),
    ]) {
      assert.equal(parseMessage(bad), undefined, bad.toString('latin1'));
    }
  });
});
