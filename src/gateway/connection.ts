import { CloseCode, OpCode } from '../protocol/constants.js';
import { encodeCloseFrame, encodeFrame, truncateCloseReason } from '../protocol/frame-encoder.js';
import { ProtocolError, type HandshakeError } from '../protocol/errors.js';
import { FrameParser, type FrameParserHandler } from '../protocol/frame-parser.js';
import { InflateContext, inflateMessage, validateInflatedText } from '../protocol/permessage-deflate.js';
import type { PreparedMessage } from '../protocol/prepared-message.js';
import { FrameRun, appendFrame, type PendingFrames } from './frame-run.js';
import { HttpStream, type HttpStreamTap } from './http-stream.js';
import { ConnectionState } from './connection-state.js';
import {
  closeHttpStream,
  offerToStream,
  openHttpStream,
  sendFrameToStream,
  sendPreparedToStream,
  startHttpStream,
  writeHttpStream,
} from './connection-stream.js';
import type { PartialHead } from './partial-head.js';
import { ConnectionExtras, DrainListeners } from './connection-extras.js';
import type { WheelEntry } from '../util/timing-wheel.js';
import type { ListEntry } from './connection-list.js';
import { HANDSHAKE_FLUSH, NEVER_FLUSHED, type ConnectionOwner, type DeflateState, type DrainListener, type SendResult } from './connection-types.js';

export { ConnectionState } from './connection-state.js';

export type { ConnectionOwner, DeflateState, DrainListener, SendResult } from './connection-types.js';
export { HANDSHAKE_FLUSH, NEVER_FLUSHED } from './connection-types.js';

/** A connection's frame parser, which also carries when the message under way began (see `messageStartTick`). */
class ConnectionFrameParser extends FrameParser {
  messageStartTick = 0;
}

/** The bits of `WebSocketConnection.bits` that hold its ConnectionState (0–3). */
const STATE_MASK = 3;
/** The bit of `WebSocketConnection.bits` set once the handshake completed. */
const OPENED = 4;
/** Bits 4–7 of `WebSocketConnection.bits`: the subprotocol, 0 for none, i for knownProtocols[i − 1], or PROTOCOL_IN_EXTRAS. */
const PROTOCOL_SHIFT = 4;
const PROTOCOL_MASK = 15 << PROTOCOL_SHIFT;
const PROTOCOL_IN_EXTRAS = 15;
const PROTOCOL_SLOTS = PROTOCOL_IN_EXTRAS - 1;
/** Subprotocol names connections of this process negotiated, in first-seen order (at most PROTOCOL_SLOTS). */
const knownProtocols: string[] = [];
/** A transport subclass keeps its own flags in `bits` from this bit up (`flag << TRANSPORT_FLAGS_SHIFT`). */
export const TRANSPORT_FLAGS_SHIFT = 8;

/** Links a transport object (socket or TCP handle) back to its connection. */
export const kConnection = Symbol('herald.connection');

/**
 * One client connection: WebSocket state, the write queue and the close
 * handshake, over a transport supplied by a subclass (`RawTcpConnection` on a
 * libuv TCP handle, `NetSocketConnection` on a `net.Socket`). A plain object
 * with plain fields; transport events reach it through module-level functions
 * (no closures per connection), and deadlines live on the server's timing
 * wheel (no timer per connection).
 */
export abstract class WebSocketConnection implements FrameParserHandler, WheelEntry, ListEntry {
  wheelNext: WheelEntry | null = null;
  wheelPrev: WheelEntry | null = null;
  wheelTick = 0;
  /** @internal links in the server's set of admitted connections (see LinkedSet). */
  listNext: ListEntry | null = null;
  listPrev: ListEntry | null = null;

  /**
   * @internal the state (bits 0–1, see STATE_MASK), whether the handshake
   * completed (OPENED) and the transport subclass's own flags (from
   * TRANSPORT_FLAGS_SHIFT up), in one small integer: three fields in one.
   */
  protected bits: number = ConnectionState.Handshake;
  /** @internal */
  readonly owner: ConnectionOwner;
  /**
   * @internal present only while a frame is partly received (or after the
   * peer's close, stopped): an idle connection holds no parser.
   */
  parser: ConnectionFrameParser | null = null;
  /**
   * @internal the deflate state of a WebSocket that negotiated
   * permessage-deflate, or the HttpStream of a plain-HTTP stream, or null:
   * a connection is never both, so one field holds either (see `deflate`, `stream`).
   */
  private variant: DeflateState | HttpStream | null = null;
  /** Free for the application (the hub keeps its per-connection state here). */
  context: unknown = undefined;

  /** @internal wheel tick of the last bytes received, for the idle timeout (0 when unused). */
  lastActivityTick = 0;

  /** @internal frames queued for the next write: none, one, or a run (possibly shared with other connections). */
  pending: PendingFrames = null;
  /** @internal */
  pendingBytes = 0;
  /** @internal the transport's backlog when this turn's first frame was queued (it can only shrink until the flush). */
  pendingBacklog = 0;
  /**
   * @internal when this connection was last flushed, in ms modulo 2^30 (see
   * FlushScheduler's merge window), or NEVER_FLUSHED, or HANDSHAKE_FLUSH.
   */
  lastFlushMs = NEVER_FLUSHED;
  /** @internal what an idle open connection does not need (see ConnectionExtras); null on nearly every one. */
  extras: ConnectionExtras | null = null;

  constructor(owner: ConnectionOwner) {
    this.owner = owner;
  }

  get state(): ConnectionState {
    return (this.bits & STATE_MASK) as ConnectionState;
  }
  set state(state: ConnectionState) {
    this.bits = (this.bits & ~STATE_MASK) | state;
  }

  /**
   * @internal wheel tick at which the message now arriving began (a frame
   * partly received or fragments open); 0 when none. Kept on the parser,
   * which exists exactly while a message is under way: no field on an idle connection.
   */
  get messageStartTick(): number {
    const parser = this.parser;
    return parser === null ? 0 : parser.messageStartTick;
  }
  set messageStartTick(tick: number) {
    const parser = this.parser;
    if (parser !== null) parser.messageStartTick = tick;
  }

  /**
   * The negotiated subprotocol, if any: kept as a small index into the
   * subprotocols seen by this process (a server selects from a handful) in
   * `bits`, no field of its own; past PROTOCOL_SLOTS distinct names, in the extras.
   */
  get protocol(): string | undefined {
    const index = (this.bits & PROTOCOL_MASK) >> PROTOCOL_SHIFT;
    if (index === 0) return undefined;
    return index === PROTOCOL_IN_EXTRAS ? (this.extras as ConnectionExtras).protocol : knownProtocols[index - 1];
  }
  set protocol(protocol: string | undefined) {
    if ((this.bits & PROTOCOL_MASK) >> PROTOCOL_SHIFT === PROTOCOL_IN_EXTRAS) {
      (this.extras as ConnectionExtras).protocol = undefined;
      this.bits &= ~PROTOCOL_MASK;
      this.releaseExtras();
    }
    let index = 0;
    if (protocol !== undefined) {
      index = knownProtocols.indexOf(protocol) + 1;
      if (index === 0 && knownProtocols.length < PROTOCOL_SLOTS) index = knownProtocols.push(protocol);
      if (index === 0) {
        this.ownExtras().protocol = protocol;
        index = PROTOCOL_IN_EXTRAS;
      }
    }
    this.bits = (this.bits & ~PROTOCOL_MASK) | (index << PROTOCOL_SHIFT);
  }

  /** @internal the handshake completed. */
  get opened(): boolean {
    return (this.bits & OPENED) !== 0;
  }
  set opened(opened: boolean) {
    this.bits = opened ? this.bits | OPENED : this.bits & ~OPENED;
  }

  /** @internal permessage-deflate state when the extension was negotiated, else null. */
  get deflate(): DeflateState | null {
    const v = this.variant;
    return v === null || v instanceof HttpStream ? null : v;
  }
  set deflate(deflate: DeflateState | null) {
    if (deflate !== null || !(this.variant instanceof HttpStream)) this.variant = deflate;
  }

  /**
   * Set when this connection is a plain-HTTP stream (`GET /v1/sse`, `POST /v1/stream`) instead of a
   * WebSocket: what it is sent is rendered as SSE or NDJSON (see http-stream.ts, connection-stream.ts); null on WebSockets.
   */
  get stream(): HttpStream | null {
    const v = this.variant;
    return v instanceof HttpStream ? v : null;
  }
  set stream(stream: HttpStream | null) {
    if (stream !== null || this.variant instanceof HttpStream) this.variant = stream;
  }

  // ---- Rarely used state, kept in `extras` ----

  /** @internal the extras, created on first use. */
  private ownExtras(): ConnectionExtras {
    return (this.extras ??= new ConnectionExtras());
  }

  /** @internal drop the extras once nothing in them differs from the defaults. */
  private releaseExtras(): void {
    if (this.extras !== null && this.extras.unused) this.extras = null;
  }

  /** @internal the partial request head while the handshake is incomplete. */
  get head(): PartialHead | null {
    return this.extras === null ? null : this.extras.head;
  }
  set head(head: PartialHead | null) {
    if (head === null && this.extras === null) return;
    this.ownExtras().head = head;
    if (head === null) this.releaseExtras();
  }

  /** @internal the peer address, recorded only when per-IP limits are on. */
  get ip(): string | undefined {
    return this.extras === null ? undefined : this.extras.ip;
  }
  set ip(ip: string | undefined) {
    if (ip === undefined && this.extras === null) return;
    this.ownExtras().ip = ip;
    if (ip === undefined) this.releaseExtras();
  }

  /**
   * @internal a sender pacing itself (a resume's replay) waiting for room, and
   * the bytes it needs (`drainNeeds`); null on nearly every connection.
   */
  get drainListener(): DrainListener | null {
    return this.extras === null ? null : this.extras.drainListener;
  }
  get drainNeeds(): number {
    return this.extras === null ? 0 : this.extras.drainNeeds;
  }

  /** Close code, once known (1006 if the TCP connection ended without a close frame). */
  get closeCode(): number {
    return this.extras === null ? CloseCode.AbnormalClosure : this.extras.closeCode;
  }
  /** Close reason, once known ('' if none). */
  get closeReason(): string {
    return this.extras === null ? '' : this.extras.closeReason;
  }

  // ---- The transport, implemented by subclasses ----

  /** The peer's IP address, if known. */
  abstract get remoteAddress(): string | undefined;
  /** Bytes handed to the transport that the kernel has not accepted yet. */
  protected abstract get transportBufferedBytes(): number;
  /** True once the transport can no longer write. */
  protected abstract get transportClosed(): boolean;
  /** Hand bytes to the kernel (or the transport's queue); never throws. */
  protected abstract transportWrite(data: Buffer): void;
  /** Hand several buffers to the kernel in one writev, without copying. */
  protected abstract transportWritev(chunks: Buffer[]): void;
  /** @internal write handshake text (latin1), e.g. the 101 response. */
  abstract writeLatin1(text: string): void;
  /** @internal half-close after pending writes; the transport closes when the peer ends too. */
  abstract end(): void;
  /** Destroy the transport now, without a closing handshake. */
  abstract terminate(): void;

  /** True while messages can be sent. */
  get isOpen(): boolean {
    return this.state === ConnectionState.Open;
  }

  /** Bytes accepted but not yet handed to the kernel: queued this turn plus the socket's buffer. */
  get bufferedAmount(): number {
    return this.pendingBytes + this.transportBufferedBytes;
  }

  /** The bound on this connection's unflushed bytes (`maxBufferedBytes`). */
  get bufferLimit(): number {
    return this.owner.maxBufferedBytes;
  }

  /**
   * For senders that pace themselves instead of meeting the slow-consumer
   * policy: queue `message` only if nothing is waiting to be written or the
   * unflushed bytes stay within half the bound (the other half is left to
   * everything else this connection receives meanwhile). Returns the frame's
   * length when queued, or the negative length when it does not fit now (call
   * `waitForDrain`); 0 when the connection is not open.
   */
  offerPrepared(message: PreparedMessage): number {
    if (this.state !== ConnectionState.Open) return 0;
    if (this.stream !== null) return offerToStream(this, this.stream, message);
    const frame = message.frameFor(this.deflate === null ? null : this.deflate.params, this.protocol !== undefined);
    const buffered = this.bufferedAmount;
    if (buffered > 0 && buffered + frame.length > this.owner.maxBufferedBytes / 2) return -frame.length;
    this.sendFrame(frame);
    return frame.length;
  }

  /**
   * Call `listener.onDrain(this)` once (in a microtask) when `bytes` more would
   * pass `offerPrepared` — checked after each flush and each completed write.
   * Several listeners may wait (each told once, when the smallest need fits);
   * dropped if the connection closes first.
   */
  waitForDrain(listener: DrainListener, bytes: number): void {
    const extras = this.ownExtras();
    const waiting = extras.drainListener;
    if (waiting === null || waiting === listener) {
      extras.drainListener = listener;
      extras.drainNeeds = bytes;
    } else {
      // Another sender waits already (two replays at once): replacing it would leave it waiting forever.
      if (!(waiting instanceof DrainListeners)) extras.drainListener = new DrainListeners([waiting, listener]);
      else if (!waiting.listeners.includes(listener)) waiting.listeners.push(listener);
      extras.drainNeeds = Math.min(extras.drainNeeds, bytes);
    }
    this.checkDrain();
  }

  /** @internal the transport wrote something, or a flush handed bytes to it: tell a waiting sender if there is room now. */
  checkDrain(): void {
    const listener = this.drainListener;
    if (listener === null || this.state !== ConnectionState.Open) return;
    // An HTTP stream whose head waits holds its bytes aside: room comes with the start (startStream checks).
    if (this.stream !== null && !this.stream.started) return;
    const buffered = this.bufferedAmount;
    if (buffered > 0 && buffered + this.drainNeeds > this.owner.maxBufferedBytes / 2) {
      // Bytes not flushed yet: the flush checks again. Bytes in the transport: its next completed write does.
      if (this.transportBufferedBytes > 0) this.watchWrites();
      return;
    }
    this.stopDrainWait();
    queueMicrotask(() => listener.onDrain(this));
  }

  /** @internal forget a waiting sender. */
  private stopDrainWait(): void {
    const extras = this.extras;
    if (extras === null || extras.drainListener === null) return;
    extras.drainListener = null;
    extras.drainNeeds = 0;
    this.releaseExtras();
  }

  /** Make sure `checkDrain` runs when the transport's pending writes complete (raw handles always report them). */
  protected watchWrites(): void {}

  /** Frame and queue one message: text for strings, binary for buffers unless `isText`. */
  send(data: string | Uint8Array, isText = typeof data === 'string'): SendResult {
    if (this.state !== ConnectionState.Open) return 'dropped';
    return this.sendFrame(encodeFrame(isText ? OpCode.Text : OpCode.Binary, data));
  }

  /**
   * Queue an already framed message (see `encodeFrame`). The same buffer may be
   * queued on any number of connections; it is not copied and must not change.
   * Written at the end of this event-loop turn together with everything else
   * queued on this connection.
   */
  sendFrame(frame: Buffer): SendResult {
    if (this.state !== ConnectionState.Open) return 'dropped';
    if (this.stream !== null) return sendFrameToStream(this, this.stream, frame);
    return this.queueBytes(frame);
  }

  /** @internal queue bytes for the next write, within the bound (the slow-consumer policy beyond). */
  queueBytes(frame: Buffer): SendResult {
    const pending = this.pending;
    // The transport's backlog is read once per flush (a native call), when the first frame is queued:
    // until the flush nothing is written, so it can only shrink.
    const backlog = pending === null ? (this.pendingBacklog = this.transportBufferedBytes) : this.pendingBacklog;
    const buffered = this.pendingBytes + backlog;
    const bound = this.owner.maxBufferedBytes;
    // A frame that would take the backlog past the bound is refused (one frame alone always fits):
    // memory per connection never grows without limit. The owner applies its policy (drop or close).
    if (buffered > 0 && buffered + frame.length > bound) {
      this.owner.onSlowConsumer(this);
      return 'dropped';
    }
    if (pending === null) {
      this.pending = frame;
      this.owner.markDirty(this);
    } else {
      this.pending = appendFrame(pending, frame);
    }
    this.pendingBytes += frame.length;
    return buffered + frame.length > bound / 2 ? 'backpressure' : 'ok';
  }

  /**
   * @internal queue the 101 response as the first bytes of the connection's
   * first write, which {@link writeHandshake} makes at the end of the upgrade
   * (not marked dirty: it does not wait for a flush wave).
   */
  queueHandshakeResponse(response: Buffer): void {
    this.lastFlushMs = HANDSHAKE_FLUSH;
    this.pending = response;
    this.pendingBytes = response.length;
  }

  /**
   * @internal the upgrade is done: write the 101 and what opening the
   * connection queued behind it (a greeting, replies to frames pipelined after
   * the request) now, in one write, instead of behind a fan-out's flush wave —
   * connections arriving during a large fan-out are not kept waiting (issue 15).
   * Nothing if a close or an end already wrote it.
   */
  writeHandshake(): void {
    if (this.pending === null) return;
    // The write that carries the 101 does not start a merge window: the first message after it goes out at once.
    this.lastFlushMs = NEVER_FLUSHED;
    this.flush();
  }

  /** Queue the frame of a fan-out message that suits this connection (compressed if negotiated). */
  sendPrepared(message: PreparedMessage): SendResult {
    if (this.state !== ConnectionState.Open) return 'dropped';
    if (this.stream !== null) return sendPreparedToStream(this, this.stream, message);
    // The only subprotocol Herald selects is herald.v1, whose deliveries are enveloped.
    return this.queueBytes(message.frameFor(this.deflate === null ? null : this.deflate.params, this.protocol !== undefined));
  }

  // ---- HTTP streams (SSE, NDJSON): the same queue, bound and close, other bytes (connection-stream.ts) ----

  /** Accept this HTTP stream request: it becomes an open connection whose replies go to `tap`. */
  openStream(tap: HttpStreamTap, context: unknown): void {
    openHttpStream(this, this.stream as HttpStream, tap, context);
  }

  /** Refuse this HTTP stream request (not open yet) with an HTTP error. */
  refuseStream(error: HandshakeError): void {
    this.owner.refuseStream(this, error);
  }

  /**
   * Send the response head, then what waited for it. SSE waits for its subscriptions' answers (a
   * refusal is an HTTP error); `afterHead` (the first cursor) goes right behind the head.
   */
  startStream(afterHead?: Buffer): void {
    const stream = this.stream;
    if (stream === null || stream.started || this.state !== ConnectionState.Open) return;
    startHttpStream(this, stream, afterHead);
  }

  /** Queue stream bytes (an event, a line), or hold them until the head; 'dropped' past the bound. */
  writeStream(bytes: Buffer, more?: Buffer): SendResult {
    if (this.state !== ConnectionState.Open) return 'dropped';
    return writeHttpStream(this, this.stream as HttpStream, bytes, more);
  }

  /** @internal unflushed bytes as `queueBytes` counts them (the backlog read when this turn's first frame was queued). */
  get unflushedBytes(): number {
    return this.pendingBytes + (this.pending === null ? this.transportBufferedBytes : this.pendingBacklog);
  }

  /** @internal write bytes now, after anything flushed (a stream's closing event), unless the transport closed. */
  writeNow(bytes: Buffer): void {
    if (!this.transportClosed) this.transportWrite(bytes);
  }

  /** Send a ping control frame (payload ≤ 125 bytes). */
  ping(payload?: Uint8Array | string): SendResult {
    return this.sendFrame(payload === undefined ? EMPTY_PING : encodeFrame(OpCode.Ping, payload));
  }

  /**
   * Start the closing handshake (RFC 6455 §7.1.2): send a close frame, then wait
   * for the peer's close frame, bounded by the server's close timeout.
   */
  close(code: number = CloseCode.NormalClosure, reason = ''): void {
    if (this.state !== ConnectionState.Open) return;
    if (this.stream !== null) return closeHttpStream(this, this.stream, code, reason);
    this.sendClose(encodeCloseFrame(code, truncateCloseReason(reason)), code, reason);
    this.owner.scheduleCloseTimeout(this);
  }

  /** @internal write everything queued this turn with one socket write. */
  flush(): void {
    const pending = this.pending;
    if (pending === null) return;
    this.pending = null;
    const bytes = this.pendingBytes;
    this.pendingBytes = 0;
    if (this.transportClosed) return;
    // A stream's keep-alive is due only after half the heartbeat without a write (liveness.ts).
    if (this.stream !== null) this.lastActivityTick = this.owner.activityTick;
    if (!(pending instanceof FrameRun)) {
      this.transportWrite(pending);
    } else if (bytes <= CONCAT_LIMIT || pending.shared || pending.frames.length > WRITEV_MAX_FRAMES) {
      // Small or many frames: one copy into one buffer beats an iovec per frame, and connections
      // that share the run share that copy (made once for all of them).
      this.transportWrite(pending.concat());
    } else {
      // A few large frames of this connection alone: hand them to writev without copying.
      this.transportWritev(pending.frames);
    }
    if (this.drainListener !== null) this.checkDrain();
  }

  // ---- FrameParserHandler: called synchronously from parser.push() ----

  /** @internal */
  onMessage(data: Buffer, isText: boolean, compressed = false): void {
    // This message is complete: whatever follows in the parser is a new one (see onData).
    this.messageStartTick = 0;
    // After we started closing, application data is no longer delivered (§7.1.2).
    if (this.state !== ConnectionState.Open) return;
    if (compressed) {
      const inflated = this.inflate(data, isText);
      if (inflated === undefined) return;
      data = inflated;
    }
    this.owner.onConnectionMessage(this, data, isText);
  }

  /** RFC 7692 §7.2.2: inflate a compressed message, bounded by the message limit; undefined once failed. */
  private inflate(data: Buffer, isText: boolean): Buffer | undefined {
    const state = this.deflate as DeflateState;
    if (!state.params.clientNoContextTakeover) state.inflater ??= new InflateContext(state.params.clientMaxWindowBits);
    let result = inflateMessage(data, this.owner.maxMessageSize, state.inflater ?? undefined);
    if (!(result instanceof ProtocolError) && isText) result = validateInflatedText(result) ?? result;
    if (!(result instanceof ProtocolError)) return result;
    this.parser?.stop();
    this.sendClose(encodeCloseFrame(result.closeCode, truncateCloseReason(result.message)), result.closeCode, result.message);
    this.end();
    this.owner.scheduleCloseTimeout(this);
    return undefined;
  }

  /** @internal RFC 6455 §5.5.2–5.5.3: answer a ping with a pong carrying the same payload. */
  onPing(payload: Buffer): void {
    if (this.state === ConnectionState.Open) this.sendFrame(encodeFrame(OpCode.Pong, payload));
  }

  /** @internal unsolicited pongs are allowed and ignored (§5.5.3). */
  onPong(_payload: Buffer): void {}

  /** @internal */
  onClose(code: number, reason: string): void {
    if (this.state === ConnectionState.Open) {
      // §5.5.1: echo the peer's close (its status code, or none if it sent none).
      const echo = code === CloseCode.NoStatusReceived ? encodeCloseFrame() : encodeCloseFrame(code);
      this.sendClose(echo, code, reason);
    }
    // Either way both close frames have now crossed: §7.1.1 the server closes TCP first.
    this.end();
    this.owner.scheduleCloseTimeout(this);
  }

  /** @internal §7.1.7 fail the connection: send the close code the error maps to, then end. */
  onProtocolError(error: ProtocolError): void {
    if (this.state === ConnectionState.Open) {
      this.sendClose(encodeCloseFrame(error.closeCode, truncateCloseReason(error.message)), error.closeCode, error.message);
    }
    this.end();
    this.owner.scheduleCloseTimeout(this);
  }

  /** Flush what is queued, then the close frame, now: nothing may follow a close frame (§5.5.1). */
  private sendClose(frame: Buffer, code: number, reason: string): void {
    this.flush();
    this.state = ConnectionState.Closing;
    this.rememberClose(code, reason);
    if (!this.transportClosed) this.transportWrite(frame);
  }

  /** @internal keep the close code and reason (in the extras: most connections never close with one). */
  rememberClose(code: number, reason: string): void {
    if (code === CloseCode.AbnormalClosure && reason === '') return;
    const extras = this.ownExtras();
    extras.closeCode = code;
    extras.closeReason = reason;
  }

  /** @internal */
  onData(chunk: Buffer): void {
    // An HTTP stream's client has nothing more to say once its request is in: ignored.
    if (this.opened && this.stream !== null) return;
    if (this.lastActivityTick !== 0) this.lastActivityTick = this.owner.activityTick;
    let parser = this.parser;
    if (parser === null) {
      if (!this.opened) {
        if (this.state === ConnectionState.Handshake) this.owner.onHandshakeData(this, chunk);
        return;
      }
      if (this.state === ConnectionState.Closed) return;
      parser = this.parser = new ConnectionFrameParser(this, { maxMessageSize: this.owner.maxMessageSize, allowRsv1: this.deflate !== null });
    }
    parser.push(chunk);
    if (this.parser !== parser) return;
    if (parser.idle) {
      // Between frames the parser holds nothing: drop it (a stopped parser is kept, to ignore what follows a close).
      this.parser = null;
      this.messageStartTick = 0;
    } else if (this.messageStartTick === 0 && this.state === ConnectionState.Open) {
      // A message is under way (and any before it in this chunk completed): its time starts now.
      this.messageStartTick = this.owner.activityTick;
      this.owner.onMessageStarted(this);
    }
  }

  /** @internal the transport has closed: called exactly once. */
  onTransportClosed(): void {
    this.state = ConnectionState.Closed;
    this.stopDrainWait();
    this.pending = null;
    this.pendingBytes = 0;
    this.head = null;
    this.parser?.stop();
    this.parser = null;
    this.owner.onConnectionClosed(this);
  }

  /** True once the handshake completed (even if closed since). */
  get wasOpened(): boolean {
    return this.opened;
  }
}

/** Above this many queued bytes, a run only this connection holds goes to writev instead of being concatenated. */
const CONCAT_LIMIT = 64 * 1024;
/** …unless it has more frames than this: an iovec per small frame costs more than one copy. */
const WRITEV_MAX_FRAMES = 16;

/** An empty ping (the heartbeat's), framed once for every connection. */
const EMPTY_PING = encodeFrame(OpCode.Ping, Buffer.alloc(0));
