import type { Socket } from 'node:net';
import { CloseCode, OpCode } from '../protocol/constants.js';
import { encodeCloseFrame, encodeFrame, truncateCloseReason } from '../protocol/frame-encoder.js';
import type { ProtocolError } from '../protocol/errors.js';
import type { FrameParser, FrameParserHandler } from '../protocol/frame-parser.js';
import type { WheelEntry } from './timing-wheel.js';

/** Lifecycle of a {@link WebSocketConnection}. */
export const ConnectionState = {
  /** Reading the HTTP upgrade request. */
  Handshake: 0,
  Open: 1,
  /** A close frame was sent or received; waiting (bounded) for the TCP connection to end. */
  Closing: 2,
  Closed: 3,
} as const;
export type ConnectionState = (typeof ConnectionState)[keyof typeof ConnectionState];

/**
 * What a send did. Drops are results, not errors: a closed or overloaded
 * connection must never make a fan-out loop throw.
 */
export type SendResult = 'ok' | 'backpressure' | 'dropped';

/** The server-side services a connection calls; implemented by WebSocketServer. */
export interface ConnectionOwner {
  onHandshakeData(conn: WebSocketConnection, chunk: Buffer): void;
  onConnectionMessage(conn: WebSocketConnection, data: Buffer, isText: boolean): void;
  onConnectionClosed(conn: WebSocketConnection): void;
  /** Queue `conn` to be flushed once at the end of this event-loop turn. */
  markDirty(conn: WebSocketConnection): void;
  /** Put `conn` on the shared timer wheel, to be ended if still closing after the close timeout. */
  scheduleCloseTimeout(conn: WebSocketConnection): void;
  readonly highWaterMark: number;
  /** The coarse clock value to stamp on activity (idle timeout), never early. */
  readonly activityTick: number;
}

const kConnection = Symbol('herald.connection');
type OwnedSocket = Socket & { [kConnection]: WebSocketConnection };

/**
 * One client socket. A plain object with plain fields; socket events reach it
 * through module-level listeners (no closures per connection), and deadlines
 * live on the server's timing wheel (no timer per connection).
 */
export class WebSocketConnection implements FrameParserHandler, WheelEntry {
  wheelNext: WheelEntry | null = null;
  wheelPrev: WheelEntry | null = null;
  wheelDeadline = 0;

  state: ConnectionState = ConnectionState.Handshake;
  readonly socket: Socket;
  /** @internal */
  readonly owner: ConnectionOwner;
  /** @internal set when the handshake completes. */
  parser: FrameParser | null = null;
  /** @internal the partial request head while the handshake is incomplete. */
  head: { chunks: Buffer[]; length: number } | null = null;
  /** The negotiated subprotocol, if any. */
  protocol: string | undefined = undefined;
  /** Close code and reason, once known (1006 if the TCP connection ended without a close frame). */
  closeCode: number = CloseCode.AbnormalClosure;
  closeReason = '';
  /** Free for the application (the hub keeps its per-connection state here). */
  context: unknown = undefined;

  /** @internal wheel tick of the last bytes received, for the idle timeout (0 when unused). */
  lastActivityTick = 0;

  /** @internal frames queued this turn: one buffer, several, or none. */
  pending: Buffer | Buffer[] | null = null;
  /** @internal */
  pendingBytes = 0;

  constructor(socket: Socket, owner: ConnectionOwner) {
    this.socket = socket;
    this.owner = owner;
    (socket as OwnedSocket)[kConnection] = this;
    socket.on('data', onSocketData);
    socket.on('end', onSocketEnd);
    socket.on('error', onSocketError);
    socket.on('close', onSocketClose);
  }

  /** True while messages can be sent. */
  get isOpen(): boolean {
    return this.state === ConnectionState.Open;
  }

  /** Bytes accepted but not yet handed to the kernel: queued this turn plus the socket's buffer. */
  get bufferedAmount(): number {
    return this.pendingBytes + this.socket.writableLength;
  }

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
    const pending = this.pending;
    if (pending === null) {
      this.pending = frame;
      this.owner.markDirty(this);
    } else if (Array.isArray(pending)) {
      pending.push(frame);
    } else {
      this.pending = [pending, frame];
    }
    this.pendingBytes += frame.length;
    return this.bufferedAmount > this.owner.highWaterMark ? 'backpressure' : 'ok';
  }

  /** Send a ping control frame (payload ≤ 125 bytes). */
  ping(payload: Uint8Array | string = EMPTY): SendResult {
    return this.sendFrame(encodeFrame(OpCode.Ping, payload));
  }

  /**
   * Start the closing handshake (RFC 6455 §7.1.2): send a close frame, then wait
   * for the peer's close frame, bounded by the server's close timeout.
   */
  close(code: number = CloseCode.NormalClosure, reason = ''): void {
    if (this.state !== ConnectionState.Open) return;
    this.sendClose(encodeCloseFrame(code, truncateCloseReason(reason)), code, reason);
    this.owner.scheduleCloseTimeout(this);
  }

  /** Destroy the socket now, without a closing handshake. */
  terminate(): void {
    this.socket.destroy();
  }

  /** @internal write everything queued this turn with one socket write. */
  flush(): void {
    const pending = this.pending;
    if (pending === null) return;
    this.pending = null;
    this.pendingBytes = 0;
    if (this.socket.destroyed) return;
    if (!Array.isArray(pending)) {
      this.socket.write(pending);
    } else if (pending.length <= 1 || this.pendingBytesOf(pending) <= CONCAT_LIMIT) {
      // Small frames: one copy into one buffer beats a stream write per frame.
      this.socket.write(Buffer.concat(pending));
    } else {
      // Large frames: hand the buffers to writev without copying.
      this.socket.cork();
      for (const frame of pending) this.socket.write(frame);
      this.socket.uncork();
    }
  }

  private pendingBytesOf(frames: Buffer[]): number {
    let n = 0;
    for (const f of frames) n += f.length;
    return n;
  }

  // ---- FrameParserHandler: called synchronously from parser.push() ----

  /** @internal */
  onMessage(data: Buffer, isText: boolean): void {
    // After we started closing, application data is no longer delivered (§7.1.2).
    if (this.state === ConnectionState.Open) this.owner.onConnectionMessage(this, data, isText);
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
    this.socket.end();
    this.owner.scheduleCloseTimeout(this);
  }

  /** @internal §7.1.7 fail the connection: send the close code the error maps to, then end. */
  onProtocolError(error: ProtocolError): void {
    if (this.state === ConnectionState.Open) {
      this.sendClose(encodeCloseFrame(error.closeCode, truncateCloseReason(error.message)), error.closeCode, error.message);
    }
    this.socket.end();
    this.owner.scheduleCloseTimeout(this);
  }

  /** Flush what is queued, then the close frame, now: nothing may follow a close frame (§5.5.1). */
  private sendClose(frame: Buffer, code: number, reason: string): void {
    this.flush();
    this.state = ConnectionState.Closing;
    this.closeCode = code;
    this.closeReason = reason;
    if (!this.socket.destroyed) this.socket.write(frame);
  }

  /** @internal */
  onData(chunk: Buffer): void {
    if (this.lastActivityTick !== 0) this.lastActivityTick = this.owner.activityTick;
    if (this.parser !== null) this.parser.push(chunk);
    else if (this.state === ConnectionState.Handshake) this.owner.onHandshakeData(this, chunk);
  }

  /** @internal */
  onSocketClose(): void {
    this.state = ConnectionState.Closed;
    this.pending = null;
    this.pendingBytes = 0;
    this.head = null;
    if (this.parser !== null) this.parser.stop();
    this.owner.onConnectionClosed(this);
  }

  /** True once the handshake completed (even if closed since). */
  get wasOpened(): boolean {
    return this.parser !== null;
  }
}

/** Above this many queued bytes, frames go to writev instead of being concatenated. */
const CONCAT_LIMIT = 64 * 1024;
const EMPTY = Buffer.alloc(0);

function onSocketData(this: Socket, chunk: Buffer): void {
  (this as OwnedSocket)[kConnection].onData(chunk);
}

/**
 * The peer sent FIN: end our side too. `http.Server` sockets (attach mode) allow
 * half-open connections, so without this 'close', and onClose, would never come.
 */
function onSocketEnd(this: Socket): void {
  this.end();
}

/** Errors (ECONNRESET, EPIPE…) are followed by 'close', which does the cleanup. */
function onSocketError(this: Socket, _error: Error): void {}

function onSocketClose(this: Socket): void {
  (this as OwnedSocket)[kConnection].onSocketClose();
}
