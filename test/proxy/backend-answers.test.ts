import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseConnectAnswer, parseSubscribeAnswer, truncateUtf8 } from '../../src/proxy/backend-answers.js';

const LATER = 4_102_444_800_000;

describe('parseSubscribeAnswer', () => {
  it('reads result and error', () => {
    assert.deepEqual(parseSubscribeAnswer({ result: {} }), { allowed: true });
    assert.deepEqual(parseSubscribeAnswer({ result: { expireAt: LATER } }), { allowed: true, expiresAt: LATER });
    assert.deepEqual(parseSubscribeAnswer({ result: { expireAt: 0 } }), { allowed: true });
    assert.deepEqual(parseSubscribeAnswer({ error: { code: 1, message: 'no' } }), { allowed: false, reason: 'refused by the backend: no' });
    assert.deepEqual(parseSubscribeAnswer({ error: {} }), { allowed: false, reason: 'refused by the backend' });
    assert.deepEqual(parseSubscribeAnswer({ result: {}, error: { message: 'no' } }), { allowed: false, reason: 'refused by the backend: no' });
  });

  it('throws on anything else, saying what', () => {
    const cases: [unknown, RegExp][] = [
      [null, /answer must be an object/],
      [[], /answer must be an object/],
      ['ok', /answer must be an object/],
      [{}, /result must be an object, got nothing/],
      [{ result: true }, /result must be an object/],
      [{ result: { expireAt: 1_700_000_000 } }, /epoch milliseconds/],
      [{ result: { expireAt: '2030' } }, /epoch milliseconds/],
      [{ error: 'no' }, /error must be an object/],
      [{ error: { message: 42 } }, /error.message must be a string/],
      [{ disconnect: { reason: 'x' } }, /result must be an object/],
    ];
    for (const [answer, message] of cases) assert.throws(() => parseSubscribeAnswer(answer), message, JSON.stringify(answer));
  });
});

describe('parseConnectAnswer', () => {
  it('reads uid, expiry and subscriptions, refusals by error or disconnect', () => {
    assert.deepEqual(parseConnectAnswer({ result: {} }), { allowed: true });
    assert.deepEqual(parseConnectAnswer({ result: { uid: '' } }), { allowed: true });
    assert.deepEqual(
      parseConnectAnswer({ result: { uid: 'u1', expireAt: LATER, subscriptions: [{ topic: 'a' }, { topic: 'b', private: true }] } }),
      { allowed: true, uid: 'u1', expiresAt: LATER, subscriptions: [{ topic: 'a', private: false }, { topic: 'b', private: true }] },
    );
    assert.deepEqual(parseConnectAnswer({ disconnect: { code: 4501, reason: 'banned' } }), {
      allowed: false,
      unavailable: false,
      reason: 'refused by the backend: banned',
    });
    assert.deepEqual(parseConnectAnswer({ error: { code: 401 } }), { allowed: false, unavailable: false, reason: 'refused by the backend' });
  });

  it('throws on a bad uid, bad subscriptions or a private one without a uid', () => {
    const cases: [unknown, RegExp][] = [
      [{ result: { uid: 7 } }, /result.uid: uid must be a string/],
      [{ result: { uid: 'a\nb' } }, /control characters/],
      [{ result: { subscriptions: {} } }, /must be an array/],
      [{ result: { subscriptions: [{ topic: '' }] } }, /\[0\].topic must be a non-empty string/],
      [{ result: { subscriptions: ['a'] } }, /\[0\] must be an object/],
      [{ result: { subscriptions: [{ topic: 'a', private: 'yes' }] } }, /private must be a boolean/],
      [{ result: { subscriptions: [{ topic: 'a', private: true }] } }, /needs result.uid/],
      [{ result: { uid: 'u', subscriptions: Array(1001).fill({ topic: 'a' }) } }, /more than 1000/],
    ];
    for (const [answer, message] of cases) assert.throws(() => parseConnectAnswer(answer), message, JSON.stringify(answer));
  });
});

describe('truncateUtf8', () => {
  it('cuts between code points within the byte budget', () => {
    assert.equal(truncateUtf8('short', 10), 'short');
    const cut = truncateUtf8('😀'.repeat(10), 10);
    assert.ok(Buffer.byteLength(cut) <= 10);
    assert.equal(cut, '😀…');
  });
});
