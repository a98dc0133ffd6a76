/**
 * Test support for the codec tests: an event recorder for `FrameParser`, the
 * ways of cutting a byte stream into chunks (nats.js `byByteTest` style), a
 * seeded PRNG, and a small independent frame decoder used to derive expected
 * encoder output from the frame table.
 */
import assert from 'node:assert/strict';
import { FrameParser, type FrameParserHandler, type FrameParserOptions } from '../../src/protocol/frame-parser.js';
import { ProtocolError, ProtocolErrorCode } from '../../src/protocol/errors.js';
import type { RecordedEvent } from '../helpers/frame-cases.js';

const ERROR_CODES = new Set<string>(Object.values(ProtocolErrorCode));

/** A handler that writes down every callback, payloads as hex (copied at once). */
export class Recorder implements FrameParserHandler {
  readonly events: RecordedEvent[] = [];
  /** Byte lengths of delivered messages, in order. */
  readonly messageSizes: number[] = [];

  onMessage(data: Buffer, isText: boolean): void {
    this.messageSizes.push(data.length);
    this.events.push([isText ? 'text' : 'binary', data.toString('hex')]);
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
    assert.ok(error instanceof ProtocolError, 'onProtocolError receives a ProtocolError');
    assert.equal(error.name, 'ProtocolError');
    assert.ok(ERROR_CODES.has(error.code), `unknown ProtocolErrorCode ${error.code}`);
    this.events.push(['error', error.closeCode, error.code]);
  }
}

export interface ParseResult {
  events: RecordedEvent[];
  parser: FrameParser;
  recorder: Recorder;
}

/** Push `chunks` one after the other into a fresh server-side parser. */
export function parseChunks(chunks: readonly Buffer[], options?: FrameParserOptions): ParseResult {
  const recorder = new Recorder();
  const parser = new FrameParser(recorder, options);
  for (const chunk of chunks) parser.push(chunk);
  return { events: recorder.events, parser, recorder };
}

// The parser unmasks in place, so every way of cutting starts from a fresh copy.

/** The whole input as one chunk. */
export function wholeChunk(bytes: Uint8Array): Buffer[] {
  return [Buffer.from(bytes)];
}

/** One chunk per byte. */
export function byteByByte(bytes: Uint8Array): Buffer[] {
  const copy = Buffer.from(bytes);
  const out: Buffer[] = [];
  for (let i = 0; i < copy.length; i++) out.push(copy.subarray(i, i + 1));
  return out;
}

/** Cut the input before each index in `points` (out-of-range and repeated points are ignored). */
export function splitAt(bytes: Uint8Array, points: Iterable<number>): Buffer[] {
  const copy = Buffer.from(bytes);
  const cuts = [...new Set(points)].filter((p) => p > 0 && p < copy.length).sort((a, b) => a - b);
  const out: Buffer[] = [];
  let start = 0;
  for (const cut of cuts) {
    out.push(copy.subarray(start, cut));
    start = cut;
  }
  out.push(copy.subarray(start));
  return out;
}

/**
 * Every header boundary of every frame, as offsets into the concatenated
 * frames: after byte 1, after the 2-byte base header, after the extended
 * length, after the masking key, and the frame boundary itself.
 */
export function headerBoundaries(frames: readonly Uint8Array[]): number[] {
  const out: number[] = [];
  let offset = 0;
  for (const frame of frames) {
    const len7 = frame.length > 1 ? frame[1] & 0x7f : 0;
    const ext = len7 === 126 ? 2 : len7 === 127 ? 8 : 0;
    const masked = frame.length > 1 && (frame[1] & 0x80) !== 0;
    out.push(offset, offset + 1, offset + 2);
    if (ext > 0) out.push(offset + 2 + ext);
    if (masked) out.push(offset + 2 + ext + 4);
    offset += frame.length;
  }
  return out.filter((p) => p > 0 && p < offset);
}

/** mulberry32: a tiny seeded PRNG returning floats in [0, 1). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** An integer in [0, n). */
export function randInt(rand: () => number, n: number): number {
  return Math.floor(rand() * n);
}

/** `n` random bytes. */
export function randomBytes(rand: () => number, n: number): Buffer {
  const out = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) out[i] = randInt(rand, 256);
  return out;
}

/** Up to `count` random cut points in (0, length). */
export function randomCuts(rand: () => number, length: number, count: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < count && length > 1; i++) out.push(1 + randInt(rand, length - 1));
  return out;
}

/** One frame as an independent reference decoder sees it (no validation). */
export interface DecodedFrame {
  fin: boolean;
  rsv: number;
  opcode: number;
  masked: boolean;
  /** Masking key, big-endian packed; 0 when unmasked. */
  key: number;
  /** 2, 4 or 10 plus 4 when masked. */
  headerLength: number;
  declaredLength: number;
  /** Whether the length used the fewest bytes possible (RFC 6455 §5.2). */
  minimalLength: boolean;
  /** The unmasked payload bytes present (may be shorter than declared). */
  payload: Buffer;
}

/** Decode one frame's header and unmask its payload with a naive byte loop. */
export function decodeFrame(frame: Uint8Array): DecodedFrame {
  const buf = Buffer.from(frame);
  const len7 = buf[1] & 0x7f;
  const masked = (buf[1] & 0x80) !== 0;
  let declaredLength = len7;
  let at = 2;
  if (len7 === 126) {
    declaredLength = buf.readUInt16BE(2);
    at = 4;
  } else if (len7 === 127) {
    declaredLength = Number(buf.readBigUInt64BE(2));
    at = 10;
  }
  const minimalLength = len7 === 126 ? declaredLength >= 126 : len7 === 127 ? declaredLength > 0xffff : true;
  const key = masked ? buf.readUInt32BE(at) : 0;
  if (masked) at += 4;
  const payload = buf.subarray(at);
  for (let i = 0; i < payload.length; i++) payload[i] ^= (key >>> (24 - 8 * (i & 3))) & 0xff;
  return {
    fin: (buf[0] & 0x80) !== 0,
    rsv: buf[0] & 0x70,
    opcode: buf[0] & 0x0f,
    masked,
    key,
    headerLength: at,
    declaredLength,
    minimalLength,
    payload,
  };
}

/** The seed for fuzz tests: HERALD_FUZZ_SEED when set, else a fresh random one. */
export function fuzzSeed(): number {
  const env = process.env.HERALD_FUZZ_SEED;
  if (env !== undefined && env !== '') {
    const seed = Number(env);
    if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) throw new RangeError(`bad HERALD_FUZZ_SEED ${env}`);
    return seed;
  }
  return Math.floor(Math.random() * 0x1_0000_0000);
}
