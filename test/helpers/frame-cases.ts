/**
 * The codec's table of wire frames (gobwas `RWTestCases` style), shared by the
 * parser tests, the encoder tests and the parser fuzz test.
 *
 * Each case lists the frames a client sends, one hex string per frame, in
 * wire order, and what the server-side `FrameParser` must report for them:
 * `events` in order, then at most one protocol `error`.
 *
 * Hex notation: whitespace is ignored (it separates header | extended length |
 * masking key | payload for the reader); `[hex*N]` repeats `hex` N times, so
 * large payloads stay compact. Event payloads are the UNMASKED bytes.
 *
 * Client frames are masked (RFC 6455 §5.1), so the masking key is part of the
 * hex. The masked bytes were produced once with `encodeClientFrame(opcode,
 * payload, key, fin)` (then, for the invalid cases, by setting RSV bits or by
 * using the unmasked `encodeFrame`), and are kept here as literals; the encoder
 * test "reproduces every masked frame of the table" re-derives each one, so a
 * typo in this table fails loudly. A payload that repeats with period 4 stays
 * periodic after masking, which is what makes `[..*N]` work for masked bytes.
 */
import type { FrameParserOptions } from '../../src/protocol/frame-parser.js';
import { ProtocolErrorCode as PE } from '../../src/protocol/errors.js';

/** What the parser reports, in order. Payloads are hex in the `[hex*N]` notation. */
export type FrameEvent =
  | readonly ['text' | 'binary' | 'ping' | 'pong', string]
  | readonly ['close', number, string];

export interface FrameCase {
  /** For valid cases, what is parsed; for error cases, the condition that fails the connection. */
  name: string;
  /** Client frames as sent, one hex string per frame. */
  frames: readonly string[];
  /** Events reported before the end (or before the error). */
  events: readonly FrameEvent[];
  /** The protocol error that ends the case, if any: close code and `ProtocolErrorCode`. */
  error?: { closeCode: number; code: PE };
  options?: FrameParserOptions;
}

export const FRAME_CASES: readonly FrameCase[] = [
  // ── valid sequences ──
  { name: 'an empty text message', frames: ['81 80 37fa213d'], events: [['text', '']] },
  { name: 'a short text message ("Hello", RFC 6455 §5.7)', frames: ['81 85 37fa213d 7f9f4d5158'], events: [['text', '48656c6c6f']] },
  {
    name: 'a multilingual text message',
    frames: ['81 a0 a1b2c3d4 c9716ab8cddde3a36204b1b8c59221543592254304545f7849185df4512d5b54'],
    events: [['text', '68c3a96c6c6f2077c3b6726c6420e2809420e697a5e69cace8aa9e20f09f9880']],
  },
  { name: 'a short binary message', frames: ['82 88 0f1e2d3c 0fe152bcd1b393d3'], events: [['binary', '00ff7f80deadbeef']] },
  { name: 'an empty binary message', frames: ['82 80 deadbeef'], events: [['binary', '']] },
  { name: 'a frame whose masking key is zero', frames: ['81 84 00000000 7a65726f'], events: [['text', '7a65726f']] },
  { name: 'a 125-byte text message (largest 7-bit length)', frames: ['81 fd 5a5a1234 [3b387150*31] 3f'], events: [['text', '[61626364*31] 65']] },
  {
    name: 'a 126-byte binary message (smallest 16-bit length)',
    frames: ['82 fe 007e 80c0e0f0 [80c1e2f3*31] 84c5'],
    events: [['binary', '[00010203*31] 0405']],
  },
  {
    name: 'a 65535-byte binary message (largest 16-bit length)',
    frames: ['82 fe ffff 37fa213d [c71bf3fe*16383] 835fb7'],
    events: [['binary', '[f0e1d2c3*16383] b4a596']],
  },
  {
    name: 'a 65536-byte binary message (smallest 64-bit length)',
    frames: ['82 ff 0000000000010000 a1b2c3d4 [b090f090*16384]'],
    events: [['binary', '[11223344*16384]']],
  },
  { name: 'a text message in 2 fragments', frames: ['01 83 0f1e2d3c 477b41', '80 82 deadbeef b2c2'], events: [['text', '48656c6c6f']] },
  {
    name: 'a text message in 3 fragments',
    frames: ['01 82 5a5a1234 123f', '00 82 80c0e0f0 ecac', '80 82 37fa213d 58db'],
    events: [['text', '48656c6c6f21']],
  },
  {
    name: 'a text message whose middle and last fragments are empty',
    frames: ['01 83 a1b2c3d4 c0d0a0', '00 80 0f1e2d3c', '80 80 deadbeef'],
    events: [['text', '616263']],
  },
  { name: 'a binary message in 2 fragments', frames: ['02 82 5a5a1234 5b58', '80 83 80c0e0f0 83c41f'], events: [['binary', '01020304ff']] },
  {
    name: 'a ping and a pong interleaved between fragments',
    frames: ['01 84 37fa213d 5188405a', '89 82 a1b2c3d4 c9db', '00 83 0f1e2d3c 627b43', '8a 80 deadbeef', '80 82 5a5a1234 2e29'],
    events: [['ping', '6869'], ['pong', ''], ['text', '667261676d656e7473']],
  },
  {
    name: 'a code point split across fragments ("€" = e2 82 ac)',
    frames: ['01 82 80c0e0f0 c122', '80 82 37fa213d b556'],
    events: [['text', '41e282ac']],
  },
  {
    name: 'a 4-byte code point split across 3 fragments',
    frames: ['01 82 a1b2c3d4 512d', '00 81 0f1e2d3c 97', '80 82 deadbeef 5e8c'],
    events: [['text', 'f09f988021']],
  },
  { name: 'a ping with a payload', frames: ['89 85 5a5a1234 2a337c537b'], events: [['ping', '70696e6721']] },
  { name: 'an empty ping', frames: ['89 80 80c0e0f0'], events: [['ping', '']] },
  { name: 'a pong with a payload', frames: ['8a 82 37fa213d fd04'], events: [['pong', 'cafe']] },
  {
    name: 'a ping with a 125-byte payload (largest control frame)',
    frames: ['89 fd a1b2c3d4 [d1dbadb3*31] 80'],
    events: [['ping', '[70696e67*31] 21']],
  },
  { name: 'a close frame with no payload (reported as 1005)', frames: ['88 80 0f1e2d3c'], events: [['close', 1005, '']] },
  { name: 'a close frame with a code', frames: ['88 82 deadbeef dd45'], events: [['close', 1000, '']] },
  {
    name: 'a close frame with a code and a reason',
    frames: ['88 98 5a5a1234 59b3755b333475143b2d734d7ab892a07a386b517ab88ea7'],
    events: [['close', 1001, 'going away — bye ✓']],
  },
  {
    name: 'several frames in one chunk',
    frames: ['81 83 80c0e0f0 efae85', '82 82 37fa213d 35f8', '89 80 a1b2c3d4', '01 84 0f1e2d3c 6971584e', '80 81 deadbeef ff', '8a 81 5a5a1234 2a', '88 86 80c0e0f0 8328849feea5'],
    events: [['text', '6f6e65'], ['binary', '0202'], ['ping', ''], ['text', '666f757221'], ['pong', '70'], ['close', 1000, 'done']],
  },
  { name: 'a close frame inside a fragmented message', frames: ['01 83 37fa213d 479b53', '88 82 a1b2c3d4 a25b'], events: [['close', 1001, '']] },
  { name: 'frames after a close frame (ignored)', frames: ['88 82 0f1e2d3c 0cf6', '81 84 deadbeef b2ccca8a'], events: [['close', 1000, '']] },
  {
    name: 'a message exactly at maxMessageSize',
    frames: ['81 85 5a5a1234 6b6821006f'],
    events: [['text', '3132333435']],
    options: { maxMessageSize: 5 },
  },
  {
    name: 'a fragmented message exactly at maxMessageSize',
    frames: ['02 83 80c0e0f0 81c2e3', '80 82 37fa213d 33ff'],
    events: [['binary', '0102030405']],
    options: { maxMessageSize: 5 },
  },
  // Every close code a peer may send (RFC 6455 §7.4.1, §7.4.2, IANA registry).
  { name: 'a close frame with code 1000', frames: ['88 82 a1b2c3d4 a25a'], events: [['close', 1000, '']] },
  { name: 'a close frame with code 1001', frames: ['88 82 0f1e2d3c 0cf7'], events: [['close', 1001, '']] },
  { name: 'a close frame with code 1002', frames: ['88 82 deadbeef dd47'], events: [['close', 1002, '']] },
  { name: 'a close frame with code 1003', frames: ['88 82 5a5a1234 59b1'], events: [['close', 1003, '']] },
  { name: 'a close frame with code 1007', frames: ['88 82 80c0e0f0 832f'], events: [['close', 1007, '']] },
  { name: 'a close frame with code 1008', frames: ['88 82 37fa213d 340a'], events: [['close', 1008, '']] },
  { name: 'a close frame with code 1009', frames: ['88 82 a1b2c3d4 a243'], events: [['close', 1009, '']] },
  { name: 'a close frame with code 1010', frames: ['88 82 0f1e2d3c 0cec'], events: [['close', 1010, '']] },
  { name: 'a close frame with code 1011', frames: ['88 82 deadbeef dd5e'], events: [['close', 1011, '']] },
  { name: 'a close frame with code 1012', frames: ['88 82 5a5a1234 59ae'], events: [['close', 1012, '']] },
  { name: 'a close frame with code 1013', frames: ['88 82 80c0e0f0 8335'], events: [['close', 1013, '']] },
  { name: 'a close frame with code 1014', frames: ['88 82 37fa213d 340c'], events: [['close', 1014, '']] },
  { name: 'a close frame with code 3000', frames: ['88 82 a1b2c3d4 aa0a'], events: [['close', 3000, '']] },
  { name: 'a close frame with code 4999', frames: ['88 82 0f1e2d3c 1c99'], events: [['close', 4999, '']] },
  // ── protocol errors ──
  { name: 'a client frame is not masked', frames: ['81 05 48656c6c6f'], events: [], error: { closeCode: 1002, code: PE.UnmaskedFrame } },
  { name: 'a client control frame is not masked', frames: ['89 00'], events: [], error: { closeCode: 1002, code: PE.UnmaskedFrame } },
  { name: 'a frame has RSV1 set', frames: ['c1 84 deadbeef acdec8de'], events: [], error: { closeCode: 1002, code: PE.UnexpectedRsv } },
  { name: 'a frame has RSV2 set', frames: ['a2 84 5a5a1234 28296406'], events: [], error: { closeCode: 1002, code: PE.UnexpectedRsv } },
  { name: 'a frame has RSV3 set', frames: ['99 84 80c0e0f0 f2b396c3'], events: [], error: { closeCode: 1002, code: PE.UnexpectedRsv } },
  // Reserved opcodes 0x3–0x7 (non-control) and 0xB–0xF (control), RFC 6455 §5.2.
  { name: 'a frame has reserved opcode 0x3', frames: ['83 81 37fa213d 4f'], events: [], error: { closeCode: 1002, code: PE.InvalidOpcode } },
  { name: 'a frame has reserved opcode 0x4', frames: ['84 81 a1b2c3d4 d9'], events: [], error: { closeCode: 1002, code: PE.InvalidOpcode } },
  { name: 'a frame has reserved opcode 0x5', frames: ['85 81 0f1e2d3c 77'], events: [], error: { closeCode: 1002, code: PE.InvalidOpcode } },
  { name: 'a frame has reserved opcode 0x6', frames: ['86 81 deadbeef a6'], events: [], error: { closeCode: 1002, code: PE.InvalidOpcode } },
  { name: 'a frame has reserved opcode 0x7', frames: ['87 81 5a5a1234 22'], events: [], error: { closeCode: 1002, code: PE.InvalidOpcode } },
  { name: 'a frame has reserved opcode 0xB', frames: ['8b 81 80c0e0f0 f8'], events: [], error: { closeCode: 1002, code: PE.InvalidOpcode } },
  { name: 'a frame has reserved opcode 0xC', frames: ['8c 81 37fa213d 4f'], events: [], error: { closeCode: 1002, code: PE.InvalidOpcode } },
  { name: 'a frame has reserved opcode 0xD', frames: ['8d 81 a1b2c3d4 d9'], events: [], error: { closeCode: 1002, code: PE.InvalidOpcode } },
  { name: 'a frame has reserved opcode 0xE', frames: ['8e 81 0f1e2d3c 77'], events: [], error: { closeCode: 1002, code: PE.InvalidOpcode } },
  { name: 'a frame has reserved opcode 0xF', frames: ['8f 81 deadbeef a6'], events: [], error: { closeCode: 1002, code: PE.InvalidOpcode } },
  {
    name: 'a ping carries 126 bytes',
    frames: ['89 fe 007e 5a5a1234 [2a337c53*31] 7b7b'],
    events: [],
    error: { closeCode: 1002, code: PE.ControlFrameTooLarge },
  },
  {
    name: 'a close frame carries 126 bytes',
    frames: ['88 fe 007e 80c0e0f0 [83288192*31] e3a4'],
    events: [],
    error: { closeCode: 1002, code: PE.ControlFrameTooLarge },
  },
  { name: 'a ping is fragmented (FIN=0)', frames: ['09 81 37fa213d 56'], events: [], error: { closeCode: 1002, code: PE.FragmentedControlFrame } },
  {
    name: 'a close frame is fragmented (FIN=0)',
    frames: ['08 82 a1b2c3d4 a25a'],
    events: [],
    error: { closeCode: 1002, code: PE.FragmentedControlFrame },
  },
  {
    name: 'a continuation frame arrives with no message started',
    frames: ['80 86 0f1e2d3c 606c5d546e70'],
    events: [],
    error: { closeCode: 1002, code: PE.UnexpectedContinuation },
  },
  {
    name: 'a continuation frame follows a completed message',
    frames: ['01 81 deadbeef bf', '80 81 5a5a1234 38', '80 81 80c0e0f0 e3'],
    events: [['text', '6162']],
    error: { closeCode: 1002, code: PE.UnexpectedContinuation },
  },
  {
    name: 'a new text frame arrives inside a fragmented message',
    frames: ['01 81 37fa213d 56', '81 81 a1b2c3d4 c3'],
    events: [],
    error: { closeCode: 1002, code: PE.ExpectedContinuation },
  },
  {
    name: 'a new binary frame arrives inside a fragmented text message',
    frames: ['01 81 0f1e2d3c 6e', '02 81 deadbeef de'],
    events: [],
    error: { closeCode: 1002, code: PE.ExpectedContinuation },
  },
  { name: 'a close frame has a 1-byte payload', frames: ['88 81 5a5a1234 59'], events: [], error: { closeCode: 1002, code: PE.InvalidCloseLength } },
  // Close codes a peer must never send (RFC 6455 §7.4.1, §7.4.2).
  { name: 'a close frame carries code 0', frames: ['88 82 80c0e0f0 80c0'], events: [], error: { closeCode: 1002, code: PE.InvalidCloseCode } },
  { name: 'a close frame carries code 999', frames: ['88 82 37fa213d 341d'], events: [], error: { closeCode: 1002, code: PE.InvalidCloseCode } },
  { name: 'a close frame carries code 1004', frames: ['88 82 a1b2c3d4 a25e'], events: [], error: { closeCode: 1002, code: PE.InvalidCloseCode } },
  { name: 'a close frame carries code 1005', frames: ['88 82 0f1e2d3c 0cf3'], events: [], error: { closeCode: 1002, code: PE.InvalidCloseCode } },
  { name: 'a close frame carries code 1006', frames: ['88 82 deadbeef dd43'], events: [], error: { closeCode: 1002, code: PE.InvalidCloseCode } },
  { name: 'a close frame carries code 1015', frames: ['88 82 5a5a1234 59ad'], events: [], error: { closeCode: 1002, code: PE.InvalidCloseCode } },
  { name: 'a close frame carries code 1016', frames: ['88 82 80c0e0f0 8338'], events: [], error: { closeCode: 1002, code: PE.InvalidCloseCode } },
  { name: 'a close frame carries code 2999', frames: ['88 82 37fa213d 3c4d'], events: [], error: { closeCode: 1002, code: PE.InvalidCloseCode } },
  { name: 'a close frame carries code 5000', frames: ['88 82 a1b2c3d4 b23a'], events: [], error: { closeCode: 1002, code: PE.InvalidCloseCode } },
  { name: 'a close frame carries code 65535', frames: ['88 82 0f1e2d3c f0e1'], events: [], error: { closeCode: 1002, code: PE.InvalidCloseCode } },
  {
    name: 'a text frame holds an impossible byte 0xFF',
    frames: ['81 83 deadbeef bf52dc'],
    events: [],
    error: { closeCode: 1007, code: PE.InvalidUtf8 },
  },
  {
    name: 'a text frame holds an overlong encoding (c0 af)',
    frames: ['81 82 5a5a1234 9af5'],
    events: [],
    error: { closeCode: 1007, code: PE.InvalidUtf8 },
  },
  {
    name: 'a text frame holds a UTF-16 surrogate (ed a0 80)',
    frames: ['81 83 80c0e0f0 6d6060'],
    events: [],
    error: { closeCode: 1007, code: PE.InvalidUtf8 },
  },
  {
    name: 'a text frame holds a code point above U+10FFFF (f4 90 80 80)',
    frames: ['81 84 37fa213d c36aa1bd'],
    events: [],
    error: { closeCode: 1007, code: PE.InvalidUtf8 },
  },
  { name: 'a text message ends mid-code-point', frames: ['81 83 a1b2c3d4 e05041'], events: [], error: { closeCode: 1007, code: PE.InvalidUtf8 } },
  {
    name: 'a fragmented text message ends mid-code-point',
    frames: ['01 81 0f1e2d3c 4e', '80 83 deadbeef 2e3226'],
    events: [],
    error: { closeCode: 1007, code: PE.InvalidUtf8 },
  },
  {
    name: 'a later fragment holds invalid UTF-8 (reported before the final fragment)',
    frames: ['01 82 5a5a1234 3531', '00 81 80c0e0f0 7f'],
    events: [],
    error: { closeCode: 1007, code: PE.InvalidUtf8 },
  },
  {
    name: 'the first fragment holds 0xFF (reported before the final fragment)',
    frames: ['01 82 37fa213d 7605'],
    events: [],
    error: { closeCode: 1007, code: PE.InvalidUtf8 },
  },
  {
    name: 'the first fragment holds a surrogate (reported before the final fragment)',
    frames: ['01 83 a1b2c3d4 4c1243'],
    events: [],
    error: { closeCode: 1007, code: PE.InvalidUtf8 },
  },
  {
    name: 'the first fragment holds a surrogate and the final fragment follows',
    frames: ['01 83 0f1e2d3c e2bead', '80 84 deadbeef aaccd783'],
    events: [],
    error: { closeCode: 1007, code: PE.InvalidUtf8 },
  },
  {
    name: 'a code point split across fragments is invalid (e2 | 28)',
    frames: ['01 81 5a5a1234 b8', '00 81 80c0e0f0 a8'],
    events: [],
    error: { closeCode: 1007, code: PE.InvalidUtf8 },
  },
  { name: 'a close reason is not valid UTF-8', frames: ['88 83 37fa213d 3412e2'], events: [], error: { closeCode: 1007, code: PE.InvalidUtf8 } },
  {
    name: 'a message is over maxMessageSize',
    frames: ['81 86 a1b2c3d4 9080f0e09484'],
    events: [],
    error: { closeCode: 1009, code: PE.MessageTooBig },
    options: { maxMessageSize: 5 },
  },
  {
    name: 'a fragmented message grows over maxMessageSize',
    frames: ['02 83 0f1e2d3c 0e1c2e', '80 83 deadbeef daa8b8'],
    events: [],
    error: { closeCode: 1009, code: PE.MessageTooBig },
    options: { maxMessageSize: 5 },
  },
  {
    name: 'a message grows over maxMessageSize with a ping between fragments',
    frames: ['01 83 5a5a1234 3b3871', '89 81 80c0e0f0 f0', '80 83 37fa213d 539f47'],
    events: [['ping', '70']],
    error: { closeCode: 1009, code: PE.MessageTooBig },
    options: { maxMessageSize: 5 },
  },
  // Only a header (and masking key) is sent: the limit is enforced before any payload arrives.
  {
    name: 'a frame header claims 10 MB with maxMessageSize 1 MiB',
    frames: ['82 ff 0000000000a00000 37fa213d'],
    events: [],
    error: { closeCode: 1009, code: PE.MessageTooBig },
    options: { maxMessageSize: 1024 * 1024 },
  },
  {
    name: 'a 64-bit length is 2^32 + 5 (its low word alone would fit)',
    frames: ['82 ff 0000000100000005 37fa213d 0102030405'],
    events: [],
    error: { closeCode: 1009, code: PE.MessageTooBig },
  },
  {
    name: 'a 64-bit length exceeds 2^53',
    frames: ['82 ff 0020000000000000 37fa213d'],
    events: [],
    error: { closeCode: 1009, code: PE.MessageTooBig },
  },
  {
    name: 'a 64-bit length has its top bit set',
    frames: ['82 ff 8000000000000005 37fa213d 0102030405'],
    events: [],
    error: { closeCode: 1002, code: PE.InvalidLength },
  },
  {
    name: 'an error is followed by more frames in the same chunk (ignored)',
    frames: ['81 82 a1b2c3d4 ced9', '81 01 78', '81 84 0f1e2d3c 637f5959'],
    events: [['text', '6f6b']],
    error: { closeCode: 1002, code: PE.UnmaskedFrame },
  },
];

/** Expand the table's hex notation (whitespace, `[hex*N]`) to plain lower-case hex. */
export function expandHex(spec: string): string {
  const hex = spec
    .replace(/\[([0-9a-fA-F]*)\*(\d+)\]/g, (_, unit: string, times: string) => unit.repeat(Number(times)))
    .replace(/\s+/g, '')
    .toLowerCase();
  if (!/^(?:[0-9a-f]{2})*$/.test(hex)) throw new SyntaxError(`bad hex in frame table: ${spec.slice(0, 60)}`);
  return hex;
}

/** Fresh buffers, one per frame of the case. */
export function caseFrames(c: FrameCase): Buffer[] {
  return c.frames.map((spec) => Buffer.from(expandHex(spec), 'hex'));
}

/** A fresh buffer holding every frame of the case, back to back. */
export function caseBytes(c: FrameCase): Buffer {
  return Buffer.concat(caseFrames(c));
}

/** A reported event, as a test recorder writes it down (an error is the last one). */
export type RecordedEvent = FrameEvent | readonly ['error', number, string];

/** Everything the parser must report for the case, with payload hex expanded. */
export function expectedEvents(c: FrameCase): RecordedEvent[] {
  const out: RecordedEvent[] = c.events.map((e) => (e[0] === 'close' ? e : [e[0], expandHex(e[1])]));
  if (c.error !== undefined) out.push(['error', c.error.closeCode, c.error.code]);
  return out;
}

/** Whether the case ends the parser: with a close frame or a protocol error. */
export function caseEndsParsing(c: FrameCase): boolean {
  return c.error !== undefined || c.events.some((e) => e[0] === 'close');
}
