import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { applyMask } from '../../src/protocol/mask.js';
import { prng, randInt, randomBytes } from './harness.js';

/** The RFC 6455 §5.3 definition: octet i XOR key octet (i mod 4), key big-endian packed. */
function naiveMask(bytes: Uint8Array, mask: number): Uint8Array {
  const out = Uint8Array.from(bytes);
  for (let i = 0; i < out.length; i++) out[i] ^= (mask >>> (24 - 8 * (i % 4))) & 0xff;
  return out;
}

const MASKS = [0, 0xffffffff, 0x12345678, 0x80000001, 0x37fa213d];

/**
 * 0..200 as asked, plus lengths around the sizes where a word-at-a-time fast
 * path might start (32, 64, 128, 256, 512) and some well above, so the fast
 * path is exercised whatever its threshold.
 */
const LENGTHS = [...Array.from({ length: 201 }, (_, n) => n)];
for (const around of [256, 512, 1024]) for (let d = -5; d <= 7; d++) LENGTHS.push(around + d);
LENGTHS.push(4099, 65537);

describe('applyMask', () => {
  it('equals a naive byte loop for lengths 0..200 and beyond at byte offsets 0..7 of a larger buffer', () => {
    const rand = prng(42);
    const masks = [...MASKS, randInt(rand, 0x1_0000_0000)];
    for (const mask of masks) {
      for (let offset = 0; offset < 8; offset++) {
        for (const length of LENGTHS) {
          const backing = new ArrayBuffer(offset + length + 8);
          const all = new Uint8Array(backing);
          all.set(randomBytes(rand, all.length));
          const before = Uint8Array.from(all);
          const view = new Uint8Array(backing, offset, length);
          const expected = naiveMask(view, mask);
          applyMask(view, mask);
          const where = `mask ${mask.toString(16)}, offset ${offset}, length ${length}`;
          assert.deepEqual(view, expected, where);
          // Bytes outside the view are untouched, even with the 32-bit fast path.
          assert.deepEqual(all.subarray(0, offset), before.subarray(0, offset), `${where}: before the view`);
          assert.deepEqual(all.subarray(offset + length), before.subarray(offset + length), `${where}: after the view`);
        }
      }
    }
  });

  it('works on unaligned Buffer subarrays of a pooled allocation', () => {
    const rand = prng(7);
    for (let i = 0; i < 200; i++) {
      const pool = Buffer.from(randomBytes(rand, 1300));
      const start = randInt(rand, 50);
      const view = pool.subarray(start, start + randInt(rand, 1200));
      const mask = randInt(rand, 0x1_0000_0000);
      const expected = naiveMask(view, mask);
      applyMask(view, mask);
      assert.deepEqual(new Uint8Array(view), expected, `start ${start}, length ${view.length}`);
    }
  });

  it('is the identity when applied twice', () => {
    const rand = prng(9);
    for (const mask of MASKS) {
      for (let offset = 0; offset < 8; offset++) {
        for (const length of [0, 1, 3, 4, 31, 32, 33, 64, 127, 255, 256, 257, 1000, 4099]) {
          const all = randomBytes(rand, offset + length + 3);
          const view = all.subarray(offset, offset + length);
          const original = Buffer.from(view);
          applyMask(view, mask);
          applyMask(view, mask);
          assert.deepEqual(view, original, `mask ${mask.toString(16)}, offset ${offset}, length ${length}`);
        }
      }
    }
  });

  it('masks the RFC 6455 §5.7 "Hello" example', () => {
    const hello = Buffer.from('Hello');
    applyMask(hello, 0x37fa213d);
    assert.equal(hello.toString('hex'), '7f9f4d5158');
  });
});
