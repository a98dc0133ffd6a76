/**
 * Parser micro-benchmark: Herald's `FrameParser` against the `Receiver` of the
 * `ws` package, fed the same masked client→server byte stream, cut into the
 * 64 KiB chunks a socket typically delivers.
 *
 * Method (see BENCHMARKS.md):
 *  - Each case's wire stream (frames with a random non-zero mask each) is
 *    built once, independently of Herald's encoder, and cut into 64 KiB
 *    template chunks.
 *  - Both parsers unmask in place, so before every round (warm-up and timed)
 *    the chunk buffers are refilled from the templates, before the clock
 *    starts. The same chunk buffers (each its own ArrayBuffer at offset 0, as
 *    a socket read delivers) serve both parsers, refilled in place rather
 *    than reallocated: allocating tens of MiB of fresh external memory per
 *    round triggered extra GCs inside the timed region and doubled the spread.
 *  - Before timing, each parser's output for one copy of the stream is hashed
 *    and compared with the expected payloads (catches a parser that skips
 *    unmasking or drops messages).
 *  - Warm-up rounds (full run: at least 3 rounds and 300 ms per parser
 *    per case), then timed rounds alternating which parser goes first; the
 *    median round counts. No forced GC before rounds: a full GC shrinks the
 *    heap and made the following round slower and noisier, not cleaner.
 *  - ws is fed through `receiver.write(chunk)`, exactly as ws's WebSocket does
 *    with socket data. With `allowSynchronousEvents` (the default) the
 *    Receiver parses and emits every 'message' synchronously inside write();
 *    the message count is checked right after the timed loop to prove it.
 *    The Writable bookkeeping ws defers to process.nextTick (afterWrite,
 *    'drain') is flushed between rounds, outside the timed region.
 */
import { createHash, randomFillSync, randomInt } from 'node:crypto';
import { createRequire } from 'node:module';
import { FrameParser, type FrameParserHandler } from '../src/protocol/index.js';
import { elapsedNs, max, median, min, round } from './lib/stats.js';
import type { Result, Row, RunContext, Scenario } from './lib/types.js';

const KiB = 1024;
const MiB = 1024 * KiB;
/** What one socket read typically delivers (libuv's 64 KiB read buffer). */
const CHUNK_SIZE = 64 * KiB;
/** Same limit for both parsers, above every message used here. */
const MAX_MESSAGE = 16 * MiB;

const OP_CONTINUATION = 0x0;
const OP_TEXT = 0x1;
const OP_BINARY = 0x2;

// ---------------------------------------------------------------------------
// Input: an independent little client-frame encoder (not Herald's), so the
// input does not depend on the code under test.

/** One masked client frame (RFC 6455 §5.2) with a random non-zero key. */
function clientFrame(opcode: number, payload: Uint8Array, fin: boolean): Buffer {
  const n = payload.length;
  const header = n < 126 ? 6 : n <= 0xffff ? 8 : 14;
  const frame = Buffer.allocUnsafe(header + n);
  frame[0] = (fin ? 0x80 : 0) | opcode;
  if (n < 126) {
    frame[1] = 0x80 | n;
  } else if (n <= 0xffff) {
    frame[1] = 0x80 | 126;
    frame.writeUInt16BE(n, 2);
  } else {
    frame[1] = 0x80 | 127;
    frame.writeUInt32BE(Math.floor(n / 2 ** 32), 2);
    frame.writeUInt32BE(n >>> 0, 6);
  }
  // ws skips unmasking when the key is all zeroes; real clients use random keys.
  const key = [randomInt(1, 256), randomInt(0, 256), randomInt(0, 256), randomInt(0, 256)];
  for (let k = 0; k < 4; k++) frame[header - 4 + k] = key[k];
  for (let i = 0; i < n; i++) frame[header + i] = payload[i] ^ key[i & 3];
  return frame;
}

/** A 100-byte JSON-ish text payload with a few multi-byte characters. */
function smallText(seq: number): Buffer {
  const head = `{"topic":"prices.eu","seq":${String(seq).padStart(8, '0')},"data":"café 12€ – `;
  const body = head + 'x'.repeat(98 - Buffer.byteLength(head)) + '"}';
  const buf = Buffer.from(body, 'utf8');
  if (buf.length !== 100) throw new Error(`small payload is ${buf.length} bytes`);
  return buf;
}

/** Valid UTF-8 text of exactly `size` bytes, mostly JSON-ish ASCII with 2-, 3- and 4-byte characters. */
function largeText(size: number, seq: number): Buffer {
  const out = Buffer.allocUnsafe(size);
  let at = 0;
  for (let i = 0; ; i++) {
    const item = Buffer.from(`{"m":${seq},"i":${i},"s":"naïve café – 東京 € 🚀 ok"},`, 'utf8');
    if (at + item.length > size) break;
    item.copy(out, at);
    at += item.length;
  }
  out.fill(0x20, at); // pad with spaces
  return out;
}

interface Stream {
  /** The stream cut into chunks of CHUNK_SIZE (the last may be shorter). Never fed directly. */
  templates: Buffer[];
  wireBytes: number;
  messages: number;
  frames: number;
  payloadBytes: number;
  /** sha256 over every message payload, in order. */
  digest: string;
}

function buildStream(frames: Buffer[], payloads: Buffer[]): Stream {
  const wire = Buffer.concat(frames);
  const templates: Buffer[] = [];
  for (let at = 0; at < wire.length; at += CHUNK_SIZE) templates.push(wire.subarray(at, at + CHUNK_SIZE));
  const hash = createHash('sha256');
  let payloadBytes = 0;
  for (const p of payloads) {
    hash.update(p);
    payloadBytes += p.length;
  }
  return {
    templates,
    wireBytes: wire.length,
    messages: payloads.length,
    frames: frames.length,
    payloadBytes,
    digest: hash.digest('hex'),
  };
}

interface CaseDef {
  id: string;
  label: string;
  /** Wire bytes per round, full run. */
  targetBytes: number;
  build(targetBytes: number): Stream;
}

const CASES: CaseDef[] = [
  {
    id: 'small-100B-text',
    label: '100 B text frames',
    targetBytes: 8 * MiB,
    build(target) {
      const frames: Buffer[] = [];
      const payloads: Buffer[] = [];
      for (let seq = 0, bytes = 0; bytes < target; seq++) {
        const p = smallText(seq);
        const f = clientFrame(OP_TEXT, p, true);
        frames.push(f);
        payloads.push(p);
        bytes += f.length;
      }
      return buildStream(frames, payloads);
    },
  },
  ...[64 * KiB, 1 * MiB].map(
    (size): CaseDef => ({
      id: `large-${size / KiB >= 1024 ? `${size / MiB}MiB` : `${size / KiB}KiB`}-binary`,
      label: `${size / KiB >= 1024 ? `${size / MiB} MiB` : `${size / KiB} KiB`} binary frames`,
      targetBytes: 48 * MiB,
      build(target) {
        const frames: Buffer[] = [];
        const payloads: Buffer[] = [];
        const count = Math.max(2, Math.round(target / size));
        for (let i = 0; i < count; i++) {
          const p = randomFillSync(Buffer.allocUnsafe(size));
          frames.push(clientFrame(OP_BINARY, p, true));
          payloads.push(p);
        }
        return buildStream(frames, payloads);
      },
    }),
  ),
  {
    id: 'fragmented-16x4KiB-text',
    label: 'text, 16 × 4 KiB fragments',
    targetBytes: 16 * MiB,
    build(target) {
      const fragment = 4 * KiB;
      const parts = 16;
      const frames: Buffer[] = [];
      const payloads: Buffer[] = [];
      const count = Math.max(2, Math.round(target / (fragment * parts)));
      for (let m = 0; m < count; m++) {
        const p = largeText(fragment * parts, m);
        for (let k = 0; k < parts; k++) {
          // Cuts at fixed byte offsets, so some code points straddle two fragments.
          const slice = p.subarray(k * fragment, (k + 1) * fragment);
          frames.push(clientFrame(k === 0 ? OP_TEXT : OP_CONTINUATION, slice, k === parts - 1));
        }
        payloads.push(p);
      }
      return buildStream(frames, payloads);
    },
  },
];

// ---------------------------------------------------------------------------
// Contestants

interface Sink {
  messages: number;
  bytes: number;
}

type OnMessage = (data: Buffer, isText: boolean) => void;

interface Contestant {
  id: 'herald' | 'ws';
  label: string;
  /** A fresh parser delivering to `onMessage`; returns how to feed it one chunk. */
  create(onMessage: OnMessage): (chunk: Buffer) => void;
}

/** The part of ws's (untyped, not exported by @types/ws) Receiver we use. */
interface WsReceiver {
  write(chunk: Buffer): boolean;
  on(event: 'message', listener: (data: Buffer, isBinary: boolean) => void): this;
  on(event: 'error', listener: (error: Error) => void): this;
}
type WsReceiverCtor = new (options: {
  isServer: boolean;
  maxPayload: number;
  allowSynchronousEvents?: boolean;
  skipUTF8Validation?: boolean;
}) => WsReceiver;

// `ws/lib/receiver.js` is not in ws's package "exports"; the package root exports it as `Receiver`.
const WsReceiverClass = (createRequire(import.meta.url)('ws') as { Receiver: WsReceiverCtor }).Receiver;

const CONTESTANTS: Contestant[] = [
  {
    id: 'herald',
    label: 'Herald FrameParser',
    create(onMessage) {
      const fail = (what: string) => () => {
        throw new Error(`Herald parser: unexpected ${what}`);
      };
      const handler: FrameParserHandler = {
        onMessage,
        onPing: fail('ping'),
        onPong: fail('pong'),
        onClose: fail('close'),
        onProtocolError(error) {
          throw error;
        },
      };
      const parser = new FrameParser(handler, { isServer: true, maxMessageSize: MAX_MESSAGE });
      return (chunk) => parser.push(chunk);
    },
  },
  {
    id: 'ws',
    label: `ws Receiver`,
    create(onMessage) {
      const receiver = new WsReceiverClass({ isServer: true, maxPayload: MAX_MESSAGE });
      receiver.on('message', (data, isBinary) => onMessage(data, !isBinary));
      // ws reports errors through the Writable machinery (asynchronously); surface them on the next feed.
      let failure: Error | null = null;
      receiver.on('error', (error) => {
        failure = error;
      });
      return (chunk) => {
        if (failure) throw failure;
        receiver.write(chunk);
      };
    },
  },
];

// ---------------------------------------------------------------------------
// Measurement

/** Buffers the size of the stream's chunks, each with its own ArrayBuffer (like socket reads). */
function allocChunks(stream: Stream): Buffer[] {
  return stream.templates.map((t) => Buffer.allocUnsafeSlow(t.length));
}

/** Restore the masked input in `chunks` (a parser unmasked it in place). */
function refill(chunks: Buffer[], stream: Stream): void {
  for (let i = 0; i < chunks.length; i++) chunks[i].set(stream.templates[i]);
}

/** Feed one copy, hashing what comes out; throws if it differs from what was framed. */
function verify(contestant: Contestant, stream: Stream, expectText: boolean): void {
  const hash = createHash('sha256');
  let messages = 0;
  let wrongType = 0;
  const feed = contestant.create((data, isText) => {
    hash.update(data);
    messages++;
    if (isText !== expectText) wrongType++;
  });
  const chunks = allocChunks(stream);
  refill(chunks, stream);
  for (const chunk of chunks) feed(chunk);
  const digest = hash.digest('hex');
  if (messages !== stream.messages || digest !== stream.digest || wrongType !== 0) {
    throw new Error(
      `${contestant.label} decoded the stream wrongly: ${messages}/${stream.messages} messages, ` +
        `${wrongType} of the wrong type, digest ${digest === stream.digest ? 'ok' : 'MISMATCH'}`,
    );
  }
}

const flushTicks = () => new Promise<void>((resolve) => setImmediate(resolve));

/** One round: refill the input outside the clock, then the timed feed loop. Returns ns. */
async function timedRound(contestant: Contestant, stream: Stream, chunks: Buffer[]): Promise<number> {
  refill(chunks, stream);
  const sink: Sink = { messages: 0, bytes: 0 };
  const feed = contestant.create((data) => {
    sink.messages++;
    sink.bytes += data.length;
  });
  const start = process.hrtime.bigint();
  for (let i = 0; i < chunks.length; i++) feed(chunks[i]);
  const end = process.hrtime.bigint();
  if (sink.messages !== stream.messages || sink.bytes !== stream.payloadBytes) {
    throw new Error(
      `${contestant.label}: ${sink.messages}/${stream.messages} messages, ` +
        `${sink.bytes}/${stream.payloadBytes} bytes after the timed loop (asynchronous delivery?)`,
    );
  }
  // ws's Writable defers its afterWrite/'drain' bookkeeping to process.nextTick: let it run here, untimed.
  await flushTicks();
  return elapsedNs(start, end);
}

interface ContestantResult {
  contestant: string;
  roundsNs: number[];
  medianNs: number;
  mbPerSec: number;
  messagesPerSec: number;
  framesPerSec: number;
  /** (slowest − fastest round) / median round. */
  spread: number;
}

interface CaseResult {
  case: string;
  label: string;
  chunkSize: number;
  wireBytesPerRound: number;
  messagesPerRound: number;
  framesPerRound: number;
  payloadBytesPerRound: number;
  results: ContestantResult[];
  /** Herald throughput / ws throughput (same input, so MB/s and msg/s ratios are equal). */
  ratio: number;
}

interface Plan {
  /** Warm-up: at least this many rounds per parser… */
  warmupRounds: number;
  /** …and until this much time was spent per parser. */
  warmupMs: number;
  rounds: number;
  /** Multiplier of each case's targetBytes. */
  scale: number;
}

async function runCase(def: CaseDef, ctx: RunContext, plan: Plan): Promise<CaseResult> {
  const stream = def.build(Math.max(CHUNK_SIZE, Math.round(def.targetBytes * plan.scale)));
  const expectText = def.id.includes('text');
  for (const c of CONTESTANTS) verify(c, stream, expectText);
  const chunks = allocChunks(stream);

  const warmupNs = new Map<string, number>(CONTESTANTS.map((c) => [c.id, 0]));
  for (let w = 0; w < 50; w++) {
    const done = CONTESTANTS.every((c) => (warmupNs.get(c.id) as number) >= plan.warmupMs * 1e6);
    if (w >= plan.warmupRounds && done) break;
    for (const c of CONTESTANTS) {
      warmupNs.set(c.id, (warmupNs.get(c.id) as number) + (await timedRound(c, stream, chunks)));
    }
  }
  const times = new Map<string, number[]>(CONTESTANTS.map((c) => [c.id, []]));
  for (let r = 0; r < plan.rounds; r++) {
    // Alternate who goes first, so neither always inherits the other's cache/GC state.
    const order = r % 2 === 0 ? CONTESTANTS : [...CONTESTANTS].reverse();
    for (const c of order) (times.get(c.id) as number[]).push(await timedRound(c, stream, chunks));
  }

  const results = CONTESTANTS.map((c): ContestantResult => {
    const roundsNs = times.get(c.id) as number[];
    const med = median(roundsNs);
    const seconds = med / 1e9;
    return {
      contestant: c.id,
      roundsNs,
      medianNs: med,
      mbPerSec: round(stream.wireBytes / 1e6 / seconds, 1),
      messagesPerSec: Math.round(stream.messages / seconds),
      framesPerSec: Math.round(stream.frames / seconds),
      spread: round((max(roundsNs) - min(roundsNs)) / med, 3),
    };
  });
  const [herald, ws] = results;
  const out: CaseResult = {
    case: def.id,
    label: def.label,
    chunkSize: CHUNK_SIZE,
    wireBytesPerRound: stream.wireBytes,
    messagesPerRound: stream.messages,
    framesPerRound: stream.frames,
    payloadBytesPerRound: stream.payloadBytes,
    results,
    ratio: round(ws.medianNs / herald.medianNs, 3),
  };
  ctx.log(
    `  ${def.label.padEnd(28)} Herald ${herald.mbPerSec.toFixed(1).padStart(7)} MB/s   ` +
      `ws ${ws.mbPerSec.toFixed(1).padStart(7)} MB/s   Herald/ws ${out.ratio.toFixed(2)}×`,
  );
  return out;
}

export const parserScenario: Scenario = {
  name: 'parser',
  description: 'Frame parser throughput: Herald FrameParser vs ws Receiver on masked client frames in 64 KiB chunks',
  async run(ctx) {
    const plan: Plan = ctx.quick
      ? { warmupRounds: 2, warmupMs: 0, rounds: 3, scale: 1 / 8 }
      : { warmupRounds: 3, warmupMs: 300, rounds: 9, scale: 1 };
    // BENCH_PARSER_CASES=id,id… runs only those cases (for profiling one at a time).
    const only = process.env.BENCH_PARSER_CASES?.split(',').filter(Boolean);
    const selected = only ? CASES.filter((c) => only.includes(c.id)) : CASES;
    if (selected.length === 0) {
      throw new Error(`BENCH_PARSER_CASES matches no case; cases: ${CASES.map((c) => c.id).join(', ')}`);
    }
    const cases: CaseResult[] = [];
    const errors: string[] = [];
    for (const def of selected) {
      try {
        cases.push(await runCase(def, ctx, plan));
      } catch (error) {
        // One broken case (e.g. a parser that mis-decodes it) must not hide the others' numbers.
        const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
        ctx.log(`  ${def.label.padEnd(28)} FAILED: ${message.split('\n')[0]}`);
        errors.push(`${def.id}: ${message}`);
      }
    }

    const rows: Row[] = cases.map((c) => {
      const [h, w] = c.results;
      return {
        case: c.label,
        heraldMBs: h.mbPerSec,
        wsMBs: w.mbPerSec,
        ratio: c.ratio,
        heraldMsgs: h.messagesPerSec,
        wsMsgs: w.messagesPerSec,
        heraldFrames: h.framesPerSec,
        wsFrames: w.framesPerSec,
        spread: Math.max(h.spread, w.spread),
      };
    });
    return {
      columns: [
        { key: 'case', label: 'case' },
        { key: 'heraldMBs', label: 'Herald MB/s', format: 'fixed1' },
        { key: 'wsMBs', label: 'ws MB/s', format: 'fixed1' },
        { key: 'ratio', label: 'Herald/ws', format: 'ratio' },
        { key: 'heraldMsgs', label: 'Herald msg/s', format: 'si' },
        { key: 'wsMsgs', label: 'ws msg/s', format: 'si' },
        { key: 'heraldFrames', label: 'Herald frames/s', format: 'si' },
        { key: 'wsFrames', label: 'ws frames/s', format: 'si' },
        { key: 'spread', label: 'max spread', format: 'percent' },
      ],
      rows,
      params: { chunkSize: CHUNK_SIZE, maxMessage: MAX_MESSAGE, ...plan, cases: selected.map((c) => c.id) },
      details: cases,
      errors,
      notes: [
        'MB/s = 10^6 wire bytes (headers + masked payload) fed per second; median of the timed rounds.',
        'max spread = (slowest − fastest round) / median, the worse of the two parsers.',
      ],
    };
  },
};
