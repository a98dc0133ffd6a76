import { TRANSPORT_FLAGS_SHIFT, WebSocketConnection, kConnection, type ConnectionOwner } from './connection.js';
import {
  UV_EOF,
  acceptedNeedsNoDelay,
  lastReadBuffer,
  lastReadResult,
  lastWriteWasAsync,
  newShutdownRequest,
  newWriteRequest,
  type ShutdownRequest,
  type TcpHandle,
  type WriteRequest,
} from './raw-tcp.js';

type OwnedHandle = TcpHandle & Record<symbol, RawTcpConnection>;

/**
 * The property of a TCP handle that links it back to its connection. Node's
 * TCP handles come with an `owner_symbol` property (null on an accepted handle;
 * `net.Socket` keeps itself there, and Node reads it back as the handle's
 * public face, e.g. for `executionAsyncResource`): storing the connection
 * there adds no property to the handle, where one of our own grew every
 * handle's out-of-object property array by 24 bytes. `kConnection` only if
 * this Node has no such property.
 */
let ownerKey: symbol | undefined;

function ownerKeyOf(handle: TcpHandle): symbol {
  ownerKey ??= Object.getOwnPropertySymbols(handle).find((key) => key.description === 'owner_symbol') ?? kConnection;
  return ownerKey;
}

// Flags of the transport, kept in the connection's `bits` (no field of their own).
/** We asked for a half-close (shutdown) after pending writes. */
const ENDED = 1 << TRANSPORT_FLAGS_SHIFT;
/** The peer sent FIN. */
const PEER_ENDED = 2 << TRANSPORT_FLAGS_SHIFT;
/** The handle is closing or closed: no more I/O. */
const CLOSED = 4 << TRANSPORT_FLAGS_SHIFT;
/** Our shutdown completed: everything we wrote reached the kernel, and FIN was sent. */
const SHUTDOWN_DONE = 8 << TRANSPORT_FLAGS_SHIFT;

/**
 * The write request handed to every write. Node binds a request object to a
 * native write only when the kernel did not take all the bytes at once (the
 * write goes on libuv's queue and its `oncomplete` runs later); a write that
 * completes synchronously — nearly every write of a fan-out — leaves the
 * object untouched. So one object serves every synchronous write, and is
 * replaced only when a write went on the queue, instead of a new native-backed
 * object per write (an allocation, its internal fields, and garbage).
 */
let spareRequest: WriteRequest | null = null;

function writeRequest(handle: TcpHandle): WriteRequest {
  const req = (spareRequest ??= newWriteRequest(handle, onRawWriteDone));
  req.handle = handle;
  return req;
}

/**
 * After a write with `req`: if it went on libuv's queue, `req` now belongs to
 * it (keep `data` alive until it completes, and use a fresh request next
 * time); returns whether it did.
 */
function settleWrite(req: WriteRequest, data: unknown): boolean {
  if (!lastWriteWasAsync()) return false;
  req.buffer = data; // keep the bytes alive while libuv may still hold them
  spareRequest = null;
  return true;
}

/**
 * A connection straight on a libuv TCP handle: reads arrive in `onread`,
 * writes go out as write requests, and nothing else is kept — no stream
 * buffers, no event listeners, no per-connection closures.
 */
export class RawTcpConnection extends WebSocketConnection {
  private readonly handle: TcpHandle;
  /** Writes on libuv's queue (not taken by the kernel at once): while 0, nothing is buffered. */
  private queuedWrites = 0;

  constructor(handle: TcpHandle, owner: ConnectionOwner) {
    super(owner);
    this.handle = handle;
    (handle as OwnedHandle)[ownerKeyOf(handle)] = this;
    handle.onread = onRawRead;
    // Accepted handles inherit TCP_NODELAY from the listener where the platform passes it on.
    if (acceptedNeedsNoDelay()) handle.setNoDelay(true);
    if (handle.readStart() !== 0) this.terminate();
  }

  get remoteAddress(): string | undefined {
    if ((this.bits & CLOSED) !== 0) return undefined;
    const out: Record<string, unknown> = {};
    return this.handle.getpeername(out) === 0 ? String(out.address) : undefined;
  }

  protected get transportBufferedBytes(): number {
    // The native getter only when a write is queued: read once per flush per connection, it was a
    // measurable share of a fan-out while nearly always 0.
    return (this.bits & CLOSED) !== 0 || this.queuedWrites === 0 ? 0 : this.handle.writeQueueSize;
  }

  protected get transportClosed(): boolean {
    return (this.bits & CLOSED) !== 0;
  }

  protected transportWrite(data: Buffer): void {
    if ((this.bits & (CLOSED | ENDED)) !== 0) return;
    const req = writeRequest(this.handle);
    if (this.handle.writeBuffer(req, data) !== 0) return this.writeFailed();
    if (settleWrite(req, data)) this.queuedWrites++;
  }

  protected transportWritev(chunks: Buffer[]): void {
    if ((this.bits & (CLOSED | ENDED)) !== 0) return;
    const req = writeRequest(this.handle);
    if (this.handle.writev(req, chunks, true) !== 0) return this.writeFailed();
    if (settleWrite(req, chunks)) this.queuedWrites++;
  }

  writeLatin1(text: string): void {
    if ((this.bits & (CLOSED | ENDED)) !== 0) return;
    const req = writeRequest(this.handle);
    if (this.handle.writeLatin1String(req, text) !== 0) return this.writeFailed();
    // libuv copied what it queued of the string: nothing to keep alive.
    if (settleWrite(req, null)) this.queuedWrites++;
  }

  /** A write was refused: the request may have been bound to it, so it is not reused. */
  private writeFailed(): void {
    spareRequest = null;
    this.terminate();
  }

  /** @internal a queued write completed (or failed). */
  writeDone(): void {
    this.queuedWrites--;
  }

  end(): void {
    if ((this.bits & (CLOSED | ENDED)) !== 0) return;
    // What is queued (the 101 and greeting of a client that half-closed right after its request,
    // messages of this turn) goes out before our FIN.
    this.flush();
    this.bits |= ENDED;
    // libuv runs the shutdown after every queued write, so nothing is cut off.
    if (this.handle.shutdown(newShutdownRequest(this.handle, onRawShutdown)) !== 0) this.terminate();
  }

  terminate(): void {
    if ((this.bits & CLOSED) !== 0) return;
    this.bits |= CLOSED;
    this.handle.readStop();
    this.handle.close(onRawClosed);
  }

  /** @internal */
  onReadEnd(status: number): void {
    if (status !== UV_EOF) return this.terminate();
    this.bits |= PEER_ENDED;
    this.handle.readStop();
    // The connection is over once both sides have sent FIN: ours may be done, pending, or not asked for yet.
    if ((this.bits & SHUTDOWN_DONE) !== 0) return this.terminate();
    if ((this.bits & ENDED) !== 0) return;
    // The peer is done and we had not ended: write what is queued, and if the kernel took all of it,
    // close now — with the receive side drained, close() sends what the kernel holds and then FIN, as a
    // shutdown would, without a shutdown request and its callback per connection (most closes).
    this.flush();
    if ((this.bits & CLOSED) === 0 && this.handle.writeQueueSize === 0) this.terminate();
    else this.end();
  }

  /** @internal */
  onShutdownDone(): void {
    this.bits |= SHUTDOWN_DONE;
    if ((this.bits & PEER_ENDED) !== 0) this.terminate();
  }
}

function onRawRead(this: TcpHandle, buffer: ArrayBuffer | undefined): void {
  const conn = (this as OwnedHandle)[ownerKey as symbol];
  const nread = lastReadResult();
  if (nread > 0) conn.onData(lastReadBuffer(buffer as ArrayBuffer, nread));
  else if (nread < 0) conn.onReadEnd(nread);
}

function onRawWriteDone(this: WriteRequest, status: number): void {
  this.buffer = null;
  const conn = (this.handle as OwnedHandle)[ownerKey as symbol];
  conn.writeDone();
  if (status < 0) conn.terminate();
  else if (conn.drainListener !== null) conn.checkDrain();
}

function onRawShutdown(this: ShutdownRequest, _status: number): void {
  (this.handle as OwnedHandle)[ownerKey as symbol].onShutdownDone();
}

function onRawClosed(this: TcpHandle): void {
  (this as OwnedHandle)[ownerKey as symbol].onTransportClosed();
}
