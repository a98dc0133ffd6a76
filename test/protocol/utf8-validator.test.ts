import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { isUtf8 } from 'node:buffer';
import { Utf8Validator } from '../../src/protocol/utf8-validator.js';
import { prng, randInt, randomBytes } from './harness.js';

/** Feed `pieces` one by one; true when all are accepted and the message may end. */
function validatePieces(pieces: readonly Uint8Array[]): boolean {
  const v = new Utf8Validator();
  for (const piece of pieces) if (!v.write(piece)) return false;
  return v.complete;
}

const MULTILINGUAL = [
  '',
  'plain ASCII',
  'héllo wörld',
  'Ελληνικά',
  'Русский текст',
  '日本語のテキスト',
  '한국어',
  'עברית',
  'العربية',
  'हिन्दी',
  '😀🎉👩‍👩‍👧‍👦',
  '𝄞 musical, 𐍈 gothic',
  '\u0000\u007f\u0080\u07ff\u0800\uffff',
  '\u{10000}\u{10ffff}',
  '\ud7ff\ue000',
];

/** Byte strings near the edges of UTF-8: lead bytes, continuation bytes, boundaries of Table 3-7. */
function nearUtf8(rand: () => number, length: number): Buffer {
  const interesting = [
    0x00, 0x41, 0x7f, 0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf, 0xc0, 0xc1, 0xc2, 0xdf, 0xe0, 0xe1, 0xec, 0xed, 0xee,
    0xef, 0xf0, 0xf1, 0xf3, 0xf4, 0xf5, 0xfe, 0xff,
  ];
  const out = Buffer.allocUnsafe(length);
  for (let i = 0; i < length; i++) out[i] = interesting[randInt(rand, interesting.length)];
  return out;
}

/** Random inputs: raw bytes, near-UTF-8 bytes, valid text with a byte or two corrupted. */
function corpus(seed: number, count: number): Buffer[] {
  const rand = prng(seed);
  const out: Buffer[] = MULTILINGUAL.map((s) => Buffer.from(s));
  for (let i = 0; i < count; i++) {
    const kind = i % 3;
    if (kind === 0) out.push(randomBytes(rand, randInt(rand, 24)));
    else if (kind === 1) out.push(nearUtf8(rand, randInt(rand, 12)));
    else {
      const text = Buffer.from(MULTILINGUAL[randInt(rand, MULTILINGUAL.length)] + 'x');
      if (rand() < 0.7) text[randInt(rand, text.length)] = randInt(rand, 256);
      out.push(text);
    }
  }
  return out;
}

/**
 * Reference for fail-fast: the length of the longest prefix that can still be
 * completed into valid UTF-8 (at most 3 continuation bytes are missing, and
 * 0x80, 0x90 and 0xA0 between them fall into every allowed range).
 */
function validPrefixLength(bytes: Buffer): number {
  const completions: Buffer[] = [Buffer.alloc(0)];
  for (const a of [0x80, 0x90, 0xa0]) {
    completions.push(Buffer.from([a]));
    for (const b of [0x80, 0x90, 0xa0]) {
      completions.push(Buffer.from([a, b]));
      for (const c of [0x80, 0x90, 0xa0]) completions.push(Buffer.from([a, b, c]));
    }
  }
  const isPrefix = (p: Buffer) => completions.some((s) => isUtf8(Buffer.concat([p, s])));
  let n = 0;
  while (n < bytes.length && isPrefix(bytes.subarray(0, n + 1))) n++;
  return n;
}

describe('Utf8Validator', () => {
  it('agrees with Buffer.isUtf8 on whole inputs', () => {
    for (const input of corpus(1, 3000)) {
      assert.equal(validatePieces([input]), isUtf8(input), input.toString('hex'));
    }
  });

  it('accepts valid multilingual strings', () => {
    for (const s of MULTILINGUAL) assert.equal(validatePieces([Buffer.from(s)]), true, s);
  });

  it('agrees with isUtf8 of the whole for every split into 2 pieces', () => {
    for (const input of corpus(2, 600)) {
      const whole = isUtf8(input);
      for (let i = 0; i <= input.length; i++) {
        assert.equal(validatePieces([input.subarray(0, i), input.subarray(i)]), whole, `${input.toString('hex')} at ${i}`);
      }
    }
  });

  it('agrees with isUtf8 of the whole for every split into 3 pieces', () => {
    for (const input of corpus(3, 300)) {
      const whole = isUtf8(input);
      for (let i = 0; i <= input.length; i++) {
        for (let j = i; j <= input.length; j++) {
          const pieces = [input.subarray(0, i), input.subarray(i, j), input.subarray(j)];
          assert.equal(validatePieces(pieces), whole, `${input.toString('hex')} at ${i},${j}`);
        }
      }
    }
  });

  it('agrees with isUtf8 on longer inputs split at random points', () => {
    const rand = prng(4);
    for (let n = 0; n < 300; n++) {
      const text = Buffer.from(MULTILINGUAL.join('').repeat(1 + randInt(rand, 4)));
      if (rand() < 0.5) text[randInt(rand, text.length)] = randInt(rand, 256);
      const cuts = Array.from({ length: randInt(rand, 8) }, () => randInt(rand, text.length + 1)).sort((a, b) => a - b);
      const pieces = [0, ...cuts].map((start, k, all) => text.subarray(start, all[k + 1] ?? text.length));
      assert.equal(validatePieces(pieces), isUtf8(text), `cuts ${cuts.join(',')}`);
    }
  });

  it('fails fast: returns false on the piece holding the first impossible byte, true before it', () => {
    for (const input of corpus(5, 1500)) {
      const bad = validPrefixLength(input);
      for (let i = 0; i <= input.length; i++) {
        const v = new Utf8Validator();
        const first = v.write(input.subarray(0, i));
        const where = `${input.toString('hex')} split at ${i}, first bad byte at ${bad}`;
        if (bad < i) {
          assert.equal(first, false, where);
          continue;
        }
        assert.equal(first, true, where);
        assert.equal(v.write(input.subarray(i)), bad === input.length, where);
      }
    }
  });

  it('rejects 0xFF and a surrogate in the very first piece', () => {
    for (const hex of ['ff', '61ff', 'eda080', 'eda0', 'c0', 'f5', 'f490']) {
      assert.equal(new Utf8Validator().write(Buffer.from(hex, 'hex')), false, hex);
    }
  });

  it('is incomplete while a code point is open and complete once it closes', () => {
    const v = new Utf8Validator();
    assert.equal(v.write(Buffer.from('41f0', 'hex')), true);
    assert.equal(v.complete, false);
    assert.equal(v.write(Buffer.from('9f98', 'hex')), true);
    assert.equal(v.complete, false);
    assert.equal(v.write(Buffer.from('80', 'hex')), true);
    assert.equal(v.complete, true);
  });

  it('forgets a partial code point on reset()', () => {
    const v = new Utf8Validator();
    v.write(Buffer.from('e2', 'hex'));
    v.reset();
    assert.equal(v.complete, true);
    assert.equal(v.write(Buffer.from('41', 'hex')), true);
    assert.equal(v.complete, true);
  });

  it('accepts an empty piece in any state', () => {
    const v = new Utf8Validator();
    assert.equal(v.write(Buffer.alloc(0)), true);
    v.write(Buffer.from('e2', 'hex'));
    assert.equal(v.write(Buffer.alloc(0)), true);
    assert.equal(v.complete, false);
  });
});
