/**
 * permessage-deflate (RFC 7692), the protocol half: offer negotiation, a
 * stateless compressor whose output serves every subscriber, and inflation of
 * client messages with a hard output limit. No sockets, no streams: every
 * zlib call here is synchronous and owns no state between messages.
 */
import { isUtf8 } from 'node:buffer';
import { constants as zlibConstants, deflateRawSync, inflateRawSync, type ZlibOptions } from 'node:zlib';
import { CloseCode, OpCode } from './constants.js';
import { ProtocolError, ProtocolErrorCode } from './errors.js';
import { formatExtension, parseExtensionHeader, type ExtensionParam } from './extension-header.js';
import { encodeFrame } from './frame-encoder.js';

/** The extension token (RFC 7692 §5). */
export const PERMESSAGE_DEFLATE = 'permessage-deflate';

/** Server-wide settings of permessage-deflate. */
export interface PerMessageDeflateOptions {
  /** Negotiate the extension at all; default false (the gateway's configuration decides). */
  enabled?: boolean;
  /**
   * Messages shorter than this many bytes are sent uncompressed; default 256.
   * RFC 7692 §6 lets the sender choose per message (RSV1 clear = not
   * compressed). Below a few hundred bytes deflate saves little and each call
   * costs ~10 µs of zlib set-up.
   */
  threshold?: number;
  /**
   * zlib level 0–9; default 2. Fan-out compresses once per message, so this is
   * paid once per publish, yet it is paid on the publish path: on JSON of
   * 2–200 KB (Node 20), level 2 ran as fast as level 1 and 1.3–3× faster than
   * level 6 (the larger the message, the bigger the gap), for output 4–16 %
   * larger than level 6's.
   */
  level?: number;
  /** zlib memLevel 1–9; default 8 (zlib's default; 9 measured no faster). */
  memLevel?: number;
  /**
   * Largest LZ77 window the server compresses with, as bits (8–15); default
   * 15. A client's `server_max_window_bits` can lower it further per
   * connection. Smaller windows compress worse; the compressor is transient
   * (one per message), so this saves no idle memory.
   */
  serverMaxWindowBits?: number;
  /**
   * Let a client that did not offer `client_no_context_takeover` keep its
   * compression context between messages; default false. False: every
   * response carries `client_no_context_takeover` (RFC 7692 §7.1.1.2 lets a
   * server include it unconditionally), so no connection ever holds an
   * inflate window. True: the parameter is echoed only when offered, and a
   * connection whose params say `clientNoContextTakeover: false` needs an
   * {@link InflateContext} (up to 32 KiB per connection once it has sent a
   * compressed message). Only worth it for a client that refuses the
   * parameter.
   */
  allowClientContextTakeover?: boolean;
  /**
   * Window bits (8–15) to ask context-keeping clients to stay within, which
   * bounds their {@link InflateContext}; default 15. Only sent to a client
   * that offered `client_max_window_bits` (§7.1.2.2 forbids it otherwise) and
   * only when `allowClientContextTakeover` is on — without context takeover
   * the client's window costs the server nothing between messages.
   */
  clientMaxWindowBits?: number;
}

/**
 * What one connection agreed to, plus the compressor settings that go with
 * it. Frozen. Compressed bytes depend only on the payload, `serverMaxWindowBits`,
 * `level` and `memLevel`; the last two are server-wide, so a prepared frame
 * can be shared by every subscriber with the same `serverMaxWindowBits`
 * (15 for nearly every client).
 */
export interface DeflateParams {
  /** Always true: every message is compressed with a fresh context (§7.1.1.1). */
  readonly serverNoContextTakeover: true;
  /**
   * True: the client starts each message with an empty window, so messages
   * inflate statelessly. False only with `allowClientContextTakeover`: inflate
   * through one {@link InflateContext} per connection.
   */
  readonly clientNoContextTakeover: boolean;
  /** Window bits the server compresses with (8–15). */
  readonly serverMaxWindowBits: number;
  /**
   * Largest window bits the client may compress with (8–15): the value sent
   * in `client_max_window_bits`, else 15. Sizes the {@link InflateContext}.
   */
  readonly clientMaxWindowBits: number;
  /** Messages shorter than this (bytes) go out uncompressed. */
  readonly threshold: number;
  readonly level: number;
  readonly memLevel: number;
}

/** The empty stored block's tail a sync flush ends with (RFC 7692 §7.2.1, §7.2.2). */
const SYNC_TAIL = Buffer.from([0x00, 0x00, 0xff, 0xff]);
// RFC 7692 §7.1.2.1 / §7.1.2.2: "a decimal integer value without leading zeroes between 8 to 15, inclusive".
const WINDOW_BITS = /^(?:[89]|1[0-5])$/;

// ── negotiation ─────────────────────────────────────────────────────────────

/**
 * Choose a `permessage-deflate` offer from a `Sec-WebSocket-Extensions`
 * request header (RFC 6455 §9.1 grammar; extension and parameter names
 * compared case-insensitively). Offers are tried in the client's order and the
 * first acceptable one wins (RFC 7692 §5); an offer with an unknown parameter,
 * a repeated parameter or an invalid value is declined and the next is tried.
 *
 * Returns the value for the response's `Sec-WebSocket-Extensions` header and
 * the agreed params, or undefined to continue without the extension: when
 * `enabled` is off, nothing acceptable was offered, or the header is not
 * syntactically valid. Throws RangeError for out-of-range options.
 */
export function negotiatePerMessageDeflate(
  header: string,
  options: PerMessageDeflateOptions,
): { response: string; params: DeflateParams } | undefined {
  const settings = resolveOptions(options);
  if (!options.enabled || header === '') return undefined;
  const offers = parseExtensionHeader(header);
  if (offers === undefined) return undefined;
  for (const offer of offers) {
    if (offer.name !== PERMESSAGE_DEFLATE) continue;
    const accepted = acceptOffer(offer.params, settings);
    if (accepted !== undefined) return accepted;
  }
  return undefined;
}

/**
 * `threshold` when left out: `--deflate-threshold-bytes`'s default (equal to
 * the option table's, checked by test/config/node-defaults.test.ts).
 */
export const DEFAULT_DEFLATE_THRESHOLD = 256;

interface Settings {
  threshold: number;
  level: number;
  memLevel: number;
  serverMaxWindowBits: number;
  clientMaxWindowBits: number;
  allowClientContextTakeover: boolean;
}

function resolveOptions(options: PerMessageDeflateOptions): Settings {
  const settings: Settings = {
    threshold: options.threshold ?? DEFAULT_DEFLATE_THRESHOLD,
    level: options.level ?? 2,
    memLevel: options.memLevel ?? 8,
    serverMaxWindowBits: options.serverMaxWindowBits ?? 15,
    clientMaxWindowBits: options.clientMaxWindowBits ?? 15,
    allowClientContextTakeover: options.allowClientContextTakeover ?? false,
  };
  checkInteger('threshold', settings.threshold, 0, Number.MAX_SAFE_INTEGER);
  checkInteger('level', settings.level, 0, 9);
  checkInteger('memLevel', settings.memLevel, 1, 9);
  checkInteger('serverMaxWindowBits', settings.serverMaxWindowBits, 8, 15);
  checkInteger('clientMaxWindowBits', settings.clientMaxWindowBits, 8, 15);
  return settings;
}

function checkInteger(name: string, value: number, min: number, max: number): void {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new RangeError(`permessage-deflate ${name} must be an integer in ${min}..${max}, got ${value}`);
  }
}

/** The parameters of one offer, validated per RFC 7692 §7; undefined declines it. */
interface DeflateOffer {
  serverNoContextTakeover: boolean;
  clientNoContextTakeover: boolean;
  /** undefined: not offered. */
  serverMaxWindowBits: number | undefined;
  /** undefined: not offered; true: offered without a value. */
  clientMaxWindowBits: number | true | undefined;
}

/**
 * RFC 7692 §5: decline an offer with a parameter not defined for offers, an
 * invalid value, or the same parameter twice.
 */
function readOffer(params: readonly ExtensionParam[]): DeflateOffer | undefined {
  const offer: DeflateOffer = {
    serverNoContextTakeover: false,
    clientNoContextTakeover: false,
    serverMaxWindowBits: undefined,
    clientMaxWindowBits: undefined,
  };
  const seen = new Set<string>();
  for (const [name, value] of params) {
    if (seen.has(name)) return undefined;
    seen.add(name);
    switch (name) {
      // §7.1.1.1 / §7.1.1.2: these parameters have no value.
      case 'server_no_context_takeover':
      case 'client_no_context_takeover':
        if (value !== true) return undefined;
        if (name === 'server_no_context_takeover') offer.serverNoContextTakeover = true;
        else offer.clientNoContextTakeover = true;
        break;
      // §7.1.2.1: a value is required.
      case 'server_max_window_bits':
        if (value === true || !WINDOW_BITS.test(value)) return undefined;
        offer.serverMaxWindowBits = Number(value);
        break;
      // §7.1.2.2: the value is optional.
      case 'client_max_window_bits':
        if (value !== true && !WINDOW_BITS.test(value)) return undefined;
        offer.clientMaxWindowBits = value === true ? true : Number(value);
        break;
      default:
        return undefined;
    }
  }
  return offer;
}

function acceptOffer(
  params: readonly ExtensionParam[],
  settings: Settings,
): { response: string; params: DeflateParams } | undefined {
  const offer = readOffer(params);
  if (offer === undefined) return undefined;
  // §7.1.1.1: the server MAY include server_no_context_takeover even if not offered.
  const response: ExtensionParam[] = [['server_no_context_takeover', true]];
  // §7.1.1.2: "A server MAY include the client_no_context_takeover extension
  // parameter in an extension negotiation response" — offered or not.
  const clientNoContextTakeover = !settings.allowClientContextTakeover || offer.clientNoContextTakeover;
  if (clientNoContextTakeover) response.push(['client_no_context_takeover', true]);

  // §7.1.2.1: an offered server_max_window_bits is accepted by answering it with
  // the same or a smaller value; the server MAY also send it unasked.
  const serverMaxWindowBits = Math.min(offer.serverMaxWindowBits ?? 15, settings.serverMaxWindowBits);
  if (offer.serverMaxWindowBits !== undefined || serverMaxWindowBits < 15) {
    response.push(['server_max_window_bits', String(serverMaxWindowBits)]);
  }

  // §7.1.2.2: client_max_window_bits MUST NOT be sent unless offered; when
  // offered with a value, any value sent must not exceed it; without it in
  // the response the client may use up to 15 bits. Only a context-keeping
  // client's window outlives a message, so only that one is worth limiting.
  let clientMaxWindowBits = 15;
  if (offer.clientMaxWindowBits !== undefined && !clientNoContextTakeover) {
    const offered = offer.clientMaxWindowBits === true ? 15 : offer.clientMaxWindowBits;
    clientMaxWindowBits = Math.min(offered, settings.clientMaxWindowBits);
    if (clientMaxWindowBits < 15) response.push(['client_max_window_bits', String(clientMaxWindowBits)]);
  }

  const agreed: DeflateParams = Object.freeze({
    serverNoContextTakeover: true,
    clientNoContextTakeover,
    serverMaxWindowBits,
    clientMaxWindowBits,
    threshold: settings.threshold,
    level: settings.level,
    memLevel: settings.memLevel,
  });
  return { response: formatExtension({ name: PERMESSAGE_DEFLATE, params: response }), params: agreed };
}

// ── compression (server → client) ───────────────────────────────────────────

/**
 * Deflate one whole message for every connection whose params share
 * `serverMaxWindowBits` (RFC 7692 §7.2.1): raw DEFLATE, sync-flushed, with the
 * trailing 0x00 0x00 0xff 0xff removed. Stateless — `server_no_context_takeover`
 * is always agreed — so the same input always yields the same bytes.
 *
 * Window bits 8: Node raises raw deflate's 8 to 9 (zlib rejects 8 there), but
 * zlib never emits a distance beyond the window size minus 262, i.e. 250
 * bytes at 9 bits, so the output still fits the 256-byte window a client asked
 * for with `server_max_window_bits=8` (checked by a test).
 */
export function compressMessage(payload: Uint8Array, params: DeflateParams): Buffer {
  const out = deflateRawSync(payload, {
    level: params.level,
    memLevel: params.memLevel,
    windowBits: params.serverMaxWindowBits,
    finishFlush: zlibConstants.Z_SYNC_FLUSH,
  });
  return out.subarray(0, out.length - SYNC_TAIL.length);
}

/**
 * A server frame (unmasked, FIN set) carrying an already-compressed message:
 * RSV1 set, the "Per-Message Compressed" bit (RFC 7692 §6). `opcode` must be
 * Text or Binary (§6.1: never on control frames).
 */
export function encodeCompressedFrame(opcode: OpCode, compressed: Uint8Array): Buffer {
  if (opcode !== OpCode.Text && opcode !== OpCode.Binary) {
    throw new RangeError('only text and binary messages can be compressed');
  }
  const frame = encodeFrame(opcode, compressed);
  frame[0] |= 0x40;
  return frame;
}

/**
 * The frame to send one message as to a connection with `params`: compressed
 * (RSV1) when it is at least `params.threshold` bytes and deflate makes it
 * smaller, else a plain frame. Deterministic, so fan-out can build it once per
 * `serverMaxWindowBits` and write the same buffer to every such subscriber.
 */
export function encodeMessageFrame(
  opcode: OpCode,
  payload: Uint8Array | string,
  params: DeflateParams,
): Buffer {
  const bytes = typeof payload === 'string' ? Buffer.from(payload) : payload;
  if (bytes.length >= params.threshold && (opcode === OpCode.Text || opcode === OpCode.Binary)) {
    const compressed = compressMessage(bytes, params);
    if (compressed.length < bytes.length) return encodeCompressedFrame(opcode, compressed);
  }
  return encodeFrame(opcode, bytes);
}

// ── decompression (client → server) ─────────────────────────────────────────

/**
 * The LZ77 window of a client that keeps its compression context between
 * messages (agreed params with `clientNoContextTakeover: false`), one per
 * connection.
 *
 * Instead of a live zlib stream (a native handle plus ~40 KB, used
 * asynchronously), it keeps the last `2^windowBits` bytes of inflated output
 * and passes them as the preset dictionary of the next stateless inflate —
 * exactly the history the client's back-references may reach (RFC 7692 §7.2.2).
 * Costs: nothing until the first compressed message, then one `2^windowBits`
 * buffer (32 KiB at 15 bits), plus copying that window into zlib per message.
 * Only compressed messages feed it; uncompressed ones do not touch the window.
 */
export class InflateContext {
  /** Window size in bytes. */
  readonly windowSize: number;
  private window: Buffer | null = null;
  private length = 0;

  /**
   * `windowBits` is the agreed `clientMaxWindowBits`. It is raised to at least
   * 9 because Node-based clients asking zlib for 8 bits get 9 (see
   * {@link compressMessage}).
   */
  constructor(windowBits = 15) {
    if (!Number.isInteger(windowBits) || windowBits < 8 || windowBits > 15) {
      throw new RangeError(`windowBits must be an integer in 8..15, got ${windowBits}`);
    }
    this.windowSize = 1 << Math.max(9, windowBits);
  }

  /** Bytes of history held (0 until a compressed message has been inflated). */
  get size(): number {
    return this.length;
  }

  /** The history to preset, or undefined before the first message. */
  dictionary(): Buffer | undefined {
    return this.length === 0 ? undefined : (this.window as Buffer).subarray(0, this.length);
  }

  /** Append one message's inflated bytes to the history, keeping the last `windowSize`. */
  remember(output: Buffer): void {
    if (output.length === 0) return;
    const window = (this.window ??= Buffer.allocUnsafe(this.windowSize));
    if (output.length >= window.length) {
      output.copy(window, 0, output.length - window.length);
      this.length = window.length;
      return;
    }
    const keep = Math.min(this.length, window.length - output.length);
    window.copyWithin(0, this.length - keep, this.length);
    output.copy(window, keep);
    this.length = keep + output.length;
  }
}

/**
 * Inflate one compressed client message (RFC 7692 §7.2.2: append
 * 0x00 0x00 0xff 0xff, then inflate), producing at most `maxSize` bytes:
 * zlib stops as soon as its output passes the limit, so a small "zip bomb"
 * costs at most `maxSize` plus one 16 KiB chunk, never its full expansion.
 *
 * `context`: the connection's {@link InflateContext} when its params say
 * `clientNoContextTakeover: false`; omit it otherwise (stateless).
 * Returns the inflated bytes, or a {@link ProtocolError}: 1009 over `maxSize`,
 * 1007 for data zlib rejects. Text still needs {@link validateInflatedText}.
 */
export function inflateMessage(compressed: Buffer, maxSize: number, context?: InflateContext): Buffer | ProtocolError {
  if (!(maxSize >= 0)) throw new RangeError('maxSize must be >= 0');
  const options: ZlibOptions = {
    finishFlush: zlibConstants.Z_SYNC_FLUSH,
    // Node requires >= 1; a 0 limit is enforced below.
    maxOutputLength: Math.max(1, maxSize),
  };
  const dictionary = context?.dictionary();
  if (dictionary !== undefined) options.dictionary = dictionary;
  let output: Buffer;
  try {
    output = inflateRawSync(Buffer.concat([compressed, SYNC_TAIL]), options);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') return tooBig(maxSize, error);
    return new ProtocolError(
      ProtocolErrorCode.InvalidCompressedData,
      CloseCode.InvalidFramePayloadData,
      'compressed message could not be inflated',
      { cause: error },
    );
  }
  if (output.length > maxSize) return tooBig(maxSize);
  context?.remember(output);
  return output;
}

function tooBig(maxSize: number, cause?: unknown): ProtocolError {
  return new ProtocolError(
    ProtocolErrorCode.MessageTooBig,
    CloseCode.MessageTooBig,
    `inflated message exceeds ${maxSize} bytes`,
    cause === undefined ? undefined : { cause },
  );
}

/**
 * RFC 6455 §8.1 for a compressed text message, which the frame parser could
 * not check: undefined when `data` (the inflated bytes) is valid UTF-8, else
 * the error to close with (1007).
 */
export function validateInflatedText(data: Buffer): ProtocolError | undefined {
  if (isUtf8(data)) return undefined;
  return new ProtocolError(ProtocolErrorCode.InvalidUtf8, CloseCode.InvalidFramePayloadData, 'text message is not valid UTF-8');
}
