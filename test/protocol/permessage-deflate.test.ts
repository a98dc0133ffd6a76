import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { constants as zlibConstants, createDeflateRaw, deflateRawSync, inflateRawSync, type DeflateRaw } from 'node:zlib';
import { OpCode } from '../../src/protocol/constants.js';
import { ProtocolError, ProtocolErrorCode } from '../../src/protocol/errors.js';
import {
  InflateContext,
  compressMessage,
  encodeCompressedFrame,
  encodeMessageFrame,
  inflateMessage,
  negotiatePerMessageDeflate,
  validateInflatedText,
  type DeflateParams,
  type PerMessageDeflateOptions,
} from '../../src/protocol/permessage-deflate.js';
import { decodeFrame, prng, randInt, randomBytes } from './harness.js';

const ON: PerMessageDeflateOptions = { enabled: true };
const STATELESS = 'permessage-deflate; server_no_context_takeover; client_no_context_takeover';
const SYNC = { finishFlush: zlibConstants.Z_SYNC_FLUSH };

/** Agreed params for `header` under `options`; fails the test when nothing is agreed. */
function agree(header: string, options: PerMessageDeflateOptions = ON): DeflateParams {
  const result = negotiatePerMessageDeflate(header, options);
  assert.ok(result !== undefined, `no agreement for ${header}`);
  return result.params;
}

/** JSON-like text that compresses well, about `size` bytes. */
function jsonLike(size: number, seed = 1): Buffer {
  const rand = prng(seed);
  let out = '[';
  while (out.length < size) out += `{"id":${randInt(rand, 1e6)},"topic":"prices.btc","side":"${rand() < 0.5 ? 'buy' : 'sell'}"},`;
  return Buffer.from(out.slice(0, size));
}

function hex(s: string): Buffer {
  return Buffer.from(s.replace(/\s+/g, ''), 'hex');
}

interface NegotiationCase {
  name: string;
  header: string;
  options?: PerMessageDeflateOptions;
  /** The response header value, or undefined when the extension is not agreed. */
  response: string | undefined;
  params?: Partial<DeflateParams>;
}

const NEGOTIATION_CASES: readonly NegotiationCase[] = [
  // ── offers sent by real clients with their default settings ──
  {
    name: 'Chrome (permessage-deflate; client_max_window_bits)',
    header: 'permessage-deflate; client_max_window_bits',
    response: STATELESS,
    params: { clientNoContextTakeover: true, serverMaxWindowBits: 15, clientMaxWindowBits: 15 },
  },
  { name: 'the ws package 8.x', header: 'permessage-deflate; client_max_window_bits', response: STATELESS },
  { name: 'Python websockets 10.4', header: 'permessage-deflate; client_max_window_bits', response: STATELESS },
  {
    name: 'Firefox and Safari (permessage-deflate, no parameters)',
    header: 'permessage-deflate',
    response: STATELESS,
    params: { clientNoContextTakeover: true, serverMaxWindowBits: 15, clientMaxWindowBits: 15 },
  },
  {
    name: 'gorilla/websocket (both no_context_takeover parameters)',
    header: 'permessage-deflate; server_no_context_takeover; client_no_context_takeover',
    response: STATELESS,
  },
  {
    name: 'Python websockets with window bits 12 on both sides',
    header: 'permessage-deflate; server_max_window_bits=12; client_max_window_bits=12',
    response: `${STATELESS}; server_max_window_bits=12`,
    params: { serverMaxWindowBits: 12, clientMaxWindowBits: 15 },
  },
  // ── window bits ──
  {
    name: 'server_max_window_bits=8 (zlib raises 8 to 9 but stays within 250 bytes)',
    header: 'permessage-deflate; server_max_window_bits=8',
    response: `${STATELESS}; server_max_window_bits=8`,
    params: { serverMaxWindowBits: 8 },
  },
  {
    name: 'server_max_window_bits=15 is answered, as acceptance requires (§7.1.2.1)',
    header: 'permessage-deflate; server_max_window_bits=15',
    response: `${STATELESS}; server_max_window_bits=15`,
  },
  {
    name: 'a client window smaller than ours is lowered to the offered value',
    header: 'permessage-deflate; server_max_window_bits=10',
    options: { enabled: true, serverMaxWindowBits: 12 },
    response: `${STATELESS}; server_max_window_bits=10`,
    params: { serverMaxWindowBits: 10 },
  },
  {
    name: 'an offered window larger than ours is answered with ours',
    header: 'permessage-deflate; server_max_window_bits=14',
    options: { enabled: true, serverMaxWindowBits: 12 },
    response: `${STATELESS}; server_max_window_bits=12`,
    params: { serverMaxWindowBits: 12 },
  },
  {
    name: 'our smaller window is announced even when not offered (§7.1.2.1)',
    header: 'permessage-deflate',
    options: { enabled: true, serverMaxWindowBits: 11 },
    response: `${STATELESS}; server_max_window_bits=11`,
    params: { serverMaxWindowBits: 11 },
  },
  // ── client context takeover allowed ──
  {
    name: 'Chrome, client context takeover allowed: no client_no_context_takeover',
    header: 'permessage-deflate; client_max_window_bits',
    options: { enabled: true, allowClientContextTakeover: true },
    response: 'permessage-deflate; server_no_context_takeover',
    params: { clientNoContextTakeover: false, clientMaxWindowBits: 15 },
  },
  {
    name: 'client context takeover allowed, client_no_context_takeover offered: echoed',
    header: 'permessage-deflate; client_no_context_takeover',
    options: { enabled: true, allowClientContextTakeover: true },
    response: STATELESS,
    params: { clientNoContextTakeover: true },
  },
  {
    name: 'client context takeover allowed and clientMaxWindowBits 10: the limit is sent to a client that offered it',
    header: 'permessage-deflate; client_max_window_bits',
    options: { enabled: true, allowClientContextTakeover: true, clientMaxWindowBits: 10 },
    response: 'permessage-deflate; server_no_context_takeover; client_max_window_bits=10',
    params: { clientNoContextTakeover: false, clientMaxWindowBits: 10 },
  },
  {
    name: 'client context takeover allowed: an offered client window is echoed',
    header: 'permessage-deflate; client_max_window_bits=9',
    options: { enabled: true, allowClientContextTakeover: true, clientMaxWindowBits: 12 },
    response: 'permessage-deflate; server_no_context_takeover; client_max_window_bits=9',
    params: { clientMaxWindowBits: 9 },
  },
  {
    name: 'client context takeover allowed: no client_max_window_bits to a client that did not offer it (§7.1.2.2)',
    header: 'permessage-deflate',
    options: { enabled: true, allowClientContextTakeover: true, clientMaxWindowBits: 10 },
    response: 'permessage-deflate; server_no_context_takeover',
    params: { clientNoContextTakeover: false, clientMaxWindowBits: 15 },
  },
  // ── syntax (RFC 6455 §9.1) ──
  { name: 'names in mixed case', header: 'PerMessage-Deflate; Client_Max_Window_Bits', response: STATELESS },
  {
    name: 'whitespace around every separator',
    header: '  permessage-deflate ;\tserver_max_window_bits = 10 ; client_max_window_bits ,  ',
    response: `${STATELESS}; server_max_window_bits=10`,
  },
  {
    name: 'a quoted value',
    header: 'permessage-deflate; server_max_window_bits="10"',
    response: `${STATELESS}; server_max_window_bits=10`,
  },
  {
    name: 'a quoted value with a quoted-pair',
    header: 'permessage-deflate; server_max_window_bits="1\\1"',
    response: `${STATELESS}; server_max_window_bits=11`,
  },
  {
    name: 'another extension first, with a comma inside a quoted value',
    header: 'x-custom; note="a, b; c", permessage-deflate',
    response: STATELESS,
  },
  { name: 'empty list elements', header: ', ,permessage-deflate,,', response: STATELESS },
  { name: 'only other extensions', header: 'x-webkit-deflate-frame, deflate-frame', response: undefined },
  { name: 'an empty header', header: '', response: undefined },
  { name: 'a parameter with an empty name', header: 'permessage-deflate;', response: undefined },
  { name: 'a list starting with a parameter', header: ';permessage-deflate', response: undefined },
  { name: 'a parameter with no value after "="', header: 'permessage-deflate; server_max_window_bits=', response: undefined },
  { name: 'an unterminated quoted value', header: 'permessage-deflate; server_max_window_bits="10', response: undefined },
  { name: 'two tokens without a separator', header: 'permessage-deflate client_max_window_bits', response: undefined },
  { name: 'a control character in a quoted value', header: 'permessage-deflate; x="a\x01"', response: undefined },
  // ── offers that must be declined (RFC 7692 §5) ──
  { name: 'an unknown parameter', header: 'permessage-deflate; mux', response: undefined },
  { name: 'server_max_window_bits without a value', header: 'permessage-deflate; server_max_window_bits', response: undefined },
  { name: 'server_max_window_bits=7', header: 'permessage-deflate; server_max_window_bits=7', response: undefined },
  { name: 'server_max_window_bits=16', header: 'permessage-deflate; server_max_window_bits=16', response: undefined },
  { name: 'server_max_window_bits with a leading zero', header: 'permessage-deflate; server_max_window_bits=09', response: undefined },
  { name: 'server_max_window_bits not a number', header: 'permessage-deflate; server_max_window_bits=x', response: undefined },
  { name: 'client_max_window_bits=16', header: 'permessage-deflate; client_max_window_bits=16', response: undefined },
  { name: 'client_max_window_bits=0', header: 'permessage-deflate; client_max_window_bits=0', response: undefined },
  { name: 'server_no_context_takeover with a value', header: 'permessage-deflate; server_no_context_takeover=1', response: undefined },
  { name: 'client_no_context_takeover with an empty quoted value', header: 'permessage-deflate; client_no_context_takeover=""', response: undefined },
  {
    name: 'a repeated parameter',
    header: 'permessage-deflate; client_max_window_bits; client_max_window_bits',
    response: undefined,
  },
  {
    name: 'a parameter repeated in another case',
    header: 'permessage-deflate; server_no_context_takeover; Server_No_Context_Takeover',
    response: undefined,
  },
  // ── several offers: the first acceptable one wins ──
  {
    name: 'an invalid offer, then a fallback',
    header: 'permessage-deflate; server_max_window_bits=16, permessage-deflate; client_max_window_bits',
    response: STATELESS,
  },
  {
    name: 'an offer with an unknown parameter, then one with a window',
    header: 'permessage-deflate; x_future, permessage-deflate; server_max_window_bits=10',
    response: `${STATELESS}; server_max_window_bits=10`,
  },
  {
    name: 'two acceptable offers: the first',
    header: 'permessage-deflate; server_max_window_bits=10, permessage-deflate',
    response: `${STATELESS}; server_max_window_bits=10`,
  },
  {
    name: 'no acceptable offer among several',
    header: 'permessage-deflate; a, permessage-deflate; server_max_window_bits=4',
    response: undefined,
  },
  // ── disabled ──
  { name: 'Chrome while the extension is disabled', header: 'permessage-deflate', options: {}, response: undefined },
];

describe('negotiatePerMessageDeflate', () => {
  for (const c of NEGOTIATION_CASES) {
    const verdict = c.response === undefined ? 'declines' : `answers "${c.response}" to`;
    it(`${verdict} ${c.name}`, () => {
      const result = negotiatePerMessageDeflate(c.header, c.options ?? ON);
      assert.equal(result?.response, c.response);
      if (result === undefined) return;
      assert.equal(result.params.serverNoContextTakeover, true, 'server_no_context_takeover is always agreed');
      assert.ok(Object.isFrozen(result.params));
      for (const [key, value] of Object.entries(c.params ?? {})) {
        assert.equal(result.params[key as keyof DeflateParams], value, key);
      }
    });
  }

  it('copies the compressor settings into the params', () => {
    const params = agree('permessage-deflate', { enabled: true, threshold: 64, level: 5, memLevel: 4 });
    assert.deepEqual(
      { threshold: params.threshold, level: params.level, memLevel: params.memLevel },
      { threshold: 64, level: 5, memLevel: 4 },
    );
    const defaults = agree('permessage-deflate');
    assert.deepEqual({ threshold: defaults.threshold, level: defaults.level, memLevel: defaults.memLevel }, { threshold: 256, level: 2, memLevel: 8 });
  });

  it('throws RangeError for out-of-range options, even when disabled', () => {
    for (const bad of [
      { level: 10 },
      { level: -1 },
      { memLevel: 0 },
      { memLevel: 10 },
      { serverMaxWindowBits: 7 },
      { serverMaxWindowBits: 16 },
      { clientMaxWindowBits: 7 },
      { threshold: -1 },
      { threshold: 1.5 },
    ] as PerMessageDeflateOptions[]) {
      assert.throws(() => negotiatePerMessageDeflate('permessage-deflate', { enabled: true, ...bad }), RangeError, JSON.stringify(bad));
      assert.throws(() => negotiatePerMessageDeflate('permessage-deflate', bad), RangeError, JSON.stringify(bad));
    }
  });
});

describe('compressMessage and encodeCompressedFrame', () => {
  const params = agree('permessage-deflate');

  it('compresses "Hello" to the bytes of RFC 7692 §7.2.3.1 and frames it with RSV1', () => {
    const compressed = compressMessage(Buffer.from('Hello'), params);
    assert.equal(compressed.toString('hex'), 'f248cdc9c90700');
    assert.equal(encodeCompressedFrame(OpCode.Text, compressed).toString('hex'), 'c107f248cdc9c90700');
  });

  it('compresses an empty message to the single byte 0x00 (RFC 7692 §7.2.3.6)', () => {
    assert.equal(compressMessage(Buffer.alloc(0), params).toString('hex'), '00');
  });

  it('strips exactly the 0x00 0x00 0xff 0xff tail of a sync flush (§7.2.1)', () => {
    const rand = prng(7);
    for (const size of [0, 1, 100, 5000, 70_000]) {
      const payload = randomBytes(rand, size);
      const full = deflateRawSync(payload, { level: params.level, memLevel: params.memLevel, ...SYNC });
      assert.equal(full.subarray(-4).toString('hex'), '0000ffff');
      assert.deepEqual(compressMessage(payload, params), full.subarray(0, -4));
    }
  });

  it('frames binary messages and uses the 16- and 64-bit lengths', () => {
    for (const size of [125, 126, 65535, 65536]) {
      const frame = encodeCompressedFrame(OpCode.Binary, Buffer.alloc(size, 1));
      const d = decodeFrame(frame);
      assert.deepEqual([d.fin, d.rsv, d.opcode, d.masked, d.declaredLength, d.minimalLength], [true, 0x40, 2, false, size, true]);
    }
  });

  it('refuses to compress control frames (RFC 7692 §6.1)', () => {
    for (const opcode of [OpCode.Ping, OpCode.Pong, OpCode.Close, OpCode.Continuation]) {
      assert.throws(() => encodeCompressedFrame(opcode, Buffer.from('00', 'hex')), RangeError);
    }
  });

  it('makes the same frame every time for the same message: compress once, write to every subscriber', () => {
    const payload = jsonLike(20_000);
    const other = agree('permessage-deflate; client_max_window_bits');
    const first = encodeMessageFrame(OpCode.Text, payload, params);
    assert.deepEqual(encodeMessageFrame(OpCode.Text, payload, params), first);
    assert.deepEqual(encodeMessageFrame(OpCode.Text, payload, other), first, 'another connection with the same window bits');
    assert.deepEqual(encodeMessageFrame(OpCode.Text, payload.toString('latin1'), params), first, 'string payload');
    // Interleaving other messages changes nothing: there is no context between messages.
    encodeMessageFrame(OpCode.Text, jsonLike(5000, 9), params);
    assert.deepEqual(encodeMessageFrame(OpCode.Text, payload, params), first);
  });
});

describe('encodeMessageFrame', () => {
  const params = agree('permessage-deflate');

  it('sends messages below the threshold uncompressed and compresses from the threshold on', () => {
    for (const size of [0, 1, 255]) {
      const frame = encodeMessageFrame(OpCode.Text, jsonLike(size), params);
      assert.equal(decodeFrame(frame).rsv, 0, `${size} bytes`);
      assert.deepEqual(decodeFrame(frame).payload, jsonLike(size));
    }
    for (const size of [256, 257, 4000]) {
      const frame = encodeMessageFrame(OpCode.Text, jsonLike(size), params);
      const d = decodeFrame(frame);
      assert.equal(d.rsv, 0x40, `${size} bytes`);
      assert.ok(d.payload.length < size);
      assert.deepEqual(inflateMessage(d.payload, size), jsonLike(size));
    }
  });

  it('honours a custom threshold, including 0', () => {
    const zero = agree('permessage-deflate', { enabled: true, threshold: 0 });
    assert.equal(decodeFrame(encodeMessageFrame(OpCode.Text, 'aaaaaaaaaa', zero)).rsv, 0x40);
    const big = agree('permessage-deflate', { enabled: true, threshold: 10_000 });
    assert.equal(decodeFrame(encodeMessageFrame(OpCode.Text, jsonLike(9999), big)).rsv, 0);
  });

  it('sends a message uncompressed when deflate would not make it smaller', () => {
    const noise = randomBytes(prng(3), 1000);
    const frame = encodeMessageFrame(OpCode.Binary, noise, params);
    assert.equal(decodeFrame(frame).rsv, 0);
    assert.deepEqual(decodeFrame(frame).payload, noise);
  });

  it('never compresses control frames', () => {
    const frame = encodeMessageFrame(OpCode.Ping, 'a'.repeat(125), agree('permessage-deflate', { enabled: true, threshold: 0 }));
    assert.equal(decodeFrame(frame).rsv, 0);
  });
});

describe('inflateMessage', () => {
  const params = agree('permessage-deflate');

  it('inflates the examples of RFC 7692 §7.2.3', () => {
    const examples: [string, string][] = [
      ['f248cdc9c90700', 'Hello'], // §7.2.3.1
      ['00 0500 faff 48656c6c6f 00', 'Hello'], // §7.2.3.3, a stored block
      ['f3 48cdc9c90700 00', 'Hello'], // §7.2.3.4, BFINAL set
      ['f24805000000ffff cac9c90700', 'Hello'], // §7.2.3.5, two blocks
      ['00', ''], // §7.2.3.6, an empty message
    ];
    for (const [compressed, text] of examples) {
      assert.equal((inflateMessage(hex(compressed), 1000) as Buffer).toString(), text, compressed);
    }
  });

  it('treats an empty compressed payload as an empty message', () => {
    assert.deepEqual(inflateMessage(Buffer.alloc(0), 10), Buffer.alloc(0));
  });

  it('round-trips random and compressible payloads of many sizes', () => {
    const rand = prng(0xdef1a7e);
    const sizes = [0, 1, 2, 255, 256, 257, 1023, 1024, 16_383, 16_384, 16_385, 65_536, 300_000];
    for (const size of sizes) {
      for (const payload of [randomBytes(rand, size), jsonLike(size, size), Buffer.alloc(size, 0x61)]) {
        const out = inflateMessage(compressMessage(payload, params), size);
        assert.ok(Buffer.isBuffer(out), `${size} bytes: ${String(out)}`);
        assert.deepEqual(out, payload, `${size} bytes`);
      }
    }
    for (let i = 0; i < 200; i++) {
      const payload = randomBytes(rand, randInt(rand, 600));
      assert.deepEqual(inflateMessage(compressMessage(payload, params), 600), payload);
    }
  });

  it('round-trips at every window size and level', () => {
    const payload = jsonLike(50_000, 4);
    for (let bits = 8; bits <= 15; bits++) {
      for (const level of [0, 1, 2, 6, 9]) {
        const p = agree(`permessage-deflate; server_max_window_bits=${bits}`, { enabled: true, level });
        assert.equal(p.serverMaxWindowBits, bits);
        assert.deepEqual(inflateMessage(compressMessage(payload, p), payload.length), payload, `bits ${bits} level ${level}`);
      }
    }
  });

  it('respects server_max_window_bits=8: the output inflates with a 256-byte window', () => {
    const p8 = agree('permessage-deflate; server_max_window_bits=8', { enabled: true, level: 9 });
    const p10 = agree('permessage-deflate; server_max_window_bits=10');
    const rand = prng(88);
    // Tiny output chunks force back-references out of zlib's window, not its output buffer.
    const strict = { windowBits: 8, chunkSize: 64, ...SYNC };
    for (let i = 0; i < 60; i++) {
      const period = 200 + randInt(rand, 120);
      const unit = randomBytes(rand, period);
      const payload = Buffer.concat(Array.from({ length: 12 }, () => unit));
      assert.deepEqual(inflateRawSync(Buffer.concat([compressMessage(payload, p8), hex('0000ffff')]), strict), payload);
      if (period > 256) {
        // The check is sensitive: a 1 KiB window's output does not fit.
        assert.throws(() => inflateRawSync(Buffer.concat([compressMessage(payload, p10), hex('0000ffff')]), strict), /too far back/);
      }
    }
  });

  it('accepts a message of exactly maxSize bytes and refuses one byte more with 1009', () => {
    const payload = jsonLike(5000);
    const compressed = compressMessage(payload, params);
    assert.deepEqual(inflateMessage(compressed, 5000), payload);
    const error = inflateMessage(compressed, 4999);
    assert.ok(error instanceof ProtocolError);
    assert.equal(error.name, 'ProtocolError');
    assert.deepEqual([error.code, error.closeCode], [ProtocolErrorCode.MessageTooBig, 1009]);
    assert.deepEqual(inflateMessage(compressMessage(Buffer.alloc(0), params), 0), Buffer.alloc(0));
    const one = inflateMessage(compressMessage(Buffer.from('x'), params), 0);
    assert.ok(one instanceof ProtocolError && one.closeCode === 1009);
  });

  it('refuses a zip bomb (10 MB of zeros) against a 1 MiB limit without inflating it all', () => {
    const bomb = compressMessage(Buffer.alloc(10 * 1024 * 1024), params);
    assert.ok(bomb.length < 64 * 1024, `the bomb is ${bomb.length} bytes`);
    const before = process.memoryUsage().arrayBuffers;
    const error = inflateMessage(bomb, 1024 * 1024);
    const grown = process.memoryUsage().arrayBuffers - before;
    assert.ok(error instanceof ProtocolError);
    assert.deepEqual([error.code, error.closeCode], [ProtocolErrorCode.MessageTooBig, 1009]);
    assert.ok(error.cause instanceof RangeError, 'the zlib error is the cause');
    // Stopping at the limit holds ~1 MiB of output chunks; inflating it all would hold 10 MB or more.
    assert.ok(grown < 4 * 1024 * 1024, `external memory grew by ${grown} bytes`);
  });

  it('refuses data zlib cannot inflate with 1007', () => {
    for (const bad of ['ff', 'ffffffff', '0700', 'f248cdc9c90700 07']) {
      const error = inflateMessage(hex(bad), 1000);
      assert.ok(error instanceof ProtocolError, bad);
      assert.deepEqual([error.code, error.closeCode], [ProtocolErrorCode.InvalidCompressedData, 1007], bad);
      assert.ok(error.cause instanceof Error);
    }
  });

  it('refuses a back-reference into a previous message when the client may not keep context', () => {
    // RFC 7692 §7.2.3.2: the second "Hello" refers to the first.
    const error = inflateMessage(hex('f200110000'), 1000);
    assert.ok(error instanceof ProtocolError);
    assert.equal(error.closeCode, 1007);
  });

  it('throws RangeError for a negative or NaN maxSize', () => {
    assert.throws(() => inflateMessage(hex('00'), -1), RangeError);
    assert.throws(() => inflateMessage(hex('00'), Number.NaN), RangeError);
  });
});

describe('validateInflatedText', () => {
  it('accepts valid UTF-8 and refuses invalid UTF-8 with 1007', () => {
    assert.equal(validateInflatedText(Buffer.from('héllo wörld ✓')), undefined);
    assert.equal(validateInflatedText(Buffer.alloc(0)), undefined);
    for (const bad of ['ff', 'c0af', 'eda080', 'e282']) {
      const error = validateInflatedText(hex(bad));
      assert.ok(error instanceof ProtocolError, bad);
      assert.deepEqual([error.code, error.closeCode], [ProtocolErrorCode.InvalidUtf8, 1007]);
    }
  });
});

/** Messages compressed the way a context-keeping client does: one raw deflate stream, sync-flushed per message. */
async function contextTakeoverMessages(messages: readonly Buffer[], windowBits: number): Promise<Buffer[]> {
  const deflate: DeflateRaw = createDeflateRaw({ windowBits, level: 6 });
  const out: Buffer[] = [];
  for (const message of messages) {
    const chunks: Buffer[] = [];
    const onData = (chunk: Buffer): void => void chunks.push(chunk);
    deflate.on('data', onData);
    deflate.write(message);
    await new Promise<void>((resolve) => deflate.flush(zlibConstants.Z_SYNC_FLUSH, () => resolve()));
    deflate.off('data', onData);
    const data = Buffer.concat(chunks);
    assert.equal(data.subarray(-4).toString('hex'), '0000ffff');
    out.push(data.subarray(0, -4));
  }
  deflate.close();
  return out;
}

describe('InflateContext (client context takeover)', () => {
  it('inflates the two "Hello" messages of RFC 7692 §7.2.3.2', () => {
    const context = new InflateContext();
    assert.equal(context.size, 0);
    assert.equal((inflateMessage(hex('f248cdc9c90700'), 100, context) as Buffer).toString(), 'Hello');
    assert.equal((inflateMessage(hex('f200110000'), 100, context) as Buffer).toString(), 'Hello');
    assert.equal(context.size, 10);
  });

  for (const windowBits of [15, 10, 9, 8]) {
    it(`follows a real context-keeping deflate stream with a ${windowBits}-bit window`, async () => {
      const rand = prng(windowBits);
      const messages: Buffer[] = [];
      for (let i = 0; i < 40; i++) {
        const size = i % 10 === 9 ? 40_000 + randInt(rand, 5000) : randInt(rand, 3000);
        messages.push(jsonLike(size, 1 + (i % 3)));
      }
      const compressed = await contextTakeoverMessages(messages, windowBits);
      const context = new InflateContext(windowBits);
      for (let i = 0; i < messages.length; i++) {
        const out = inflateMessage(compressed[i], 1 << 20, context);
        assert.ok(Buffer.isBuffer(out), `message ${i}: ${String(out)}`);
        assert.deepEqual(out, messages[i], `message ${i}`);
        assert.ok(context.size <= context.windowSize);
      }
      assert.equal(context.windowSize, 1 << Math.max(9, windowBits));
      // The history mattered: some messages refer back to earlier ones and cannot be inflated alone.
      const dependent = compressed.filter((c) => inflateMessage(c, 1 << 20) instanceof ProtocolError);
      assert.ok(dependent.length > 0, 'some message refers back to an earlier one');
    });
  }

  it('keeps only the last windowSize bytes of history', () => {
    const context = new InflateContext(9);
    const a = Buffer.alloc(300, 0x61);
    const b = Buffer.alloc(300, 0x62);
    context.remember(a);
    assert.deepEqual(context.dictionary(), a);
    context.remember(b);
    assert.deepEqual(context.dictionary(), Buffer.concat([a.subarray(88), b]));
    context.remember(Buffer.alloc(0));
    assert.equal(context.size, 512);
    const big = randomBytes(prng(1), 2000);
    context.remember(big);
    assert.deepEqual(context.dictionary(), big.subarray(-512));
  });

  it('is not changed by a refused message', () => {
    const context = new InflateContext();
    inflateMessage(hex('f248cdc9c90700'), 100, context);
    assert.ok(inflateMessage(compressMessage(Buffer.alloc(1000), agree('permessage-deflate')), 10, context) instanceof ProtocolError);
    assert.equal(context.size, 5);
  });

  it('throws RangeError for window bits outside 8..15', () => {
    assert.throws(() => new InflateContext(7), RangeError);
    assert.throws(() => new InflateContext(16), RangeError);
    assert.equal(new InflateContext(8).windowSize, 512);
  });
});
