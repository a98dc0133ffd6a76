import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { isUtf8 } from 'node:buffer';
import {
  encodeClientFrame,
  encodeCloseFrame,
  encodeFrame,
  frameHeaderSize,
  truncateCloseReason,
  writeFrameHeaderInto,
} from '../../src/protocol/frame-encoder.js';
import { OpCode } from '../../src/protocol/constants.js';
import { FRAME_CASES, caseFrames } from '../helpers/frame-cases.js';
import { byteByByte, decodeFrame, parseChunks, prng, randInt, randomBytes, randomCuts, splitAt, wholeChunk } from './harness.js';

/** The server (unmasked) form of a decoded client frame: mask bit cleared, key removed, payload unmasked. */
function serverForm(clientFrame: Buffer): Buffer {
  const d = decodeFrame(clientFrame);
  const header = Buffer.from(clientFrame.subarray(0, d.headerLength - 4));
  header[1] &= 0x7f;
  return Buffer.concat([header, d.payload]);
}

describe('encodeClientFrame and encodeFrame against the frame table', () => {
  it('reproduces every masked, well-formed frame of the table with encodeClientFrame', () => {
    let checked = 0;
    for (const c of FRAME_CASES) {
      for (const frame of caseFrames(c)) {
        const d = decodeFrame(frame);
        if (!d.masked || d.rsv !== 0 || !d.minimalLength || d.payload.length !== d.declaredLength) continue;
        const encoded = encodeClientFrame(d.opcode as OpCode, d.payload, d.key, d.fin);
        assert.equal(encoded.toString('hex'), frame.toString('hex'), `${c.name}: frame ${frame.subarray(0, 2).toString('hex')}`);
        checked++;
      }
    }
    assert.ok(checked > 100, `checked ${checked} frames`);
  });

  for (const c of FRAME_CASES.filter((x) => x.error === undefined)) {
    it(`encodes the server frames of ${c.name}`, () => {
      for (const frame of caseFrames(c)) {
        const d = decodeFrame(frame);
        const expected = serverForm(frame).toString('hex');
        assert.equal(encodeFrame(d.opcode as OpCode, d.payload, d.fin).toString('hex'), expected);
        if (d.opcode === OpCode.Text || d.opcode === OpCode.Ping || d.opcode === OpCode.Pong) {
          if (isUtf8(d.payload)) {
            assert.equal(encodeFrame(d.opcode, d.payload.toString('utf8'), d.fin).toString('hex'), expected, 'string payload');
          }
        }
      }
    });
  }

  it('encodes server frames that a client-side parser reads back as the table events', () => {
    for (const c of FRAME_CASES.filter((x) => x.error === undefined)) {
      const clientSide = caseFrames(c).map(serverForm);
      const viaClient = parseChunks(wholeChunk(Buffer.concat(caseFrames(c))), c.options).events;
      assert.deepEqual(parseChunks(clientSide, { ...c.options, isServer: false }).events, viaClient, c.name);
    }
  });
});

describe('frame length encodings', () => {
  const boundaries: Array<[number, string]> = [
    [0, '8200'],
    [125, '827d'],
    [126, '827e007e'],
    [65535, '827effff'],
    [65536, '827f0000000000010000'],
  ];
  for (const [length, header] of boundaries) {
    it(`uses a ${header.length / 2}-byte header for a ${length}-byte payload`, () => {
      assert.equal(frameHeaderSize(length), header.length / 2);
      const frame = encodeFrame(OpCode.Binary, Buffer.alloc(length, 0xab));
      assert.equal(frame.length, length + header.length / 2);
      assert.equal(frame.subarray(0, header.length / 2).toString('hex'), header);
      assert.ok(frame.subarray(header.length / 2).every((b) => b === 0xab));
    });
  }

  it('adds 4 bytes of masking key to client frame headers', () => {
    for (const [length, header] of boundaries) {
      const frame = encodeClientFrame(OpCode.Binary, Buffer.alloc(length), 0x01020304);
      assert.equal(frame.length, length + header.length / 2 + 4);
      assert.equal(frame[1] & 0x80, 0x80);
    }
  });

  it('writes 64-bit lengths above 2^32 with the high word first', () => {
    const target = Buffer.alloc(13, 0xee);
    assert.equal(writeFrameHeaderInto(target, 3, OpCode.Binary, 2 ** 32 + 5), 10);
    assert.equal(target.toString('hex'), 'eeeeee827f0000000100000005');
    assert.equal(writeFrameHeaderInto(target, 0, OpCode.Text, Number.MAX_SAFE_INTEGER, false), 10);
    assert.equal(target.subarray(0, 10).toString('hex'), '017f001fffffffffffff');
  });

  it('writes FIN=0 and the opcode for continuation and fragment frames', () => {
    assert.equal(encodeFrame(OpCode.Text, 'ab', false).toString('hex'), '01026162');
    assert.equal(encodeFrame(OpCode.Continuation, 'c').toString('hex'), '800163');
  });

  it('encodes string payloads by UTF-8 byte length', () => {
    const text = 'é'.repeat(63); // 126 bytes: needs the 16-bit length
    const frame = encodeFrame(OpCode.Text, text);
    assert.equal(frame.subarray(0, 4).toString('hex'), '817e007e');
    assert.equal(frame.subarray(4).toString('utf8'), text);
  });
});

describe('control frame limits', () => {
  for (const opcode of [OpCode.Ping, OpCode.Pong, OpCode.Close]) {
    it(`throws RangeError for a 126-byte payload in opcode 0x${opcode.toString(16)}, accepts 125`, () => {
      assert.throws(() => encodeFrame(opcode, Buffer.alloc(126)), RangeError);
      assert.throws(() => encodeFrame(opcode, 'é'.repeat(63)), RangeError);
      assert.equal(encodeFrame(opcode, Buffer.alloc(125)).length, 127);
    });
  }

  it('lets data frames exceed 125 bytes', () => {
    assert.equal(encodeFrame(OpCode.Text, 'x'.repeat(200)).length, 204);
  });
});

describe('encodeCloseFrame', () => {
  it('encodes a close frame with no payload when no code is given', () => {
    assert.equal(encodeCloseFrame().toString('hex'), '8800');
  });

  it('encodes a code and a UTF-8 reason', () => {
    assert.equal(encodeCloseFrame(1000).toString('hex'), '880203e8');
    assert.equal(encodeCloseFrame(4000, 'ñ').toString('hex'), '88040fa0c3b1');
  });

  for (const code of [1005, 1006, 1015, 0, 999, 1004, 2999, 5000]) {
    it(`throws RangeError for close code ${code}, which may not be sent`, () => {
      assert.throws(() => encodeCloseFrame(code), RangeError);
    });
  }

  it('throws RangeError for a reason over 123 UTF-8 bytes and accepts 123', () => {
    assert.equal(encodeCloseFrame(1000, 'a'.repeat(123)).length, 127);
    assert.throws(() => encodeCloseFrame(1000, 'a'.repeat(124)), RangeError);
    assert.throws(() => encodeCloseFrame(1000, 'é'.repeat(62)), RangeError); // 124 bytes, 62 characters
  });

  it('throws RangeError for a reason without a code', () => {
    assert.throws(() => encodeCloseFrame(undefined, 'why'), RangeError);
  });

  it('round-trips every sendable code through a client-side parser', () => {
    for (const code of [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 4999]) {
      const { events } = parseChunks([encodeCloseFrame(code, 'r')], { isServer: false });
      assert.deepEqual(events, [['close', code, 'r']]);
    }
  });
});

describe('truncateCloseReason', () => {
  it('returns reasons of up to 123 bytes unchanged', () => {
    assert.equal(truncateCloseReason(''), '');
    assert.equal(truncateCloseReason('a'.repeat(123)), 'a'.repeat(123));
  });

  it('cuts ASCII at 123 bytes', () => {
    assert.equal(truncateCloseReason('a'.repeat(200)), 'a'.repeat(123));
  });

  it('never splits a multi-byte code point', () => {
    assert.equal(truncateCloseReason('€'.repeat(50)), '€'.repeat(41)); // 123 bytes
    assert.equal(truncateCloseReason('a' + '€'.repeat(50)), 'a' + '€'.repeat(40)); // 121: a 41st € would make 124
    assert.equal(truncateCloseReason('😀'.repeat(40)), '😀'.repeat(30)); // 120: surrogate pairs stay whole
    assert.equal(truncateCloseReason('ab' + 'é'.repeat(70)), 'ab' + 'é'.repeat(60)); // 122
  });

  it('gives the longest whole-code-point prefix of at most 123 bytes for random strings', () => {
    const alphabet = ['a', 'Z', ' ', 'é', 'ß', '€', '日', '😀', '𝄞', '\u0000'];
    const rand = prng(123);
    for (let i = 0; i < 300; i++) {
      const chars = Array.from({ length: randInt(rand, 140) }, () => alphabet[randInt(rand, alphabet.length)]);
      const reason = chars.join('');
      const out = truncateCloseReason(reason);
      const bytes = Buffer.byteLength(out);
      assert.ok(bytes <= 123, `${bytes} bytes`);
      assert.ok(reason.startsWith(out));
      assert.equal(Buffer.from(out, 'utf8').toString('utf8'), out, 'no lone surrogate');
      const used = Array.from(out).length;
      if (used < chars.length) assert.ok(bytes + Buffer.byteLength(chars[used]) > 123, 'the next code point would not fit');
      assert.doesNotThrow(() => encodeCloseFrame(1000, out));
    }
  });
});

describe('encodeClientFrame → FrameParser round trip', () => {
  const rand = prng(0xc0ffee);
  const sizes = [0, 1, 2, 3, 4, 5, 31, 32, 33, 125, 126, 127, 65535, 65536, 65537];
  for (let i = 0; i < 20; i++) sizes.push(randInt(rand, 2 ** randInt(rand, 17)));

  for (const size of sizes) {
    it(`yields the same ${size}-byte binary payload whole, split and byte by byte`, () => {
      const payload = randomBytes(rand, size);
      const mask = randInt(rand, 0x1_0000_0000);
      const frame = encodeClientFrame(OpCode.Binary, payload, mask);
      const expected = [['binary', payload.toString('hex')]];
      assert.deepEqual(parseChunks(wholeChunk(frame)).events, expected);
      assert.deepEqual(parseChunks(splitAt(frame, randomCuts(rand, frame.length, 4))).events, expected);
      if (size <= 4096) assert.deepEqual(parseChunks(byteByByte(frame)).events, expected);
    });
  }

  it('yields the same text for random strings sent in random fragments', () => {
    const alphabet = 'aé€😀 \n';
    for (let i = 0; i < 200; i++) {
      const text = Array.from({ length: randInt(rand, 300) }, () => Array.from(alphabet)[randInt(rand, 6)]).join('');
      const bytes = Buffer.from(text);
      const cuts = randomCuts(rand, bytes.length, randInt(rand, 4)).sort((a, b) => a - b);
      const pieces = splitAt(bytes, cuts);
      const frames = pieces.map((piece, k) =>
        encodeClientFrame(k === 0 ? OpCode.Text : OpCode.Continuation, piece, randInt(rand, 0x1_0000_0000), k === pieces.length - 1),
      );
      const { events } = parseChunks(splitAt(Buffer.concat(frames), randomCuts(rand, 400, 3)));
      assert.deepEqual(events, [['text', bytes.toString('hex')]], `cuts ${cuts.join(',')}`);
    }
  });
});
