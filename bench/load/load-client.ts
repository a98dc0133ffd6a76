/**
 * A load-client process of the network scenarios (forked by the coordinator,
 * driven over IPC; see ipc.ts for the commands). Built to cost as little CPU
 * per delivered message as possible, so that the server stays the bottleneck:
 *
 *  - Connections sit directly on libuv TCP handles (Node's internal
 *    `tcp_wrap`, as Herald's own raw transport does): no net.Socket, no
 *    stream machinery, no per-connection closures. `BENCH_LOAD_TRANSPORT=net`
 *    switches to plain net.Sockets (also the fallback when the bindings are
 *    missing).
 *  - The upgrade request is written as one string; server frames are parsed
 *    by Herald's `FrameParser` in client mode; commands are masked client
 *    frames from `encodeClientFrame`, built once where they are the same for
 *    every connection.
 *  - A push's payload starts with the pusher's `process.hrtime.bigint()`
 *    (CLOCK_MONOTONIC, the same clock in every process) in decimal; the
 *    latency (read time − stamp) goes to a log-linear histogram. The read
 *    time is taken once per socket read, not per message.
 */
import * as net from 'node:net';
import { SignJWT } from 'jose';
import { FrameParser, OpCode, encodeClientFrame, type FrameParserHandler, type ProtocolError } from '../../src/protocol/index.js';
import {
  UV_EOF,
  lastReadBuffer,
  lastReadResult,
  newClientTcpHandle,
  newConnectRequest,
  newWriteRequest,
  rawTcpAvailable,
  uvErrorName,
  type ConnectRequest,
  type TcpHandle as RawTcpHandle,
  type WriteRequest,
} from '../../src/gateway/raw-tcp.js';
import { Histogram } from '../lib/histogram.js';
import {
  serveRequests,
  type ConnectArgs,
  type ConnectResult,
  type LoadStats,
  type SubscribeResult,
  type SubscribeSpec,
} from './ipc.js';
import { topicsOfConnection } from './topics.js';

// ---------------------------------------------------------------------------
// libuv TCP handles (client side)

/** The load client's own handles carry their connection. */
type TcpHandle = RawTcpHandle & { conn?: Conn };
type WriteReq = Omit<WriteRequest, 'handle'> & { handle: TcpHandle };
/** Raw libuv handles (the same bindings the server uses) unless BENCH_LOAD_TRANSPORT=net. */
const useRaw = rawTcpAvailable && process.env.BENCH_LOAD_TRANSPORT !== 'net';

// ---------------------------------------------------------------------------
// State of this process

const MASK = 0x5a3c96e1;
const MAX_MESSAGE = 16 * 1024 * 1024;

const conns = new Set<Conn>();
let received = 0;
let receivedBytes = 0;
const latency = new Histogram();
let closes: Record<string, number> = {};
let protocolErrors = 0;
/** Subscribe-phase replies (20001, 20003) and the rest (30xxx), counted since the last subscribe. */
let repliesOk = 0;
let replyErrors: Record<string, number> = {};
/** CLOCK_MONOTONIC in ns at the current socket read. */
let nowNs = 0;

function bump(map: Record<string, number>, key: string): void {
  map[key] = (map[key] ?? 0) + 1;
}

const S_CONNECTING = 0;
const S_HANDSHAKE = 1;
const S_OPEN = 2;
const S_CLOSED = 3;

/** `"code":NNNNN` of a reply, read from its first bytes. */
function replyCode(data: Buffer): number {
  const i = data.indexOf('"code":');
  if (i < 0) return -1;
  let v = 0;
  for (let j = i + 7; j < data.length; j++) {
    const d = data[j] - 48;
    if (d < 0 || d > 9) break;
    v = v * 10 + d;
  }
  return v;
}

class Conn implements FrameParserHandler {
  state = S_CONNECTING;
  handle: TcpHandle | null = null;
  socket: net.Socket | null = null;
  parser: FrameParser | null = null;
  head: Buffer | null = null;
  /** The connect batch waiting for this connection's greeting; null once it is open or failed. */
  batch: ConnectBatch | null;
  startNs = 0;

  constructor(
    readonly index: number,
    batch: ConnectBatch,
  ) {
    this.batch = batch;
  }

  onData(buf: Buffer): void {
    if (this.state === S_OPEN) {
      const parser = this.parser as FrameParser;
      if (parser.idle) {
        // Fast path: whole small unmasked data frames are read in place; the parser takes the rest.
        const end = this.scanFrames(buf);
        if (end === buf.length) return;
        if (end > 0) buf = buf.subarray(end);
      }
      parser.push(buf);
      return;
    }
    if (this.state !== S_HANDSHAKE) return;
    const head = this.head === null ? buf : Buffer.concat([this.head, buf]);
    const end = head.indexOf('\r\n\r\n');
    if (end < 0) {
      if (head.length > 16384) this.fail('bad-response');
      else this.head = head;
      return;
    }
    this.head = null;
    const statusLine = head.toString('latin1', 0, Math.min(head.indexOf('\r\n'), 64));
    if (!statusLine.startsWith('HTTP/1.1 101')) {
      this.fail(`http-${statusLine.slice(9, 12)}`);
      return;
    }
    this.state = S_OPEN;
    this.parser = new FrameParser(this, { isServer: false, maxMessageSize: MAX_MESSAGE });
    if (end + 4 < head.length) this.parser.push(head.subarray(end + 4));
  }

  /**
   * Count the pushes among the whole, unfragmented, unmasked data frames of
   * up to 64 KiB at the start of `buf` without creating a view per frame (a
   * merged write carries hundreds of them); other messages go to onMessage.
   * Returns where it stopped: the end, or the first frame it leaves to the parser.
   */
  scanFrames(buf: Buffer): number {
    const length = buf.length;
    let at = 0;
    while (at + 2 <= length) {
      const b0 = buf[at];
      if (b0 !== 0x81 && b0 !== 0x82) break;
      let size = buf[at + 1];
      let start = at + 2;
      if (size >= 126) {
        if (size !== 126 || at + 4 > length) break;
        size = (buf[at + 2] << 8) | buf[at + 3];
        start = at + 4;
      }
      const end = start + size;
      if (end > length) break;
      const c0 = size > 0 ? buf[start] : 0;
      if (c0 >= 48 && c0 <= 57) {
        let stamp = 0;
        const stop = size < 20 ? end : start + 20;
        for (let i = start; i < stop; i++) {
          const d = buf[i] - 48;
          if (d < 0 || d > 9) break;
          stamp = stamp * 10 + d;
        }
        received++;
        receivedBytes += size;
        latency.record((nowNs - stamp) / 1000);
      } else {
        this.onMessage(buf.subarray(start, end), b0 === 0x81);
        if (this.state !== S_OPEN) return length;
      }
      at = end;
    }
    return at;
  }

  onMessage(data: Buffer, _isText: boolean): void {
    const c0 = data[0];
    if (c0 >= 48 && c0 <= 57) {
      // A push: decimal send stamp first.
      let stamp = 0;
      const n = data.length < 20 ? data.length : 20;
      for (let i = 0; i < n; i++) {
        const d = data[i] - 48;
        if (d < 0 || d > 9) break;
        stamp = stamp * 10 + d;
      }
      received++;
      receivedBytes += data.length;
      latency.record((nowNs - stamp) / 1000);
      return;
    }
    if (c0 !== 0x7b) return; // 'pong'
    const code = replyCode(data);
    if (code === 20000) {
      const batch = this.batch;
      if (batch !== null) {
        this.batch = null;
        batch.opened(this);
      }
    } else if (code === 20001 || code === 20003) {
      repliesOk++;
    } else {
      bump(replyErrors, String(code));
    }
  }

  onPing(payload: Buffer): void {
    this.write(encodeClientFrame(OpCode.Pong, payload, MASK));
  }

  onPong(): void {}

  onClose(code: number): void {
    this.ended(String(code));
  }

  onProtocolError(error: ProtocolError): void {
    protocolErrors++;
    this.ended(`protocol-${error.closeCode}`);
  }

  /** The connection ended without us asking. */
  ended(reason: string): void {
    if (this.state === S_CLOSED) return;
    if (this.batch !== null) return this.fail(reason);
    bump(closes, reason);
    this.terminate();
  }

  /** Failed before the greeting. */
  fail(reason: string): void {
    const batch = this.batch;
    this.batch = null;
    this.terminate();
    batch?.failed(reason, this);
  }

  write(data: Buffer): void {
    if (this.state === S_CLOSED) return;
    if (this.handle !== null) {
      const req = newWriteReq(this.handle);
      req.buffer = data;
      if (this.handle.writeBuffer(req, data) !== 0) this.ended('write-error');
    } else {
      this.socket?.write(data);
    }
  }

  writeLatin1(text: string): void {
    if (this.handle !== null) {
      const req = newWriteReq(this.handle);
      if (this.handle.writeLatin1String(req, text) !== 0) this.ended('write-error');
    } else {
      this.socket?.write(text, 'latin1');
    }
  }

  terminate(): void {
    if (this.state === S_CLOSED) return;
    this.state = S_CLOSED;
    conns.delete(this);
    if (this.parser !== null) this.parser.stop();
    if (this.handle !== null) {
      const handle = this.handle;
      handle.readStop();
      handle.close(onHandleClosed);
      closing++;
    } else if (this.socket !== null) {
      this.socket.destroy();
    }
  }
}

let closing = 0;
function onHandleClosed(): void {
  closing--;
}

function newWriteReq(handle: TcpHandle): WriteReq {
  return newWriteRequest(handle, onWriteDone as WriteRequest['oncomplete']) as WriteReq;
}

function onWriteDone(this: WriteReq, status: number): void {
  this.buffer = null;
  if (status < 0) this.handle.conn?.ended('write-error');
}

function onRawRead(this: TcpHandle, buffer: ArrayBuffer | undefined): void {
  const conn = this.conn as Conn;
  const nread = lastReadResult();
  if (nread > 0) {
    nowNs = Number(process.hrtime.bigint());
    conn.onData(lastReadBuffer(buffer as ArrayBuffer, nread));
  } else if (nread < 0) {
    // The errno name (ECONNRESET, …) says why: a server out of descriptors resets what it cannot accept.
    conn.ended(nread === UV_EOF ? 'eof' : uvErrorName(nread));
  }
}

function onRawConnect(status: number, handle: TcpHandle): void {
  const conn = handle.conn as Conn;
  if (conn.state === S_CLOSED) return;
  if (status < 0) {
    conn.fail(uvErrorName(status));
    return;
  }
  conn.state = S_HANDSHAKE;
  handle.setNoDelay(true);
  if (handle.readStart() !== 0) {
    conn.fail('read-start');
    return;
  }
  conn.writeLatin1(conn.batch?.request ?? '');
}

// ---------------------------------------------------------------------------
// connect

class ConnectBatch {
  readonly request: string;
  private next = 0;
  private ok = 0;
  private failedCount = 0;
  private readonly errors: Record<string, number> = {};
  private readonly hist = new Histogram();
  private readonly startNs = process.hrtime.bigint();
  private endNs = this.startNs;
  private readonly pending = new Set<Conn>();
  private done!: (result: ConnectResult) => void;
  private timer: NodeJS.Timeout | undefined;
  /** Sweeps `pending` for connections past `perConnectionTimeoutMs` (one timer per batch, not per connection). */
  private sweeper: NodeJS.Timeout | undefined;
  private timedOut = false;

  constructor(private readonly args: ConnectArgs) {
    this.request =
      `GET ${args.path} HTTP/1.1\r\nHost: ${args.host}:${args.port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
      `Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`;
  }

  run(): Promise<ConnectResult> {
    return new Promise((resolve) => {
      this.done = resolve;
      if (this.args.count === 0) return this.finish();
      this.timer = setTimeout(() => {
        this.timedOut = true;
        for (const conn of [...this.pending]) conn.fail('timeout');
        while (this.next < this.args.count) {
          this.next++;
          this.failed('timeout');
        }
      }, this.args.timeoutMs);
      const limitMs = this.args.perConnectionTimeoutMs;
      if (limitMs !== undefined && limitMs > 0) {
        this.sweeper = setInterval(() => this.sweep(limitMs * 1e6), Math.min(1_000, Math.max(50, limitMs / 4)));
      }
      for (let i = 0; i < this.args.inFlight && this.next < this.args.count; i++) this.launch();
    });
  }

  private launch(): void {
    const local = this.next++;
    const conn = new Conn(this.args.firstIndex + local, this);
    const address = this.args.addresses[local % this.args.addresses.length];
    conns.add(conn);
    this.pending.add(conn);
    conn.startNs = Number(process.hrtime.bigint());
    if (useRaw) {
      const handle: TcpHandle = newClientTcpHandle();
      handle.conn = conn;
      handle.onread = onRawRead;
      conn.handle = handle;
      let err = handle.bind(address, 0);
      if (err === 0) {
        const req = newConnectRequest(onRawConnect as ConnectRequest['oncomplete']);
        req.address = this.args.host;
        req.port = this.args.port;
        req.localAddress = address;
        err = handle.connect(req, this.args.host, this.args.port);
      }
      if (err !== 0) {
        // Report asynchronously: a failure must not recurse into launch().
        const reason = uvErrorName(err);
        setImmediate(() => conn.fail(reason));
      }
    } else {
      const socket = net.connect({ host: this.args.host, port: this.args.port, localAddress: address, noDelay: true });
      conn.socket = socket;
      socket.on('connect', () => {
        conn.state = S_HANDSHAKE;
        socket.write(this.request, 'latin1');
      });
      socket.on('data', (chunk: Buffer) => {
        nowNs = Number(process.hrtime.bigint());
        conn.onData(chunk);
      });
      socket.on('error', (error: NodeJS.ErrnoException) => conn.ended(error.code ?? 'error'));
      socket.on('close', () => conn.ended('eof'));
    }
  }

  /** Fail the pending connections older than `limitNs` (a failure launches the next one, as any failure does). */
  private sweep(limitNs: number): void {
    const now = Number(process.hrtime.bigint());
    for (const conn of [...this.pending]) {
      if (now - conn.startNs > limitNs) conn.fail(conn.state === S_CONNECTING ? 'tcp-connect-timeout' : 'handshake-timeout');
    }
  }

  opened(conn: Conn): void {
    this.pending.delete(conn);
    this.ok++;
    this.endNs = process.hrtime.bigint();
    this.hist.record((Number(this.endNs) - conn.startNs) / 1000);
    this.step();
  }

  failed(reason: string, conn?: Conn): void {
    if (conn !== undefined) this.pending.delete(conn);
    this.failedCount++;
    bump(this.errors, reason);
    this.step();
  }

  private step(): void {
    if (this.ok + this.failedCount >= this.args.count) return this.finish();
    if (!this.timedOut && this.next < this.args.count) this.launch();
  }

  private finish(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    if (this.sweeper !== undefined) clearInterval(this.sweeper);
    this.done({
      ok: this.ok,
      failed: this.failedCount,
      errors: this.errors,
      startNs: String(this.startNs),
      endNs: String(this.endNs),
      latency: this.hist.snapshot(),
    });
  }
}

// ---------------------------------------------------------------------------
// subscribe

function textFrame(text: string): Buffer {
  return encodeClientFrame(OpCode.Text, text, MASK);
}

async function subscribe(spec: SubscribeSpec, timeoutMs: number): Promise<SubscribeResult> {
  const t0 = performance.now();
  repliesOk = 0;
  replyErrors = {};
  const open = [...conns].filter((c) => c.state === S_OPEN);
  let expected = 0;
  if (spec.kind === 'topic') {
    const frame = textFrame(JSON.stringify({ code: 1, topic: spec.topic }));
    for (const c of open) c.write(frame);
    expected = open.length;
  } else if (spec.kind === 'multi') {
    const frames = new Array<Buffer>(spec.topics);
    for (let t = 0; t < spec.topics; t++) frames[t] = textFrame(JSON.stringify({ code: 1, topic: `${spec.prefix}${t}` }));
    for (const c of open) {
      const mine = topicsOfConnection(c.index, spec.perConnection, spec.topics, spec.seed);
      c.write(Buffer.concat(mine.map((t) => frames[t])));
      expected += mine.length;
    }
  } else {
    const sub = textFrame(JSON.stringify({ code: 5, topic: spec.topic }));
    const key = spec.secret === undefined ? undefined : new TextEncoder().encode(spec.secret);
    // Sign in slices so the replies of the first ones are read while the rest are signed.
    for (let i = 0; i < open.length; i += 500) {
      const slice = open.slice(i, i + 500);
      const credentials = await Promise.all(
        slice.map((c) => {
          const uid = `${spec.uidPrefix}${c.index}`;
          if (spec.credential === 'uid') return uid;
          return new SignJWT({}).setSubject(uid).setProtectedHeader({ alg: 'HS256' }).sign(key as Uint8Array);
        }),
      );
      // Login and private subscribe back to back, as gpush clients do (Herald defers op 5 until the login completes).
      // An empty topic: log in only (pushes then go to the user, `{uid, data}`).
      slice.forEach((c, j) => {
        const login = textFrame(JSON.stringify({ code: 3, data: credentials[j] }));
        c.write(spec.topic === '' ? login : Buffer.concat([login, sub]));
      });
    }
    expected = open.length * (spec.topic === '' ? 1 : 2);
  }
  const deadline = performance.now() + timeoutMs;
  while (repliesOk + countOf(replyErrors) < expected && performance.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return {
    connections: open.length,
    expected,
    received: repliesOk,
    replyErrors,
    elapsedMs: Math.round(performance.now() - t0),
  };
}

function countOf(map: Record<string, number>): number {
  let n = 0;
  for (const k in map) n += map[k];
  return n;
}

// ---------------------------------------------------------------------------

function stats(): LoadStats {
  const cpu = process.cpuUsage();
  let open = 0;
  for (const c of conns) if (c.state === S_OPEN) open++;
  return {
    received,
    bytes: receivedBytes,
    latency: latency.snapshot(),
    cpuUs: cpu.user + cpu.system,
    open,
    closes,
    protocolErrors,
    rssBytes: process.memoryUsage.rss(),
  };
}

async function closeAll(): Promise<{ closed: number }> {
  const all = [...conns];
  for (const c of all) c.terminate();
  const deadline = Date.now() + 10_000;
  while (closing > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
  return { closed: all.length };
}

serveRequests({
  connect: (r: { args: ConnectArgs }) => new ConnectBatch(r.args).run(),
  subscribe: (r: { spec: SubscribeSpec; timeoutMs: number }) => subscribe(r.spec, r.timeoutMs),
  reset: () => {
    received = 0;
    receivedBytes = 0;
    latency.reset();
    closes = {};
    protocolErrors = 0;
    return stats();
  },
  stats,
  closeAll,
  info: () => ({ transport: useRaw ? 'raw' : 'net', pid: process.pid }),
  exit: () => {
    setImmediate(() => process.exit(0));
    return null;
  },
});
