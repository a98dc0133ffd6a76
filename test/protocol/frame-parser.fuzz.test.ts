/**
 * Fuzz target for FrameParser: random byte strings, random (mostly plausible)
 * frame sequences, and mutations of the valid sequences of the frame table,
 * each pushed whole, in random splits and (when short) byte by byte.
 *
 * The seed is printed in the suite name; rerun a failure with
 * `HERALD_FUZZ_SEED=<seed> node scripts/run-tests.mjs frame-parser.fuzz`.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { isUtf8 } from 'node:buffer';
import { isValidCloseCode } from '../../src/protocol/constants.js';
import type { FrameParserOptions } from '../../src/protocol/frame-parser.js';
import { encodeClientFrame } from '../../src/protocol/frame-encoder.js';
import { OpCode } from '../../src/protocol/constants.js';
import { FRAME_CASES, caseFrames } from '../helpers/frame-cases.js';
import type { RecordedEvent } from '../helpers/frame-cases.js';
import { byteByByte, fuzzSeed, parseChunks, prng, randInt, randomBytes, randomCuts, splitAt, wholeChunk } from './harness.js';

const SEED = fuzzSeed();
const RANDOM_ITERATIONS = 3000;
const MUTATED_ITERATIONS = 3000;
const DEFAULT_MAX = 1024 * 1024;
const ERROR_CLOSE_CODES = new Set([1002, 1007, 1009]);
const TRAILING_FRAME = encodeClientFrame(OpCode.Text, 'after', 0x0badf00d);

type Rand = () => number;

function pick<T>(rand: Rand, items: readonly T[]): T {
  return items[randInt(rand, items.length)];
}

/** Describe an input well enough to replay it. */
function where(label: string, input: Buffer, options: FrameParserOptions): string {
  const hex = input.length > 256 ? `${input.subarray(0, 256).toString('hex')}… (${input.length} bytes)` : input.toString('hex');
  return `seed ${SEED}, ${label}, maxMessageSize ${options.maxMessageSize ?? DEFAULT_MAX}, input ${hex}`;
}

/** The invariants every run must satisfy, whatever the input. */
function checkEvents(events: readonly RecordedEvent[], sizes: readonly number[], max: number, context: string): void {
  const last = events.length - 1;
  events.forEach((event, i) => {
    switch (event[0]) {
      case 'error':
        assert.equal(i, last, `${context}: an event follows the protocol error`);
        assert.ok(ERROR_CLOSE_CODES.has(event[1]), `${context}: close code ${event[1]}`);
        break;
      case 'close':
        assert.equal(i, last, `${context}: an event follows the close frame`);
        assert.ok(event[1] === 1005 ? event[2] === '' : isValidCloseCode(event[1]), `${context}: close ${event[1]}`);
        assert.ok(Buffer.byteLength(event[2]) <= 123, `${context}: close reason too long`);
        break;
      case 'ping':
      case 'pong':
        assert.ok(event[1].length / 2 <= 125, `${context}: control payload over 125 bytes`);
        break;
      case 'text':
        assert.ok(isUtf8(Buffer.from(event[1], 'hex')), `${context}: text message is not UTF-8`);
        break;
      case 'binary':
        break;
    }
  });
  for (const size of sizes) assert.ok(size <= max, `${context}: message of ${size} bytes over ${max}`);
}

/** Push `chunks`, check the invariants, then show that a stopped parser reports nothing more. */
function runChecked(chunks: Buffer[], options: FrameParserOptions, context: string): RecordedEvent[] {
  let result: ReturnType<typeof parseChunks>;
  try {
    result = parseChunks(chunks, options);
  } catch (error) {
    assert.fail(`${context}: push threw ${(error as Error).stack ?? String(error)}`);
  }
  const { events, parser, recorder } = result;
  checkEvents(events, recorder.messageSizes, options.maxMessageSize ?? DEFAULT_MAX, context);
  const terminal = events.length > 0 && (events[events.length - 1][0] === 'error' || events[events.length - 1][0] === 'close');
  assert.equal(parser.stopped, terminal, `${context}: stopped without a close or error (or the reverse)`);
  const count = events.length;
  if (terminal) {
    parser.push(Buffer.from(TRAILING_FRAME));
    assert.equal(events.length, count, `${context}: events after the parser stopped`);
  }
  return events.slice(0, count);
}

/** Parse `input` whole, in random splits and (if short) byte by byte; all must agree. */
function fuzzOne(rand: Rand, input: Buffer, label: string): void {
  const options: FrameParserOptions = {};
  const max = pick(rand, [0, 3, 16, 125, 200, 1024, undefined]);
  if (max !== undefined) options.maxMessageSize = max;
  const context = where(label, input, options);
  const whole = runChecked(wholeChunk(input), options, `${context} (whole)`);
  const cuts = randomCuts(rand, input.length, 1 + randInt(rand, 8));
  assert.deepEqual(runChecked(splitAt(input, cuts), options, `${context} (cuts ${cuts})`), whole, `${context}: split differs`);
  if (input.length <= 200) {
    assert.deepEqual(runChecked(byteByByte(input), options, `${context} (bytes)`), whole, `${context}: byte by byte differs`);
  }
}

/** A frame with fields drawn to be plausible most of the time and broken some of the time. */
function randomFrame(rand: Rand): Buffer {
  const opcode = rand() < 0.85 ? pick(rand, [0, 1, 1, 2, 8, 9, 10]) : randInt(rand, 16);
  const fin = rand() < 0.75;
  const rsv = rand() < 0.93 ? 0 : pick(rand, [0x10, 0x20, 0x40, 0x70]);
  const masked = rand() < 0.95;
  let payload: Buffer;
  const kind = rand();
  if (kind < 0.4) payload = Buffer.from(pick(rand, ['', 'a', 'hello', 'héllo', '€', '😀', 'x'.repeat(130)]));
  else if (kind < 0.55) payload = Buffer.from([randInt(rand, 256), randInt(rand, 256), ...Buffer.from('bye')]);
  else if (kind < 0.7) payload = Buffer.from([0x03, 0xe8, ...randomBytes(rand, randInt(rand, 4))]);
  else payload = randomBytes(rand, pick(rand, [randInt(rand, 12), 124 + randInt(rand, 4), randInt(rand, 300)]));
  if (rand() < 0.3) payload = payload.subarray(0, randInt(rand, payload.length + 1)); // may cut a code point
  const header: number[] = [(fin ? 0x80 : 0) | rsv | opcode];
  const lengthForm = rand();
  if (lengthForm < 0.85 && payload.length < 126) header.push(payload.length);
  else if (lengthForm < 0.93 && payload.length <= 0xffff) header.push(126, payload.length >>> 8, payload.length & 0xff);
  else {
    const hi = rand() < 0.8 ? 0 : pick(rand, [1, 0x1f_ffff, 0x20_0000, 0x8000_0000, 0xffff_ffff]);
    header.push(127, hi >>> 24, (hi >>> 16) & 0xff, (hi >>> 8) & 0xff, hi & 0xff);
    const lo = payload.length;
    header.push(lo >>> 24, (lo >>> 16) & 0xff, (lo >>> 8) & 0xff, lo & 0xff);
  }
  if (!masked) return Buffer.concat([Buffer.from(header), payload]);
  header[1] |= 0x80;
  const key = randomBytes(rand, 4);
  const body = Buffer.from(payload);
  for (let i = 0; i < body.length; i++) body[i] ^= key[i & 3];
  return Buffer.concat([Buffer.from(header), key, body]);
}

/** Apply 1–3 random mutations to a frame sequence. */
function mutate(rand: Rand, frames: Buffer[]): Buffer {
  let seq: Buffer[] = frames.map((f) => Buffer.from(f));
  for (let n = 1 + randInt(rand, 3); n > 0; n--) {
    const op = randInt(rand, 8);
    if (op === 6 && seq.length > 0) {
      seq.splice(randInt(rand, seq.length + 1), 0, Buffer.from(pick(rand, seq))); // duplicate a frame
      continue;
    }
    if (op === 7) {
      seq.splice(randInt(rand, seq.length + 1), 0, randomFrame(rand)); // insert a random frame
      continue;
    }
    if (op === 5 && seq.length > 0) {
      // Corrupt a length field: the 7-bit length, or a byte of the extended length.
      const frame = pick(rand, seq);
      if (frame.length > 1) {
        const at = rand() < 0.5 || frame.length < 4 ? 1 : 2 + randInt(rand, Math.min(8, frame.length - 2));
        frame[at] = at === 1 ? (frame[1] & 0x80) | randInt(rand, 128) : randInt(rand, 256);
      }
      continue;
    }
    let bytes: Buffer = Buffer.concat(seq);
    const at = randInt(rand, bytes.length + 1);
    if (op === 0 && bytes.length > 0) bytes[Math.min(at, bytes.length - 1)] ^= 1 << randInt(rand, 8);
    else if (op === 1) bytes = Buffer.concat([bytes.subarray(0, at), randomBytes(rand, 1 + randInt(rand, 3)), bytes.subarray(at)]);
    else if (op === 2) bytes = Buffer.concat([bytes.subarray(0, at), bytes.subarray(at + 1 + randInt(rand, 3))]);
    else if (op === 3) bytes = bytes.subarray(0, at);
    else if (bytes.length > 0) bytes[Math.min(at, bytes.length - 1)] = randInt(rand, 256);
    seq = [bytes];
  }
  return Buffer.concat(seq);
}

describe(`FrameParser fuzz (seed ${SEED}; set HERALD_FUZZ_SEED=${SEED} to replay)`, () => {
  it('never throws and reports only valid events or one protocol error for random byte strings', (t) => {
    t.diagnostic(`seed ${SEED}`);
    const rand = prng(SEED);
    for (let i = 0; i < RANDOM_ITERATIONS / 3; i++) {
      fuzzOne(rand, randomBytes(rand, randInt(rand, 64)), `random bytes #${i}`);
    }
  });

  it('never throws and reports only valid events or one protocol error for random frame sequences', (t) => {
    t.diagnostic(`seed ${SEED}`);
    const rand = prng(SEED ^ 0x1111_1111);
    for (let i = 0; i < (RANDOM_ITERATIONS * 2) / 3; i++) {
      const frames = Array.from({ length: 1 + randInt(rand, 6) }, () => randomFrame(rand));
      fuzzOne(rand, Buffer.concat(frames), `random frames #${i}`);
    }
  });

  it('never throws and reports only valid events or one protocol error for mutated table sequences', (t) => {
    t.diagnostic(`seed ${SEED}`);
    const rand = prng(SEED ^ 0x2222_2222);
    const sources = FRAME_CASES.filter((c) => c.error === undefined).map(caseFrames);
    for (let i = 0; i < MUTATED_ITERATIONS; i++) {
      fuzzOne(rand, mutate(rand, pick(rand, sources)), `mutation #${i}`);
    }
  });
});
