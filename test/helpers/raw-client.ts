/**
 * A raw TCP WebSocket client for integration tests: it writes whatever bytes a
 * test asks for (valid or not) and reads the server's HTTP response and frames
 * with our own codec in client mode. Nothing here throws on socket errors; a
 * test waits for the state it expects and times out otherwise.
 */
import { randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import {
  FrameParser,
  OpCode,
  acceptKey,
  encodeClientFrame,
  findHeadEnd,
  type FrameParserHandler,
  type ProtocolError,
} from '../../src/index.js';

import { WAIT_MS } from './wait.js';

export { WAIT_MS };

/** A fixed, valid Sec-WebSocket-Key (the RFC 6455 §1.3 example). */
export const SAMPLE_KEY = 'dGhlIHNhbXBsZSBub25jZQ==';

export interface HttpResponse {
  status: number;
  reason: string;
  /** Lower-cased names; the last value wins. */
  headers: Map<string, string>;
  body: string;
}

export type ServerEvent =
  | { type: 'message'; data: Buffer; isText: boolean }
  | { type: 'ping'; payload: Buffer }
  | { type: 'pong'; payload: Buffer }
  | { type: 'close'; code: number; reason: string }
  | { type: 'protocol-error'; error: ProtocolError };

export interface RequestOptions {
  method?: string;
  path?: string;
  version?: string;
  /** Header overrides; `null` removes a default header. */
  headers?: Record<string, string | null>;
}

/** An opening handshake request head; every default header can be overridden or removed. */
export function buildRequest(options: RequestOptions = {}): string {
  const headers: Record<string, string | null> = {
    Host: '127.0.0.1',
    Upgrade: 'websocket',
    Connection: 'Upgrade',
    'Sec-WebSocket-Key': SAMPLE_KEY,
    'Sec-WebSocket-Version': '13',
    ...options.headers,
  };
  let head = `${options.method ?? 'GET'} ${options.path ?? '/'} HTTP/${options.version ?? '1.1'}\r\n`;
  for (const [name, value] of Object.entries(headers)) if (value !== null) head += `${name}: ${value}\r\n`;
  return head + '\r\n';
}

interface Waiter {
  check(): boolean;
  resolve(): void;
  reject(error: Error): void;
  timer: NodeJS.Timeout;
}

export class RawClient implements FrameParserHandler {
  readonly socket: Socket;
  /** Everything the server sent, decoded as frames once the 101 was read. */
  readonly events: ServerEvent[] = [];
  ended = false;
  closed = false;
  socketError: Error | undefined;
  private input: Buffer = Buffer.alloc(0);
  private parser: FrameParser | null = null;
  private readCursor = 0;
  private waiters = new Set<Waiter>();

  private constructor(socket: Socket) {
    this.socket = socket;
    socket.on('data', (chunk: Buffer) => {
      if (this.parser !== null) this.parser.push(chunk);
      else this.input = Buffer.concat([this.input, chunk]);
      this.changed();
    });
    socket.on('end', () => {
      this.ended = true;
      this.changed();
    });
    socket.on('error', (error) => {
      this.socketError = error;
    });
    socket.on('close', () => {
      this.closed = true;
      this.changed();
    });
  }

  /** Connect to 127.0.0.1:`port`. With `allowHalfOpen`, the client never ends its side by itself. */
  static connect(port: number, options: { allowHalfOpen?: boolean } = {}): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const socket = connect({ port, host: '127.0.0.1', noDelay: true, allowHalfOpen: options.allowHalfOpen ?? false });
      const client = new RawClient(socket);
      socket.once('connect', () => resolve(client));
      socket.once('error', reject);
    });
  }

  /** Connect, send a valid request, and check the 101 (including Sec-WebSocket-Accept). */
  static async open(port: number, request: RequestOptions = {}): Promise<RawClient> {
    const client = await RawClient.connect(port);
    client.write(buildRequest(request));
    const response = await client.readResponse();
    if (response.status !== 101) throw new Error(`expected 101, got ${response.status} ${response.body}`);
    if (response.headers.get('sec-websocket-accept') !== acceptKey(SAMPLE_KEY)) throw new Error('bad Sec-WebSocket-Accept');
    return client;
  }

  write(data: string | Uint8Array): void {
    this.socket.write(typeof data === 'string' ? Buffer.from(data, 'latin1') : data);
  }

  /** Send one masked frame, as a conforming client would. */
  send(opcode: OpCode, payload: Uint8Array | string = '', fin = true): void {
    this.write(encodeClientFrame(opcode, payload, randomBytes(4).readUInt32BE(0), fin));
  }

  /** Send a close frame with `code` and `reason`. */
  sendClose(code: number, reason = ''): void {
    const payload = Buffer.alloc(2 + Buffer.byteLength(reason));
    payload.writeUInt16BE(code, 0);
    payload.write(reason, 2);
    this.send(OpCode.Close, payload);
  }

  /**
   * Read one HTTP response (head and Content-Length body). After a 101, the
   * bytes that follow are decoded as WebSocket frames.
   */
  async readResponse(timeoutMs = WAIT_MS): Promise<HttpResponse> {
    let response: HttpResponse | undefined;
    await this.waitFor(() => (response = this.takeResponse()) !== undefined || this.closed, 'an HTTP response', timeoutMs);
    if (response === undefined) throw new Error(`connection closed before a full response; got ${JSON.stringify(this.input.toString('latin1'))}`);
    return response;
  }

  /** The next frame event from the server. */
  async nextEvent(timeoutMs = WAIT_MS): Promise<ServerEvent> {
    await this.waitFor(() => this.events.length > this.readCursor, 'a frame from the server', timeoutMs);
    return this.events[this.readCursor++];
  }

  /** The next event, which must be a close frame; returns its code and reason. */
  async nextClose(timeoutMs = WAIT_MS): Promise<{ code: number; reason: string }> {
    const event = await this.nextEvent(timeoutMs);
    if (event.type !== 'close') throw new Error(`expected a close frame, got ${event.type}`);
    return { code: event.code, reason: event.reason };
  }

  /** Resolves when the server has ended its side (FIN) or the socket closed. */
  waitEnded(timeoutMs = WAIT_MS): Promise<void> {
    return this.waitFor(() => this.ended || this.closed, 'the server to end the connection', timeoutMs);
  }

  /** Resolves once the TCP connection is fully closed. */
  waitClosed(timeoutMs = WAIT_MS): Promise<void> {
    return this.waitFor(() => this.closed, 'the connection to close', timeoutMs);
  }

  destroy(): void {
    this.socket.destroy();
  }

  waitFor(check: () => boolean, what: string, timeoutMs = WAIT_MS): Promise<void> {
    if (check()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        check,
        resolve,
        reject,
        timer: setTimeout(() => {
          this.waiters.delete(waiter);
          reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
        }, timeoutMs),
      };
      this.waiters.add(waiter);
    });
  }

  private changed(): void {
    for (const waiter of this.waiters) {
      if (!waiter.check()) continue;
      clearTimeout(waiter.timer);
      this.waiters.delete(waiter);
      waiter.resolve();
    }
  }

  private takeResponse(): HttpResponse | undefined {
    const end = findHeadEnd(this.input);
    if (end === -1) return undefined;
    const lines = this.input.toString('latin1', 0, end - 4).split('\r\n');
    const statusLine = /^HTTP\/1\.1 (\d{3}) (.*)$/.exec(lines[0]);
    if (statusLine === null) throw new Error(`malformed status line ${JSON.stringify(lines[0])}`);
    const headers = new Map<string, string>();
    for (const line of lines.slice(1)) {
      const colon = line.indexOf(':');
      headers.set(line.slice(0, colon).toLowerCase(), line.slice(colon + 1).trim());
    }
    const length = Number(headers.get('content-length') ?? 0);
    if (this.input.length < end + length) return undefined;
    const body = this.input.toString('utf8', end, end + length);
    const rest = this.input.subarray(end + length);
    this.input = Buffer.alloc(0);
    const status = Number(statusLine[1]);
    if (status === 101) {
      this.parser = new FrameParser(this, { isServer: false, maxMessageSize: 64 * 1024 * 1024 });
      this.parser.push(rest);
    } else {
      this.input = rest;
    }
    return { status, reason: statusLine[2], headers, body };
  }

  // ---- FrameParserHandler (frames from the server) ----

  onMessage(data: Buffer, isText: boolean): void {
    this.events.push({ type: 'message', data: Buffer.from(data), isText });
  }
  onPing(payload: Buffer): void {
    this.events.push({ type: 'ping', payload: Buffer.from(payload) });
  }
  onPong(payload: Buffer): void {
    this.events.push({ type: 'pong', payload: Buffer.from(payload) });
  }
  onClose(code: number, reason: string): void {
    this.events.push({ type: 'close', code, reason });
  }
  onProtocolError(error: ProtocolError): void {
    this.events.push({ type: 'protocol-error', error });
  }
}

/**
 * A client frame header with no payload (masked unless `masked` is false),
 * for frames a conforming encoder refuses to produce or that a test sends in part.
 */
export function frameHeader(opcode: number, length: number, options: { fin?: boolean; masked?: boolean; rsv?: number } = {}): Buffer {
  const b0 = ((options.fin ?? true) ? 0x80 : 0) | ((options.rsv ?? 0) << 4) | opcode;
  const maskBit = (options.masked ?? true) ? 0x80 : 0;
  let header: Buffer;
  if (length < 126) {
    header = Buffer.from([b0, maskBit | length]);
  } else if (length <= 0xffff) {
    header = Buffer.from([b0, maskBit | 126, length >> 8, length & 0xff]);
  } else {
    header = Buffer.alloc(10);
    header[0] = b0;
    header[1] = maskBit | 127;
    header.writeBigUInt64BE(BigInt(length), 2);
  }
  return (options.masked ?? true) ? Buffer.concat([header, Buffer.alloc(4)]) : header; // zero mask key
}
