import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { FrameParser } from '../../src/protocol/frame-parser.js';
import { encodeClientFrame, encodeFrame } from '../../src/protocol/frame-encoder.js';
import { OpCode } from '../../src/protocol/constants.js';
import { ProtocolErrorCode } from '../../src/protocol/errors.js';
import {
  FRAME_CASES,
  caseBytes,
  caseEndsParsing,
  caseFrames,
  expectedEvents,
  type FrameCase,
} from '../helpers/frame-cases.js';
import {
  Recorder,
  byteByByte,
  headerBoundaries,
  parseChunks,
  prng,
  randomCuts,
  splitAt,
  wholeChunk,
} from './harness.js';

function title(c: FrameCase): string {
  return c.error === undefined ? `parses ${c.name}` : `closes with ${c.error.closeCode} (${c.error.code}) when ${c.name}`;
}

/** A valid masked text frame, pushed after a case to show that nothing more is reported. */
const TRAILING_FRAME = encodeClientFrame(OpCode.Text, 'more', 0x01020304);

describe('FrameParser: the frame table', () => {
  FRAME_CASES.forEach((c, index) => {
    describe(title(c), () => {
      const expected = expectedEvents(c);

      it('in one chunk', () => {
        assert.deepEqual(parseChunks(wholeChunk(caseBytes(c)), c.options).events, expected);
      });

      it('byte by byte', () => {
        assert.deepEqual(parseChunks(byteByByte(caseBytes(c)), c.options).events, expected);
      });

      it('split at every header boundary of every frame, all at once and one at a time', () => {
        const points = headerBoundaries(caseFrames(c));
        assert.deepEqual(parseChunks(splitAt(caseBytes(c), points), c.options).events, expected, 'all boundaries');
        for (const point of points) {
          assert.deepEqual(parseChunks(splitAt(caseBytes(c), [point]), c.options).events, expected, `cut at ${point}`);
        }
      });

      it('split at seeded random points', () => {
        const rand = prng(0x5eed + index);
        const length = caseBytes(c).length;
        for (const count of [1, 2, 5, 17]) {
          const points = randomCuts(rand, length, count);
          assert.deepEqual(parseChunks(splitAt(caseBytes(c), points), c.options).events, expected, `cuts ${points.join(',')}`);
        }
      });

      if (caseEndsParsing(c)) {
        it(`reports nothing after the ${c.error === undefined ? 'close frame' : 'protocol error'}`, () => {
          const { events, parser } = parseChunks(wholeChunk(caseBytes(c)), c.options);
          assert.equal(parser.stopped, true);
          assert.equal(parser.bufferedBytes, 0);
          parser.push(Buffer.from(TRAILING_FRAME));
          parser.push(caseBytes(c));
          assert.deepEqual(events, expected);
        });
      } else {
        it('keeps parsing the frames that follow', () => {
          const { events, parser } = parseChunks(wholeChunk(caseBytes(c)), c.options);
          assert.equal(parser.stopped, false);
          assert.equal(parser.bufferedBytes, 0);
          parser.push(Buffer.from(TRAILING_FRAME));
          assert.deepEqual(events, [...expected, ['text', Buffer.from('more').toString('hex')]]);
        });
      }
    });
  });
});

describe('FrameParser: the message size limit', () => {
  const MiB = 1024 * 1024;

  it('closes with 1009 from the header of a frame claiming 10 MB, with no payload sent', () => {
    const header = Buffer.from('82ff0000000000a00000', 'hex'); // binary, masked, 64-bit length 10,485,760
    const { events, parser } = parseChunks([header], { maxMessageSize: MiB });
    assert.deepEqual(events, [['error', 1009, ProtocolErrorCode.MessageTooBig]]);
    assert.equal(parser.stopped, true);
    assert.equal(parser.bufferedBytes, 0);
  });

  it('closes with 1009 from a 16-bit length before the masking key arrives', () => {
    const { events, parser } = parseChunks([Buffer.from('81fe00c8', 'hex')], { maxMessageSize: 199 });
    assert.deepEqual(events, [['error', 1009, ProtocolErrorCode.MessageTooBig]]);
    assert.equal(parser.bufferedBytes, 0);
  });

  it('closes with 1009 from the header of the fragment that would cross the limit', () => {
    const first = encodeClientFrame(OpCode.Binary, Buffer.alloc(600, 1), 0x11223344, false);
    const second = encodeClientFrame(OpCode.Continuation, Buffer.alloc(600, 2), 0x55667788);
    const { events, parser } = parseChunks([first, second.subarray(0, 4)], { maxMessageSize: 1000 });
    assert.deepEqual(events, [['error', 1009, ProtocolErrorCode.MessageTooBig]]);
    assert.equal(parser.bufferedBytes, 0);
  });

  it('buffers a frame under the limit until its payload is complete', () => {
    const frame = encodeClientFrame(OpCode.Binary, Buffer.alloc(1000, 9), 0xa0b0c0d0);
    const { events, parser } = parseChunks([frame.subarray(0, 508)], { maxMessageSize: 1000 });
    assert.deepEqual(events, []);
    assert.equal(parser.bufferedBytes, 500);
    parser.push(frame.subarray(508));
    assert.deepEqual(events, [['binary', Buffer.alloc(1000, 9).toString('hex')]]);
    assert.equal(parser.bufferedBytes, 0);
  });

  it('accepts an empty message and rejects a 1-byte one when maxMessageSize is 0', () => {
    const empty = parseChunks([encodeClientFrame(OpCode.Text, '', 1)], { maxMessageSize: 0 });
    assert.deepEqual(empty.events, [['text', '']]);
    const one = parseChunks([encodeClientFrame(OpCode.Text, 'x', 1)], { maxMessageSize: 0 });
    assert.deepEqual(one.events, [['error', 1009, ProtocolErrorCode.MessageTooBig]]);
  });

  it('does not count control frames against the limit', () => {
    const ping = encodeClientFrame(OpCode.Ping, Buffer.alloc(125, 0x70), 0x01010101);
    const { events } = parseChunks([ping], { maxMessageSize: 4 });
    assert.deepEqual(events, [['ping', Buffer.alloc(125, 0x70).toString('hex')]]);
  });

  it('starts counting afresh for the message after a fragmented one', () => {
    const frames = [
      encodeClientFrame(OpCode.Text, 'abc', 1, false),
      encodeClientFrame(OpCode.Continuation, 'de', 2),
      encodeClientFrame(OpCode.Text, 'fghij', 3),
    ];
    const { events } = parseChunks(frames, { maxMessageSize: 5 });
    assert.deepEqual(events, [
      ['text', Buffer.from('abcde').toString('hex')],
      ['text', Buffer.from('fghij').toString('hex')],
    ]);
  });

  it('throws RangeError for a negative maxMessageSize', () => {
    assert.throws(() => new FrameParser(new Recorder(), { maxMessageSize: -1 }), RangeError);
    assert.throws(() => new FrameParser(new Recorder(), { maxMessageSize: Number.NaN }), RangeError);
  });
});

describe('FrameParser: fail-fast UTF-8', () => {
  for (const [label, hex] of [
    ['0xFF', '41ff'],
    ['a surrogate ed a0 80', 'eda080'],
    ['an overlong lead byte 0xC0', 'c0'],
  ] as const) {
    it(`closes with 1007 as soon as a first fragment holding ${label} arrives, before the final fragment`, () => {
      const first = encodeClientFrame(OpCode.Text, Buffer.from(hex, 'hex'), 0x9abcdef0, false);
      const { events, parser } = parseChunks([first]);
      assert.deepEqual(events, [['error', 1007, ProtocolErrorCode.InvalidUtf8]]);
      parser.push(encodeClientFrame(OpCode.Continuation, 'end', 0x11111111));
      assert.equal(events.length, 1);
    });
  }

  it('does not report a valid first fragment that ends mid-code-point', () => {
    const first = encodeClientFrame(OpCode.Text, Buffer.from('41f09f', 'hex'), 0x12121212, false);
    const { events, parser } = parseChunks([first]);
    assert.deepEqual(events, []);
    parser.push(encodeClientFrame(OpCode.Continuation, Buffer.from('9880', 'hex'), 0x34343434));
    assert.deepEqual(events, [['text', '41f09f9880']]);
  });
});

describe('FrameParser: handler interaction', () => {
  it('stops at once when a handler calls stop() and ignores the rest of the chunk', () => {
    const recorder = new Recorder();
    const parser = new FrameParser({
      onMessage: (data, isText) => {
        recorder.onMessage(data, isText);
        parser.stop();
      },
      onPing: (p) => recorder.onPing(p),
      onPong: (p) => recorder.onPong(p),
      onClose: (code, reason) => recorder.onClose(code, reason),
      onProtocolError: (e) => recorder.onProtocolError(e),
    });
    parser.push(Buffer.concat([encodeClientFrame(OpCode.Text, 'a', 1), encodeClientFrame(OpCode.Ping, 'b', 2)]));
    assert.deepEqual(recorder.events, [['text', '61']]);
    assert.equal(parser.stopped, true);
  });

  it('ignores empty chunks', () => {
    const { events, parser } = parseChunks([Buffer.alloc(0), Buffer.from('81', 'hex'), Buffer.alloc(0)]);
    assert.deepEqual(events, []);
    assert.equal(parser.bufferedBytes, 1);
  });

  it('delivers a 256 KiB message pushed one byte at a time', () => {
    // Regression guard: dropping consumed chunks one shift() at a time made this quadratic (minutes, not ms).
    const payload = Buffer.alloc(256 * 1024, 0x5a);
    const { recorder } = parseChunks(byteByByte(encodeClientFrame(OpCode.Binary, payload, 0x7e7e7e7e)));
    assert.deepEqual(recorder.messageSizes, [payload.length]);
    assert.equal(recorder.events[0][1], payload.toString('hex'));
  });

  it('hands out payloads unmasked even when the frame spans many chunks', () => {
    const payload = Buffer.from('spanning several chunks, unmasked at the right key offset');
    const frame = encodeClientFrame(OpCode.Binary, payload, 0xf00dbabe);
    const { events } = parseChunks(splitAt(frame, [3, 7, 8, 9, 20, 21, 40]));
    assert.deepEqual(events, [['binary', payload.toString('hex')]]);
  });
});

describe('FrameParser: memory a trickling peer controls', () => {
  const LIMIT = 64 * 1024;

  it('a 64 KiB frame pushed one byte per read is held in one buffer no larger than about the frame', () => {
    const payload = Buffer.alloc(LIMIT, 0x5a);
    const frame = encodeClientFrame(OpCode.Binary, payload, 0x7e7e7e7e);
    const recorder = new Recorder();
    const parser = new FrameParser(recorder, { maxMessageSize: LIMIT });
    let most = 0;
    for (let i = 0; i < frame.length; i++) {
      // A fresh Buffer per read, as a socket hands them out.
      parser.push(Buffer.from([frame[i]]));
      const { buffers, bytes } = parser.retained;
      assert.ok(buffers <= 1, `after byte ${i}: ${buffers} buffers held`);
      most = Math.max(most, bytes);
    }
    assert.ok(most <= frame.length, `held up to ${most} bytes for a ${frame.length}-byte frame`);
    assert.deepEqual(recorder.messageSizes, [LIMIT]);
    assert.equal(recorder.events[0][1], payload.toString('hex'));
    assert.deepEqual(parser.retained, { buffers: 0, bytes: 0 });
  });

  it('a 64 KiB text message in 1-byte fragments, each pushed a byte at a time, is held in at most two buffers of about the message', () => {
    // Multi-byte code points split across fragments: still validated as they arrive.
    const text = 'aé€😀'.repeat(LIMIT / 10).slice(0, 20_000);
    const payload = Buffer.from(text, 'utf8');
    assert.ok(payload.length <= LIMIT);
    const recorder = new Recorder();
    const parser = new FrameParser(recorder, { maxMessageSize: LIMIT });
    let most = 0;
    for (let i = 0; i < payload.length; i++) {
      const opcode = i === 0 ? OpCode.Text : OpCode.Continuation;
      const frame = encodeClientFrame(opcode, payload.subarray(i, i + 1), 0x01020304 + i, i === payload.length - 1);
      for (const byte of frame) {
        parser.push(Buffer.from([byte]));
        const { buffers, bytes } = parser.retained;
        assert.ok(buffers <= 2, `fragment ${i}: ${buffers} buffers held`);
        most = Math.max(most, bytes);
      }
    }
    assert.ok(most <= 2 * payload.length + 2 * 256, `held up to ${most} bytes for a ${payload.length}-byte message`);
    assert.deepEqual(recorder.events, [['text', payload.toString('hex')]]);
    assert.deepEqual(parser.retained, { buffers: 0, bytes: 0 });
  });

  it('payloads handed out as views are never overwritten by later input (the accumulator is not compacted in place)', () => {
    const kept: Buffer[] = [];
    const parser = new FrameParser({
      onMessage: (data) => kept.push(data), // a view, deliberately not copied
      onPing() {},
      onPong() {},
      onClose() {},
      onProtocolError: (error) => assert.fail(error.message),
    });
    const payloads = Array.from({ length: 40 }, (_, i) => Buffer.alloc(1 + ((i * 37) % 300), 0x41 + (i % 26)));
    const stream = Buffer.concat(payloads.map((p, i) => encodeClientFrame(OpCode.Binary, p, 0x11111111 * (i % 15 + 1))));
    // Cuts that leave a partial frame behind almost every time.
    for (let at = 0; at < stream.length; ) {
      const size = 1 + ((at * 7) % 97);
      parser.push(Buffer.from(stream.subarray(at, at + size)));
      at += size;
    }
    assert.equal(kept.length, payloads.length);
    kept.forEach((view, i) => assert.ok(view.equals(payloads[i]), `message ${i} changed after delivery`));
  });
});

describe('FrameParser: client side (isServer: false)', () => {
  it('parses unmasked server frames', () => {
    const frames = [encodeFrame(OpCode.Text, 'hi'), encodeFrame(OpCode.Pong, 'p'), encodeFrame(OpCode.Close, Buffer.from('03e8', 'hex'))];
    const { events } = parseChunks(frames, { isServer: false });
    assert.deepEqual(events, [['text', '6869'], ['pong', '70'], ['close', 1000, '']]);
  });

  it('closes with 1002 when a server frame is masked', () => {
    const { events } = parseChunks([encodeClientFrame(OpCode.Text, 'hi', 0x01020304)], { isServer: false });
    assert.deepEqual(events, [['error', 1002, ProtocolErrorCode.UnmaskedFrame]]);
  });
});
