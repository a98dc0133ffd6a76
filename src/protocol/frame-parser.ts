import { isUtf8 } from 'node:buffer';
import { CloseCode, OpCode } from './constants.js';
import { ProtocolError, ProtocolErrorCode } from './errors.js';
import { checkFrameHeader, parseClosePayload } from './frame-rules.js';
import { applyMask } from './mask.js';
import { Utf8Validator } from './utf8-validator.js';

/**
 * Receives what a {@link FrameParser} decodes. Callbacks run synchronously
 * inside `push()`; a callback may call `parser.stop()` to end parsing.
 * Buffers handed out may be views into the pushed chunks: copy to keep them
 * beyond the callback if the chunk may be reused by its owner.
 */
export interface FrameParserHandler {
  /**
   * A complete message (reassembled if fragmented). Text is valid UTF-8,
   * except when `compressed`: then `data` is the still-compressed payload
   * (RFC 7692 §6: RSV1 on the first frame) and the handler must inflate it,
   * enforce its own size limit on the inflated bytes, and check inflated text
   * for UTF-8 (`inflateMessage`, `validateInflatedText`). `compressed` is
   * always false unless the parser was created with `allowRsv1`.
   */
  onMessage(data: Buffer, isText: boolean, compressed: boolean): void;
  /** A ping frame; RFC 6455 §5.5.2 says to answer with a pong carrying `payload`. */
  onPing(payload: Buffer): void;
  onPong(payload: Buffer): void;
  /**
   * A valid close frame. `code` is 1005 (NoStatusReceived) when the frame had
   * no payload (§7.1.5). The parser stops after this.
   */
  onClose(code: number, reason: string): void;
  /** The peer broke the protocol; `error.closeCode` is the code to close with. The parser stops after this. */
  onProtocolError(error: ProtocolError): void;
}

/** Options of a {@link FrameParser}. */
export interface FrameParserOptions {
  /**
   * Largest message accepted, in bytes, summed over fragments; default 1 MiB.
   * Checked from each frame header before any of its payload is buffered, so
   * a peer cannot make us hold more than this (§10.4).
   */
  maxMessageSize?: number;
  /**
   * True (default) to parse frames sent by a client, which MUST be masked
   * (§5.1); false to parse frames sent by a server, which MUST NOT be.
   */
  isServer?: boolean;
  /**
   * True when permessage-deflate (RFC 7692) was negotiated: RSV1 on the first
   * frame of a data message marks it compressed (§6) and the message is
   * delivered with `compressed = true`, unchecked for UTF-8. RSV1 on a
   * continuation or control frame still fails with 1002 (§6.1), as do RSV2
   * and RSV3. `maxMessageSize` then bounds the compressed bytes on the wire;
   * the inflated size is the handler's to bound. Default false: any RSV bit
   * fails the connection (RFC 6455 §5.2).
   */
  allowRsv1?: boolean;
}

const DEFAULT_MAX_MESSAGE_SIZE = 1024 * 1024;
const EMPTY = Buffer.alloc(0);
/** First size of a buffer that accumulates a partial frame or message; it doubles from there. */
const MIN_ACCUMULATOR = 256;
/** Largest frame header (§5.2: 2 bytes, 8 of extended length, 4 of mask). */
const MAX_HEADER = 14;

const S_HEADER = 0;
const S_LENGTH16 = 1;
const S_LENGTH64 = 2;
const S_MASK = 3;
const S_PAYLOAD = 4;
const S_STOPPED = 5;

/**
 * Incremental RFC 6455 frame parser. Feed it bytes as they arrive, in any
 * split; it reports messages, control frames and protocol errors to its
 * handler. It holds no buffer while it is between frames.
 *
 * Memory a peer controls stays bounded whatever the split: a partial frame
 * is kept in one buffer that grows geometrically up to that frame's size, and
 * a fragmented message in one buffer up to `maxMessageSize` — never a list of
 * the pieces as they arrived (a 64 KiB frame sent a byte per packet would
 * otherwise hold 65,536 Buffer objects, ~23 MB).
 *
 * Ownership: pushed chunks are unmasked in place and may be referenced by
 * delivered messages; do not reuse a chunk after pushing it.
 */
export class FrameParser {
  private readonly handler: FrameParserHandler;
  private readonly maxMessageSize: number;
  private readonly isServer: boolean;
  private readonly allowRsv1: boolean;

  private state = S_HEADER;
  /** Unconsumed input is `buf[offset, offset + buffered)`: a pushed chunk, or our accumulator when `owned`. */
  private buf: Buffer = EMPTY;
  private offset = 0;
  private buffered = 0;
  private owned = false;

  private fin = false;
  private opcode = 0;
  private masked = false;
  private mask = 0;
  private payloadLength = 0;

  /**
   * The fragmented message so far (its first `messageBytes` bytes): the first
   * fragment as received, then one buffer of ours (`messageOwned`) growing
   * geometrically; null when no fragmented message is open.
   */
  private message: Buffer | null = null;
  private messageOwned = false;
  private fragmentedOpcode = 0;
  private messageBytes = 0;
  private utf8: Utf8Validator | null = null;
  /** RSV1 of the current data message's first frame (RFC 7692 §6); kept across its fragments. */
  private compressed = false;

  constructor(handler: FrameParserHandler, options: FrameParserOptions = {}) {
    this.handler = handler;
    this.maxMessageSize = options.maxMessageSize ?? DEFAULT_MAX_MESSAGE_SIZE;
    this.isServer = options.isServer ?? true;
    this.allowRsv1 = options.allowRsv1 ?? false;
    if (!(this.maxMessageSize >= 0)) throw new RangeError('maxMessageSize must be >= 0');
  }

  /** True once a close frame or a protocol error has ended parsing. */
  get stopped(): boolean {
    return this.state === S_STOPPED;
  }

  /**
   * True between frames with nothing buffered and no fragmented message open:
   * the parser holds no state worth keeping, so an idle connection may drop it
   * and create a fresh one when bytes arrive.
   */
  get idle(): boolean {
    return this.state === S_HEADER && this.buffered === 0 && this.message === null;
  }

  /** Bytes held for an incomplete frame. */
  get bufferedBytes(): number {
    return this.buffered;
  }

  /**
   * Buffers this parser keeps alive — the partial frame's, the fragmented
   * message's — and their total size: what a peer can make it hold. At most
   * 2 buffers, of about a frame and a message at most.
   */
  get retained(): { buffers: number; bytes: number } {
    const input = this.buffered > 0 ? this.buf.length : 0;
    const message = this.message === null ? 0 : this.message.length;
    return { buffers: (input > 0 ? 1 : 0) + (this.message !== null ? 1 : 0), bytes: input + message };
  }

  /** Stop parsing and drop everything buffered; later pushes are ignored. */
  stop(): void {
    this.state = S_STOPPED;
    this.buf = EMPTY;
    this.owned = false;
    this.offset = 0;
    this.buffered = 0;
    this.message = null;
    this.messageOwned = false;
  }

  /** Feed the next bytes from the peer. */
  push(chunk: Buffer): void {
    if (this.state === S_STOPPED || chunk.length === 0) return;
    if (this.buffered === 0) {
      this.buf = chunk;
      this.offset = 0;
      this.owned = false;
    } else {
      this.append(chunk);
    }
    this.buffered += chunk.length;
    this.run();
    // Nothing left over: keep no reference to the chunk or the accumulator.
    if (this.buffered === 0 && this.buf !== EMPTY) {
      this.buf = EMPTY;
      this.owned = false;
      this.offset = 0;
    }
  }

  /**
   * Add `chunk` behind the unconsumed input, in our accumulator: in place when
   * it has room, else in a new one of double the size (capped at what the
   * current frame still needs, unless this chunk alone needs more). The old
   * accumulator is never compacted in place: delivered payloads may be views
   * into it.
   */
  private append(chunk: Buffer): void {
    const end = this.offset + this.buffered;
    if (this.owned && this.buf.length - end >= chunk.length) {
      chunk.copy(this.buf, end);
      return;
    }
    const need = this.buffered + chunk.length;
    const frameNeeds = this.state === S_PAYLOAD ? this.payloadLength : MAX_HEADER;
    // Twice what is held (at least MIN_ACCUMULATOR): a frame trickled in tiny reads grows the buffer
    // geometrically, never to the announced length at once; one arriving in large reads is copied about once.
    const doubled = Math.max(MIN_ACCUMULATOR, 2 * (this.owned ? this.buf.length : need));
    const grown = Buffer.allocUnsafe(Math.max(need, Math.min(doubled, frameNeeds)));
    this.buf.copy(grown, 0, this.offset, end);
    chunk.copy(grown, this.buffered);
    this.buf = grown;
    this.offset = 0;
    this.owned = true;
  }

  private run(): void {
    for (;;) {
      switch (this.state) {
        case S_HEADER:
          if (this.buffered < 2) return;
          this.readHeader();
          break;
        case S_LENGTH16:
          if (this.buffered < 2) return;
          this.payloadLength = (this.readByte() << 8) | this.readByte();
          this.afterLength();
          break;
        case S_LENGTH64:
          if (this.buffered < 8) return;
          this.readLength64();
          break;
        case S_MASK:
          if (this.buffered < 4) return;
          this.mask =
            ((this.readByte() << 24) | (this.readByte() << 16) | (this.readByte() << 8) | this.readByte()) >>> 0;
          this.state = S_PAYLOAD;
          break;
        case S_PAYLOAD: {
          if (this.buffered < this.payloadLength) return;
          const payload = this.consume(this.payloadLength);
          if (this.masked && payload.length > 0) applyMask(payload, this.mask);
          this.state = S_HEADER;
          this.dispatch(payload);
          break;
        }
        default:
          return;
      }
    }
  }

  /** RFC 6455 §5.2 base framing: FIN, RSV1-3, opcode, MASK, 7-bit length (their rules: frame-rules.ts). */
  private readHeader(): void {
    const b0 = this.readByte();
    const b1 = this.readByte();
    const error = checkFrameHeader(b0, b1, this.isServer, this.allowRsv1, this.message !== null);
    if (error !== undefined) return this.failWith(error);
    this.fin = (b0 & 0x80) !== 0;
    this.opcode = b0 & 0x0f;
    this.masked = (b1 & 0x80) !== 0;
    // RSV1 of a data message's first frame marks it compressed (RFC 7692 §6); its continuations keep it.
    if (this.opcode === OpCode.Text || this.opcode === OpCode.Binary) this.compressed = (b0 & 0x40) !== 0;
    const length7 = b1 & 0x7f;
    if (length7 === 126) {
      this.state = S_LENGTH16;
    } else if (length7 === 127) {
      this.state = S_LENGTH64;
    } else {
      this.payloadLength = length7;
      this.afterLength();
    }
  }

  private readLength64(): void {
    const hi = ((this.readByte() << 24) | (this.readByte() << 16) | (this.readByte() << 8) | this.readByte()) >>> 0;
    const lo = ((this.readByte() << 24) | (this.readByte() << 16) | (this.readByte() << 8) | this.readByte()) >>> 0;
    // §5.2: the most significant bit of a 64-bit length MUST be 0.
    if (hi >= 0x8000_0000) {
      return this.fail(ProtocolErrorCode.InvalidLength, CloseCode.ProtocolError, '64-bit payload length has its top bit set');
    }
    // Beyond 2^53 - 1 the length cannot be represented exactly; no limit could allow it anyway.
    if (hi > 0x1f_ffff) {
      return this.fail(ProtocolErrorCode.MessageTooBig, CloseCode.MessageTooBig, 'message exceeds the size limit');
    }
    this.payloadLength = hi * 0x1_0000_0000 + lo;
    this.afterLength();
  }

  private afterLength(): void {
    // Data frames: enforce the message limit from the header, before buffering any payload.
    if (this.opcode < 0x8 && this.messageBytes + this.payloadLength > this.maxMessageSize) {
      return this.fail(ProtocolErrorCode.MessageTooBig, CloseCode.MessageTooBig, 'message exceeds the size limit');
    }
    this.state = this.masked ? S_MASK : S_PAYLOAD;
  }

  private dispatch(payload: Buffer): void {
    switch (this.opcode) {
      case OpCode.Text:
      case OpCode.Binary:
        return this.fin ? this.deliverWhole(payload) : this.startFragmented(payload);
      case OpCode.Continuation:
        return this.continueFragmented(payload);
      case OpCode.Close:
        return this.readClose(payload);
      case OpCode.Ping:
        return this.handler.onPing(payload);
      default:
        return this.handler.onPong(payload);
    }
  }

  private deliverWhole(payload: Buffer): void {
    const isText = this.opcode === OpCode.Text;
    // §8.1: a text message that is not valid UTF-8 fails the connection with 1007 (§7.4.1).
    // A compressed one can only be checked once inflated, by the handler.
    if (isText && !this.compressed && !isUtf8(payload)) {
      return this.fail(ProtocolErrorCode.InvalidUtf8, CloseCode.InvalidFramePayloadData, 'text message is not valid UTF-8');
    }
    this.handler.onMessage(payload, isText, this.compressed);
  }

  private startFragmented(payload: Buffer): void {
    // Kept as received: a message of one more fragment costs one copy, as a concatenation would.
    this.message = payload;
    this.messageOwned = false;
    this.fragmentedOpcode = this.opcode;
    this.messageBytes = payload.length;
    if (this.opcode === OpCode.Text && !this.compressed) {
      const utf8 = (this.utf8 ??= new Utf8Validator());
      utf8.reset();
      this.checkUtf8Fragment(payload);
    }
  }

  private continueFragmented(payload: Buffer): void {
    const isText = this.fragmentedOpcode === OpCode.Text;
    const checkUtf8 = isText && !this.compressed;
    if (payload.length > 0) {
      this.appendFragment(payload);
      if (checkUtf8 && !this.checkUtf8Fragment(payload)) return;
    }
    if (!this.fin) return;
    // §5.6 / §8.1: the message may not end inside a code point.
    if (checkUtf8 && !(this.utf8 as Utf8Validator).complete) {
      return this.fail(ProtocolErrorCode.InvalidUtf8, CloseCode.InvalidFramePayloadData, 'text message ends inside a UTF-8 sequence');
    }
    const message = (this.message as Buffer).subarray(0, this.messageBytes);
    this.message = null;
    this.messageOwned = false;
    this.messageBytes = 0;
    this.handler.onMessage(message, isText, this.compressed);
  }

  /**
   * Copy a fragment's payload into the message buffer, which doubles when
   * full (up to maxMessageSize, which afterLength() already checked the
   * message fits): tiny fragments cost no object each.
   */
  private appendFragment(payload: Buffer): void {
    const used = this.messageBytes;
    const need = used + payload.length;
    let message = this.message as Buffer;
    if (!this.messageOwned || need > message.length) {
      const doubled = Math.max(MIN_ACCUMULATOR, this.messageOwned ? message.length * 2 : used * 2);
      const grown = Buffer.allocUnsafe(Math.max(need, Math.min(doubled, this.maxMessageSize)));
      message.copy(grown, 0, 0, used);
      this.message = message = grown;
      this.messageOwned = true;
    }
    payload.copy(message, used);
    this.messageBytes = need;
  }

  /** Validate one fragment as soon as it arrives, not only at the end of the message. */
  private checkUtf8Fragment(payload: Buffer): boolean {
    if ((this.utf8 as Utf8Validator).write(payload)) return true;
    this.fail(ProtocolErrorCode.InvalidUtf8, CloseCode.InvalidFramePayloadData, 'text message is not valid UTF-8');
    return false;
  }

  /** §5.5.1 (frame-rules.ts): a valid close frame stops parsing, then reaches the handler. */
  private readClose(payload: Buffer): void {
    const close = parseClosePayload(payload);
    if (close instanceof ProtocolError) return this.failWith(close);
    this.stop();
    this.handler.onClose(close.code, close.reason);
  }

  private fail(code: ProtocolErrorCode, closeCode: CloseCode, message: string): void {
    this.failWith(new ProtocolError(code, closeCode, message));
  }

  private failWith(error: ProtocolError): void {
    this.stop();
    this.handler.onProtocolError(error);
  }

  private readByte(): number {
    this.buffered--;
    return this.buf[this.offset++];
  }

  /** Take `n` buffered bytes, as a view (the input is always contiguous). */
  private consume(n: number): Buffer {
    if (n === 0) return EMPTY;
    const buf = this.buf;
    const start = this.offset;
    this.offset += n;
    this.buffered -= n;
    return start === 0 && n === buf.length ? buf : buf.subarray(start, start + n);
  }
}
