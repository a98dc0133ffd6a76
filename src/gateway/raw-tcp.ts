/**
 * Direct use of Node's libuv TCP handles (`tcp_wrap` / `stream_wrap`), the
 * layer `net.Socket` is built on. A connection served this way costs a TCP
 * handle and our own object — no `net.Socket`, no Readable/Writable state, no
 * per-connection listener arrays — which is what lets an idle connection fit
 * in about a kilobyte (design.md §3). These bindings are internal to Node but
 * stable across the 20.x–24.x lines; `rawTcpAvailable` is false when they
 * cannot be loaded, and transport-choice.ts self-checks them before the
 * server trusts them (`--transport auto` then falls back to `net`).
 */

/** The subset of Node's TCPWrap used here. Methods return 0 or a negative libuv error code. */
export interface TcpHandle {
  readStart(): number;
  readStop(): number;
  writeBuffer(req: WriteRequest, data: Uint8Array): number;
  writev(req: WriteRequest, chunks: Uint8Array[], allBuffers: true): number;
  writeLatin1String(req: WriteRequest, data: string): number;
  shutdown(req: ShutdownRequest): number;
  close(callback: () => void): void;
  setNoDelay(enable: boolean): number;
  getpeername(out: Record<string, unknown>): number;
  getsockname(out: Record<string, unknown>): number;
  bind(address: string, port: number): number;
  bind6(address: string, port: number, flags: number): number;
  listen(backlog: number): number;
  connect(req: ConnectRequest, address: string, port: number): number;
  /** Bytes libuv holds that the kernel has not accepted yet. */
  readonly writeQueueSize: number;
  onread: ((this: TcpHandle, buffer: ArrayBuffer | undefined) => void) | null;
  onconnection: ((this: TcpHandle, status: number, client: TcpHandle | undefined) => void) | null;
}

export interface WriteRequest {
  handle: TcpHandle;
  oncomplete: (this: WriteRequest, status: number) => void;
  async: boolean;
  bytes: number;
  buffer: unknown;
}

/** An outgoing connect (load clients and tests). */
export interface ConnectRequest {
  oncomplete: (status: number, handle: TcpHandle) => void;
  address: string;
  port: number;
  localAddress?: string;
}

export interface ShutdownRequest {
  handle: TcpHandle;
  oncomplete: (this: ShutdownRequest, status: number) => void;
}

interface Bindings {
  TCP: new (type: number) => TcpHandle;
  serverType: number;
  socketType: number;
  ConnectWrap: new () => ConnectRequest;
  WriteWrap: new () => WriteRequest;
  ShutdownWrap: new () => ShutdownRequest;
  state: Int32Array;
  kReadBytesOrError: number;
  kArrayBufferOffset: number;
  kLastWriteWasAsync: number;
  errname(code: number): string;
}

function loadBindings(): Bindings | undefined {
  try {
    const binding = (process as unknown as { binding(name: string): any }).binding;
    const tcp = binding('tcp_wrap');
    const stream = binding('stream_wrap');
    const uv = binding('uv');
    if (typeof tcp.TCP !== 'function' || !(stream.streamBaseState instanceof Int32Array)) return undefined;
    return {
      TCP: tcp.TCP,
      serverType: tcp.constants.SERVER,
      socketType: tcp.constants.SOCKET,
      ConnectWrap: tcp.TCPConnectWrap,
      WriteWrap: stream.WriteWrap,
      ShutdownWrap: stream.ShutdownWrap,
      state: stream.streamBaseState,
      kReadBytesOrError: stream.kReadBytesOrError,
      kArrayBufferOffset: stream.kArrayBufferOffset,
      kLastWriteWasAsync: stream.kLastWriteWasAsync,
      errname: (code: number) => uv.errname(code),
    };
  } catch {
    return undefined;
  }
}

const bindings = loadBindings();

/** True when this Node exposes the TCP handle bindings. */
export const rawTcpAvailable = bindings !== undefined;

function need(): Bindings {
  if (bindings === undefined) throw new Error('raw TCP handles are not available in this Node.js');
  return bindings;
}

/** libuv's name for an error code (`ECONNREFUSED`, …). */
export function uvErrorName(code: number): string {
  return need().errname(code);
}

/** A client TCP handle, not yet connected (load clients). */
export function newClientTcpHandle(): TcpHandle {
  const b = need();
  return new b.TCP(b.socketType);
}

export function newConnectRequest(oncomplete: ConnectRequest['oncomplete']): ConnectRequest {
  const req = new (need().ConnectWrap)();
  req.oncomplete = oncomplete;
  return req;
}

/** A libuv error code as an Error (`EADDRINUSE`, …) with `code` and `errno`. */
export function uvError(code: number, syscall: string): Error {
  const name = need().errname(code);
  return Object.assign(new Error(`${syscall} ${name}`), { code: name, errno: code, syscall });
}

/** After a read callback: the byte count (> 0), 0, or a negative libuv error (UV_EOF = -4095). */
export function lastReadResult(): number {
  const b = need();
  return b.state[b.kReadBytesOrError];
}

/** The data of the read that just completed, as a Buffer view (Node allocates a fresh ArrayBuffer per read). */
export function lastReadBuffer(buffer: ArrayBuffer, nread: number): Buffer {
  const b = need();
  return Buffer.from(buffer, b.state[b.kArrayBufferOffset], nread);
}

/** Whether the last write was queued (its `oncomplete` will run) rather than completed synchronously. */
export function lastWriteWasAsync(): boolean {
  const b = need();
  return b.state[b.kLastWriteWasAsync] !== 0;
}

export function newWriteRequest(handle: TcpHandle, oncomplete: (this: WriteRequest, status: number) => void): WriteRequest {
  const req = new (need().WriteWrap)();
  req.handle = handle;
  req.oncomplete = oncomplete;
  req.async = false;
  req.bytes = 0;
  req.buffer = null;
  return req;
}

export function newShutdownRequest(handle: TcpHandle, oncomplete: (this: ShutdownRequest, status: number) => void): ShutdownRequest {
  const req = new (need().ShutdownWrap)();
  req.handle = handle;
  req.oncomplete = oncomplete;
  return req;
}

/** libuv's end-of-stream code. */
export const UV_EOF = -4095;

/** Linux copies a listening socket's TCP_NODELAY to the sockets it accepts. */
const INHERITS_NO_DELAY = process.platform === 'linux';
/** Some listener could not take TCP_NODELAY (or the platform does not pass it on): accepted handles set it. */
let listenerNoDelayFailed = !INHERITS_NO_DELAY;

/** Whether an accepted handle must set TCP_NODELAY itself (see listenOnRawHandle). */
export function acceptedNeedsNoDelay(): boolean {
  return listenerNoDelayFailed;
}

/** A listening TCP handle. */
export interface RawTcpListener {
  readonly handle: TcpHandle;
  readonly address: string;
  readonly port: number;
  readonly family: 'IPv4' | 'IPv6';
  close(): Promise<void>;
}

/** Create a TCP handle bound to `host:port` but not listening (a cluster primary shares it with workers). */
export function bindRawTcp(host: string, port: number): TcpHandle {
  const b = need();
  const handle = new b.TCP(b.serverType);
  const err = host.includes(':') ? handle.bind6(host, port, 0) : handle.bind(host, port);
  if (err !== 0) {
    handle.close(() => {});
    throw uvError(err, 'bind');
  }
  // libuv keeps a bind's EADDRINUSE for the listen() that follows; a handle
  // shared with cluster workers would then be listened on unbound, and the
  // kernel would pick a random port. An unbound socket reports port 0.
  const bound: Record<string, unknown> = {};
  if (port !== 0 && (handle.getsockname(bound) !== 0 || Number(bound.port) !== port)) {
    handle.close(() => {});
    throw Object.assign(new Error(`bind EADDRINUSE ${host}:${port}`), { code: 'EADDRINUSE', syscall: 'bind' });
  }
  return handle;
}

/**
 * Bind and listen on `host:port`; `onConnection` receives each accepted
 * client handle (not yet reading). Throws the libuv error on failure.
 */
export function listenRawTcp(host: string, port: number, backlog: number, onConnection: (client: TcpHandle) => void): RawTcpListener {
  return listenOnRawHandle(bindRawTcp(host, port), backlog, onConnection);
}

/**
 * Listen on an already bound handle — possibly one shared by several
 * processes, in which case the kernel hands each new connection to one of them.
 */
export function listenOnRawHandle(handle: TcpHandle, backlog: number, onConnection: (client: TcpHandle) => void): RawTcpListener {
  // Where accepted sockets inherit TCP_NODELAY from the listening one (Linux), set it here once instead of
  // once per connection (a setsockopt call per handshake). If that fails, every accepted handle sets it.
  if (!INHERITS_NO_DELAY || handle.setNoDelay(true) !== 0) listenerNoDelayFailed = true;
  const err = handle.listen(backlog);
  if (err !== 0) {
    handle.close(() => {});
    throw uvError(err, 'listen');
  }
  handle.onconnection = function (status, client) {
    if (status === 0 && client !== undefined) onConnection(client);
  };
  const out: Record<string, unknown> = {};
  handle.getsockname(out);
  let closed: Promise<void> | undefined;
  return {
    handle,
    address: String(out.address),
    port: Number(out.port),
    family: out.family === 'IPv6' || String(out.address).includes(':') ? 'IPv6' : 'IPv4',
    close() {
      closed ??= new Promise((resolve) => handle.close(resolve));
      return closed;
    },
  };
}
