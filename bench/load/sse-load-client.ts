/**
 * A load-client process that holds Server-Sent Events connections
 * (`GET /v1/sse?topic=…`, PROTOCOL.md) instead of WebSockets, for S10. It
 * answers the same IPC commands as load-client.ts (connect, subscribe, reset,
 * stats, closeAll, info), so LoadFleet and the step runner drive it the same
 * way. The topic is in the request path (`ConnectArgs.path`): a connection is
 * "open" once the response's first cursor block arrived (every subscription
 * answered), so `subscribe` only reports.
 *
 * Sockets are `net.Socket`s (simpler than load-client.ts's raw handles: an
 * SSE client costs this process a little more CPU per message). Latency: a
 * push's payload starts with the pusher's CLOCK_MONOTONIC stamp in decimal,
 * read right after each `data: ` at the start of a line.
 */
import * as net from 'node:net';
import { Histogram } from '../lib/histogram.js';
import { serveRequests, type ConnectArgs, type ConnectResult, type LoadStats, type SubscribeResult } from './ipc.js';

const conns = new Set<SseConn>();
let received = 0;
let receivedBytes = 0;
const latency = new Histogram();
let closes: Record<string, number> = {};
let open = 0;

const DATA = Buffer.from('\ndata: ');
/** The end of the response head plus the first cursor block: `id: …\n\n` after `: ok\n\n`. */
const FIRST_ID = Buffer.from('\nid: ');

class SseConn {
  opened = false;
  ended = false;
  /** Bytes before the stream started (the head), kept only until then. */
  head: Buffer | null = Buffer.alloc(0);
  /** The last byte of the previous read, so a `data:` split across reads is still found at a line start. */
  prevLast = 0x0a;

  constructor(
    readonly socket: net.Socket,
    private readonly batch: ConnectBatch,
  ) {}

  onData(chunk: Buffer): void {
    if (!this.opened) {
      const head = Buffer.concat([this.head!, chunk]);
      const at = head.indexOf(FIRST_ID);
      if (at === -1 || head.indexOf('\n\n', at) === -1) {
        this.head = head;
        if (!head.subarray(0, 12).toString('latin1').startsWith('HTTP/1.1 200') && head.length >= 12) this.batch.failed(this, `status ${head.subarray(9, 12)}`);
        return;
      }
      this.head = null;
      this.opened = true;
      open++;
      this.batch.opened(this);
      return;
    }
    this.count(chunk);
  }

  /** Count events and their latency: each `data: <stamp>…` line at a line start is one push (one line each). */
  private count(chunk: Buffer): void {
    const now = Number(process.hrtime.bigint());
    receivedBytes += chunk.length;
    let from = 0;
    if (this.prevLast === 0x0a && chunk.subarray(0, 6).toString('latin1') === 'data: ') this.record(chunk, 6, now);
    for (;;) {
      const at = chunk.indexOf(DATA, from);
      if (at === -1) break;
      this.record(chunk, at + DATA.length, now);
      from = at + DATA.length;
    }
    this.prevLast = chunk[chunk.length - 1];
  }

  private record(chunk: Buffer, at: number, now: number): void {
    received++;
    let stamp = 0;
    for (let i = at; i < chunk.length; i++) {
      const d = chunk[i] - 48;
      if (d < 0 || d > 9) break;
      stamp = stamp * 10 + d;
    }
    if (stamp > 0) latency.record((now - stamp) / 1000);
  }
}

class ConnectBatch {
  private readonly hist = new Histogram();
  private readonly startNs = process.hrtime.bigint();
  private endNs = this.startNs;
  private ok = 0;
  private failedCount = 0;
  private readonly errors: Record<string, number> = {};
  private next = 0;
  private inFlight = 0;
  private readonly starts = new Map<SseConn, bigint>();
  private done: (result: ConnectResult) => void = () => {};

  constructor(private readonly args: ConnectArgs) {}

  run(): Promise<ConnectResult> {
    const result = new Promise<ConnectResult>((resolve) => (this.done = resolve));
    const timer = setTimeout(() => this.finish(), this.args.timeoutMs);
    result.then(() => clearTimeout(timer), () => clearTimeout(timer));
    this.fill();
    if (this.args.count === 0) this.finish();
    return result;
  }

  private fill(): void {
    const { args } = this;
    while (this.inFlight < args.inFlight && this.next < args.count) {
      const i = this.next++;
      this.inFlight++;
      const socket = net.connect({ host: args.host, port: args.port, localAddress: args.addresses[i % args.addresses.length] });
      const conn = new SseConn(socket, this);
      conns.add(conn);
      this.starts.set(conn, process.hrtime.bigint());
      socket.setNoDelay(true);
      socket.on('connect', () => socket.write(`GET ${args.path} HTTP/1.1\r\nHost: ${args.host}\r\nAccept: text/event-stream\r\n\r\n`));
      socket.on('data', (chunk: Buffer) => conn.onData(chunk));
      socket.on('error', (error: NodeJS.ErrnoException) => this.lost(conn, error.code ?? 'error'));
      socket.on('close', () => this.lost(conn, 'eof'));
    }
  }

  opened(conn: SseConn): void {
    this.ok++;
    this.settle(conn);
  }

  failed(conn: SseConn, why: string): void {
    conn.ended = true;
    conn.socket.destroy();
    this.failedCount++;
    this.errors[why] = (this.errors[why] ?? 0) + 1;
    this.settle(conn);
  }

  private lost(conn: SseConn, why: string): void {
    if (conn.ended) return;
    conn.ended = true;
    conns.delete(conn);
    if (conn.opened) {
      open--;
      closes[why] = (closes[why] ?? 0) + 1;
      return;
    }
    this.failedCount++;
    this.errors[why] = (this.errors[why] ?? 0) + 1;
    this.settle(conn);
  }

  private settle(conn: SseConn): void {
    const start = this.starts.get(conn);
    if (start === undefined) return;
    this.starts.delete(conn);
    const now = process.hrtime.bigint();
    this.hist.record(Number(now - start) / 1000);
    this.endNs = now;
    this.inFlight--;
    this.fill();
    if (this.ok + this.failedCount >= this.args.count) this.finish();
  }

  private finish(): void {
    this.done({
      ok: this.ok,
      failed: this.args.count - this.ok,
      errors: this.errors,
      startNs: String(this.startNs),
      endNs: String(this.endNs),
      latency: this.hist.snapshot(),
    });
  }
}

function stats(): LoadStats {
  const cpu = process.cpuUsage();
  return { received, bytes: receivedBytes, latency: latency.snapshot(), cpuUs: cpu.user + cpu.system, open, closes, protocolErrors: 0, rssBytes: process.memoryUsage.rss() };
}

serveRequests({
  connect: (r: { args: ConnectArgs }) => new ConnectBatch(r.args).run(),
  // The subscription is the request's path: every open connection is subscribed.
  subscribe: (): SubscribeResult => ({ connections: open, expected: open, received: open, replyErrors: {}, elapsedMs: 0 }),
  reset: () => {
    received = 0;
    receivedBytes = 0;
    latency.reset();
    closes = {};
    return stats();
  },
  stats,
  async closeAll() {
    const all = [...conns];
    for (const c of all) {
      c.ended = true;
      if (c.opened) open--;
      c.socket.destroy();
    }
    conns.clear();
    return { closed: all.length };
  },
  info: () => ({ transport: 'net', pid: process.pid }),
  exit: () => {
    setImmediate(() => process.exit(0));
    return null;
  },
});
