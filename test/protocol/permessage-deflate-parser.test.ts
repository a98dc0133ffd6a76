/**
 * FrameParser with `allowRsv1` (RFC 7692 §6): the Per-Message Compressed bit
 * on the first frame of a data message, and every place it must not be.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { FrameParser, type FrameParserHandler, type FrameParserOptions } from '../../src/protocol/frame-parser.js';
import { encodeClientFrame } from '../../src/protocol/frame-encoder.js';
import { OpCode } from '../../src/protocol/constants.js';
import { ProtocolError, ProtocolErrorCode as PE } from '../../src/protocol/errors.js';
import {
  compressMessage,
  inflateMessage,
  negotiatePerMessageDeflate,
  validateInflatedText,
} from '../../src/protocol/permessage-deflate.js';
import { FRAME_CASES, caseBytes, caseFrames } from '../helpers/frame-cases.js';
import {
  byteByByte,
  fuzzSeed,
  headerBoundaries,
  parseChunks,
  prng,
  randInt,
  randomBytes,
  randomCuts,
  splitAt,
  wholeChunk,
} from './harness.js';

const SEED = fuzzSeed();
const RSV1 = 0x40;
const RSV2 = 0x20;
const RSV3 = 0x10;
const HELLO = 'f248cdc9c90700'; // "Hello" compressed, RFC 7692 §7.2.3.1

type Event =
  | readonly ['text' | 'binary', string, boolean]
  | readonly ['ping' | 'pong', string]
  | readonly ['close', number, string]
  | readonly ['error', number, string];

/** Records every callback, including the `compressed` flag. */
class DeflateRecorder implements FrameParserHandler {
  readonly events: Event[] = [];
  onMessage(data: Buffer, isText: boolean, compressed: boolean): void {
    this.events.push([isText ? 'text' : 'binary', data.toString('hex'), compressed]);
  }
  onPing(payload: Buffer): void {
    this.events.push(['ping', payload.toString('hex')]);
  }
  onPong(payload: Buffer): void {
    this.events.push(['pong', payload.toString('hex')]);
  }
  onClose(code: number, reason: string): void {
    this.events.push(['close', code, reason]);
  }
  onProtocolError(error: ProtocolError): void {
    assert.ok(error instanceof ProtocolError);
    this.events.push(['error', error.closeCode, error.code]);
  }
}

function parse(chunks: readonly Buffer[], options: FrameParserOptions): Event[] {
  const recorder = new DeflateRecorder();
  const parser = new FrameParser(recorder, options);
  for (const chunk of chunks) parser.push(chunk);
  return recorder.events;
}

let nextMask = 0x37fa213d;
/** A masked client frame with extra RSV bits. */
function frame(opcode: number, payload: Buffer | string, rsv = 0, fin = true): Buffer {
  nextMask = (Math.imul(nextMask, 1103515245) + 12345) >>> 0;
  const out = encodeClientFrame(opcode as OpCode, typeof payload === 'string' ? Buffer.from(payload, 'hex') : payload, nextMask, fin);
  out[0] |= rsv;
  return out;
}

interface RsvCase {
  name: string;
  frames: Buffer[];
  events: Event[];
  options?: FrameParserOptions;
}

const ALLOW: FrameParserOptions = { allowRsv1: true };

const CASES: readonly RsvCase[] = [
  { name: 'a compressed text message', frames: [frame(OpCode.Text, HELLO, RSV1)], events: [['text', HELLO, true]] },
  { name: 'a compressed binary message', frames: [frame(OpCode.Binary, HELLO, RSV1)], events: [['binary', HELLO, true]] },
  { name: 'an uncompressed text message', frames: [frame(OpCode.Text, '48656c6c6f')], events: [['text', '48656c6c6f', false]] },
  { name: 'a compressed empty message', frames: [frame(OpCode.Text, '00', RSV1)], events: [['text', '00', true]] },
  {
    name: 'a compressed text message whose bytes are not UTF-8 (checked after inflation, not here)',
    frames: [frame(OpCode.Text, 'fffe80c0', RSV1)],
    events: [['text', 'fffe80c0', true]],
  },
  {
    name: 'a compressed text message in 2 fragments, RSV1 on the first only',
    frames: [frame(OpCode.Text, 'f248cd', RSV1, false), frame(OpCode.Continuation, 'c9c90700')],
    events: [['text', HELLO, true]],
  },
  {
    name: 'a compressed text message in 3 fragments whose pieces are not UTF-8',
    frames: [frame(OpCode.Text, 'ff', RSV1, false), frame(OpCode.Continuation, 'e2', 0, false), frame(OpCode.Continuation, 'c0')],
    events: [['text', 'ffe2c0', true]],
  },
  {
    name: 'a ping between the fragments of a compressed message',
    frames: [frame(OpCode.Binary, 'f248', RSV1, false), frame(OpCode.Ping, '70'), frame(OpCode.Continuation, 'cdc9c90700')],
    events: [['ping', '70'], ['binary', HELLO, true]],
  },
  {
    name: 'a compressed message, then an uncompressed one, then a compressed one',
    frames: [frame(OpCode.Text, HELLO, RSV1), frame(OpCode.Text, '6869'), frame(OpCode.Binary, HELLO, RSV1)],
    events: [['text', HELLO, true], ['text', '6869', false], ['binary', HELLO, true]],
  },
  {
    name: 'an uncompressed fragmented message, then a compressed one',
    frames: [frame(OpCode.Text, '68', 0, false), frame(OpCode.Continuation, '69'), frame(OpCode.Text, HELLO, RSV1)],
    events: [['text', '6869', false], ['text', HELLO, true]],
  },
  {
    name: 'a compressed message at maxMessageSize (the limit counts compressed bytes)',
    frames: [frame(OpCode.Text, HELLO, RSV1)],
    events: [['text', HELLO, true]],
    options: { allowRsv1: true, maxMessageSize: 7 },
  },
  // ── failures ──
  {
    name: 'an uncompressed text message is not UTF-8 (still checked)',
    frames: [frame(OpCode.Text, 'fffe')],
    events: [['error', 1007, PE.InvalidUtf8]],
  },
  {
    name: 'an uncompressed fragmented text message is not UTF-8',
    frames: [frame(OpCode.Text, '61', 0, false), frame(OpCode.Continuation, 'ff')],
    events: [['error', 1007, PE.InvalidUtf8]],
  },
  {
    name: 'a compressed message is over maxMessageSize',
    frames: [frame(OpCode.Text, HELLO, RSV1)],
    events: [['error', 1009, PE.MessageTooBig]],
    options: { allowRsv1: true, maxMessageSize: 6 },
  },
  {
    name: 'a continuation frame of a compressed message has RSV1',
    frames: [frame(OpCode.Text, 'f248cd', RSV1, false), frame(OpCode.Continuation, 'c9c90700', RSV1)],
    events: [['error', 1002, PE.UnexpectedRsv]],
  },
  {
    name: 'a continuation frame of an uncompressed message has RSV1',
    frames: [frame(OpCode.Text, '68', 0, false), frame(OpCode.Continuation, '69', RSV1)],
    events: [['error', 1002, PE.UnexpectedRsv]],
  },
  { name: 'a ping has RSV1', frames: [frame(OpCode.Ping, '70', RSV1)], events: [['error', 1002, PE.UnexpectedRsv]] },
  { name: 'a pong has RSV1', frames: [frame(OpCode.Pong, '70', RSV1)], events: [['error', 1002, PE.UnexpectedRsv]] },
  { name: 'a close frame has RSV1', frames: [frame(OpCode.Close, '03e8', RSV1)], events: [['error', 1002, PE.UnexpectedRsv]] },
  {
    name: 'a ping with RSV1 arrives between the fragments of a compressed message',
    frames: [frame(OpCode.Text, 'f248', RSV1, false), frame(OpCode.Ping, '', RSV1)],
    events: [['error', 1002, PE.UnexpectedRsv]],
  },
  { name: 'a frame has RSV2', frames: [frame(OpCode.Text, '61', RSV2)], events: [['error', 1002, PE.UnexpectedRsv]] },
  { name: 'a frame has RSV3', frames: [frame(OpCode.Binary, '61', RSV3)], events: [['error', 1002, PE.UnexpectedRsv]] },
  { name: 'a frame has RSV1 and RSV2', frames: [frame(OpCode.Text, HELLO, RSV1 | RSV2)], events: [['error', 1002, PE.UnexpectedRsv]] },
  { name: 'a frame has all three RSV bits', frames: [frame(OpCode.Text, HELLO, 0x70)], events: [['error', 1002, PE.UnexpectedRsv]] },
  { name: 'a reserved opcode has RSV1', frames: [frame(0x3, '61', RSV1)], events: [['error', 1002, PE.UnexpectedRsv]] },
  {
    name: 'a compressed frame is not masked',
    frames: [Buffer.from(`c107${HELLO}`, 'hex')],
    events: [['error', 1002, PE.UnmaskedFrame]],
  },
  {
    name: 'RSV1 is set but permessage-deflate was not negotiated',
    frames: [frame(OpCode.Text, HELLO, RSV1)],
    events: [['error', 1002, PE.UnexpectedRsv]],
    options: {},
  },
  {
    name: 'RSV1 is set and allowRsv1 is false',
    frames: [frame(OpCode.Binary, HELLO, RSV1)],
    events: [['error', 1002, PE.UnexpectedRsv]],
    options: { allowRsv1: false },
  },
];

describe('FrameParser with allowRsv1 (RFC 7692 §6)', () => {
  for (const c of CASES) {
    const last = c.events[c.events.length - 1];
    const title = last?.[0] === 'error' ? `closes with ${last[1]} (${last[2]}) when ${c.name}` : `parses ${c.name}`;
    it(title, () => {
      const options = c.options ?? ALLOW;
      const bytes = Buffer.concat(c.frames);
      assert.deepEqual(parse(wholeChunk(bytes), options), c.events, 'one chunk');
      assert.deepEqual(parse(byteByByte(bytes), options), c.events, 'byte by byte');
      const points = headerBoundaries(c.frames);
      assert.deepEqual(parse(splitAt(bytes, points), options), c.events, 'every header boundary');
      for (const point of points) assert.deepEqual(parse(splitAt(bytes, [point]), options), c.events, `cut at ${point}`);
    });
  }

  it('reads the server frames of RFC 7692 §7.2.3.1 on the client side, whole and fragmented', () => {
    const options = { allowRsv1: true, isServer: false };
    assert.deepEqual(parse([Buffer.from(`c107${HELLO}`, 'hex')], options), [['text', HELLO, true]]);
    const fragmented = Buffer.from('4103f248cd' + '8004c9c90700', 'hex');
    assert.deepEqual(parse(byteByByte(fragmented), options), [['text', HELLO, true]]);
  });

  it('reports every table case without RSV bits exactly as without allowRsv1', () => {
    let checked = 0;
    for (const c of FRAME_CASES) {
      if (caseFrames(c).some((f) => (f[0] & 0x70) !== 0)) continue;
      const plain = parseChunks(wholeChunk(caseBytes(c)), c.options).events;
      const allowed = parseChunks(wholeChunk(caseBytes(c)), { ...c.options, allowRsv1: true }).events;
      assert.deepEqual(allowed, plain, c.name);
      checked++;
    }
    assert.ok(checked > 80, `checked ${checked} cases`);
  });

  it('passes false as `compressed` when allowRsv1 is off', () => {
    assert.deepEqual(parse([frame(OpCode.Text, '6869')], {}), [['text', '6869', false]]);
  });
});

describe('parse, then inflate: the gateway receive path', () => {
  const params = negotiatePerMessageDeflate('permessage-deflate; client_max_window_bits', { enabled: true })!.params;

  /** What a gateway would deliver: inflated messages, or the first close code. */
  function receive(chunks: readonly Buffer[], maxSize: number): (string | number)[] {
    const out: (string | number)[] = [];
    const parser = new FrameParser(
      {
        onMessage(data, isText, compressed) {
          let message = data;
          if (compressed) {
            const inflated = inflateMessage(data, maxSize);
            const error = inflated instanceof ProtocolError ? inflated : isText ? validateInflatedText(inflated) : undefined;
            if (error !== undefined) {
              out.push(error.closeCode);
              return parser.stop();
            }
            message = inflated as Buffer;
          }
          out.push(message.toString('hex'));
        },
        onPing() {},
        onPong() {},
        onClose() {},
        onProtocolError(error) {
          out.push(error.closeCode);
        },
      },
      { allowRsv1: true, maxMessageSize: maxSize },
    );
    for (const chunk of chunks) parser.push(chunk);
    return out;
  }

  it('delivers compressed messages, whole and fragmented, split at random points', () => {
    const rand = prng(0x7692);
    for (let round = 0; round < 100; round++) {
      const payload = randInt(rand, 2) === 0 ? randomBytes(rand, randInt(rand, 3000)) : Buffer.alloc(randInt(rand, 70_000), 0x61);
      const compressed = compressMessage(payload, params);
      const cut = randInt(rand, compressed.length + 1);
      const frames =
        round % 2 === 0
          ? [frame(OpCode.Binary, compressed, RSV1)]
          : [frame(OpCode.Binary, compressed.subarray(0, cut), RSV1, false), frame(OpCode.Continuation, compressed.subarray(cut))];
      const bytes = Buffer.concat(frames);
      const chunks = splitAt(bytes, randomCuts(rand, bytes.length, 1 + randInt(rand, 8)));
      assert.deepEqual(receive(chunks, 1 << 20), [payload.toString('hex')], `round ${round}`);
    }
  });

  it('closes with 1007 when a compressed text message inflates to invalid UTF-8', () => {
    const bad = compressMessage(Buffer.from('6869ff', 'hex'), params);
    assert.deepEqual(receive([frame(OpCode.Text, bad, RSV1)], 1000), [1007]);
    const good = compressMessage(Buffer.from('hé'), params);
    assert.deepEqual(receive([frame(OpCode.Text, good, RSV1)], 1000), [Buffer.from('hé').toString('hex')]);
  });

  it('closes with 1009 when a small compressed message inflates past the limit', () => {
    const bomb = compressMessage(Buffer.alloc(100_000), params);
    assert.ok(bomb.length < 1000);
    assert.deepEqual(receive([frame(OpCode.Binary, bomb, RSV1)], 1000), [1009]);
  });

  it('closes with 1007 when the compressed data is corrupt', () => {
    assert.deepEqual(receive([frame(OpCode.Binary, Buffer.from('ff', 'hex'), RSV1)], 1000), [1007]);
  });
});

/**
 * Random frame sequences, structurally valid except for their RSV bits,
 * against a model of RFC 7692 §6 / §6.1. Rerun a failure with
 * `HERALD_FUZZ_SEED=<seed> node scripts/run-tests.mjs permessage-deflate-parser`.
 */
describe(`FrameParser with allowRsv1: RSV fuzz (seed ${SEED})`, () => {
  it('reports what the model expects, in one chunk, in random splits and byte by byte', () => {
    const rand = prng(SEED);
    const rsvChoices = [0, 0, 0, 0, 0, RSV1, RSV1, RSV1, RSV2, RSV3, RSV1 | RSV2, RSV1 | RSV3, 0x70];
    for (let iteration = 0; iteration < 500; iteration++) {
      const frames: Buffer[] = [];
      const expected: Event[] = [];
      let open: { kind: 'text' | 'binary'; hex: string; compressed: boolean } | null = null;
      let failed = false;
      const count = 1 + randInt(rand, 6);
      for (let i = 0; i < count && !failed; i++) {
        const rsv = rsvChoices[randInt(rand, rsvChoices.length)];
        const payload = Buffer.from(randomBytes(rand, randInt(rand, 40)).map((b) => 0x20 + (b % 0x5f)));
        const fin = randInt(rand, 3) > 0;
        const roll = randInt(rand, 4);
        if (roll === 0) {
          frames.push(frame(OpCode.Ping, payload, rsv));
          if (rsv !== 0) failed = true;
          else expected.push(['ping', payload.toString('hex')]);
        } else if (open === null) {
          const kind = roll === 1 ? 'text' : 'binary';
          frames.push(frame(kind === 'text' ? OpCode.Text : OpCode.Binary, payload, rsv, fin));
          if (rsv !== 0 && rsv !== RSV1) failed = true;
          else if (fin) expected.push([kind, payload.toString('hex'), rsv === RSV1]);
          else open = { kind, hex: payload.toString('hex'), compressed: rsv === RSV1 };
        } else {
          frames.push(frame(OpCode.Continuation, payload, rsv, fin));
          if (rsv !== 0) failed = true;
          else if (fin) {
            expected.push([open.kind, open.hex + payload.toString('hex'), open.compressed]);
            open = null;
          } else open.hex += payload.toString('hex');
        }
        if (failed) expected.push(['error', 1002, PE.UnexpectedRsv]);
      }
      const bytes = Buffer.concat(frames);
      const context = `seed ${SEED}, iteration ${iteration}, input ${bytes.toString('hex')}`;
      assert.deepEqual(parse(wholeChunk(bytes), ALLOW), expected, context);
      assert.deepEqual(parse(splitAt(bytes, randomCuts(rand, bytes.length, 1 + randInt(rand, 6))), ALLOW), expected, context);
      assert.deepEqual(parse(byteByByte(bytes), ALLOW), expected, context);
    }
  });
});
