/**
 * permessage-deflate against real peers: the `ws` client and Python
 * `websockets` talk to a minimal echo server built from the codec alone
 * (negotiation, `FrameParser` with `allowRsv1`, inflate, `encodeMessageFrame`);
 * and a raw client built from the codec talks to `ws`'s own server.
 */
import { describe, it, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import net from 'node:net';
import WebSocket, { WebSocketServer } from 'ws';
import { CloseCode, OpCode } from '../../src/protocol/constants.js';
import { encodeClientFrame, encodeCloseFrame, encodeFrame } from '../../src/protocol/frame-encoder.js';
import { FrameParser, type FrameParserHandler } from '../../src/protocol/frame-parser.js';
import { ProtocolError } from '../../src/protocol/errors.js';
import {
  InflateContext,
  compressMessage,
  encodeMessageFrame,
  inflateMessage,
  negotiatePerMessageDeflate,
  validateInflatedText,
  type DeflateParams,
  type PerMessageDeflateOptions,
} from '../../src/protocol/permessage-deflate.js';
import { parseExtensionHeader } from '../../src/protocol/extension-header.js';
import { buildUpgradeResponse, findHeadEnd, parseRequestHead, validateUpgrade } from '../../src/protocol/upgrade-request.js';
import { prng, randomBytes } from './harness.js';

const PYTHON = '/usr/bin/python3';
const WAIT_MS = 5000;
const MAX_SIZE = 4 * 1024 * 1024;

function withTimeout<T>(promise: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), WAIT_MS);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** JSON-like text that compresses well, about `size` bytes. */
function jsonLike(size: number, seed = 1): string {
  const rand = prng(seed);
  let out = '[';
  while (out.length < size) out += `{"id":${Math.floor(rand() * 1e6)},"topic":"prices.btc","side":"buy"},`;
  return out.slice(0, size);
}

interface Received {
  data: Buffer;
  isText: boolean;
  compressed: boolean;
  /** Payload bytes on the wire (compressed size when compressed). */
  wireBytes: number;
}

/** One connection of the echo server: a parser handler that echoes each message. */
class EchoConnection implements FrameParserHandler {
  readonly parser: FrameParser;
  private readonly context: InflateContext | undefined;

  constructor(
    private readonly socket: net.Socket,
    private readonly params: DeflateParams | undefined,
    private readonly log: EchoServer,
  ) {
    this.parser = new FrameParser(this, { allowRsv1: params !== undefined, maxMessageSize: MAX_SIZE });
    this.context = params !== undefined && !params.clientNoContextTakeover ? new InflateContext(params.clientMaxWindowBits) : undefined;
  }

  onMessage(data: Buffer, isText: boolean, compressed: boolean): void {
    let message = data;
    if (compressed) {
      const inflated = inflateMessage(data, MAX_SIZE, this.context);
      const error = inflated instanceof ProtocolError ? inflated : isText ? validateInflatedText(inflated) : undefined;
      if (error !== undefined) return this.fail(error.closeCode, error.message);
      message = inflated as Buffer;
    }
    this.log.received.push({ data: Buffer.from(message), isText, compressed, wireBytes: data.length });
    const opcode = isText ? OpCode.Text : OpCode.Binary;
    const reply = this.params === undefined ? encodeFrame(opcode, message) : encodeMessageFrame(opcode, message, this.params);
    this.log.sentCompressed.push((reply[0] & 0x40) !== 0);
    this.socket.write(reply);
  }
  onPing(payload: Buffer): void {
    this.socket.write(encodeFrame(OpCode.Pong, payload));
  }
  onPong(): void {}
  onClose(): void {
    this.socket.end(encodeCloseFrame(CloseCode.NormalClosure));
  }
  onProtocolError(error: ProtocolError): void {
    this.fail(error.closeCode, error.message);
  }

  private fail(code: number, reason: string): void {
    this.log.failures.push(`${code} ${reason}`);
    this.parser.stop();
    this.socket.end(encodeCloseFrame(code, reason));
  }
}

/** A WebSocket echo server made of the codec alone, recording what it negotiated and received. */
class EchoServer {
  readonly offers: string[] = [];
  /** The Sec-WebSocket-Extensions answers; undefined when the extension was declined. */
  readonly responses: (string | undefined)[] = [];
  readonly received: Received[] = [];
  /** Whether each echo went out compressed (RSV1). */
  readonly sentCompressed: boolean[] = [];
  readonly failures: string[] = [];
  private readonly server: net.Server;

  private constructor(private readonly options: PerMessageDeflateOptions) {
    this.server = net.createServer((socket) => this.accept(socket));
  }

  static async start(t: TestContext, options: PerMessageDeflateOptions): Promise<EchoServer> {
    const echo = new EchoServer(options);
    echo.server.listen(0, '127.0.0.1');
    await once(echo.server, 'listening');
    t.after(() => echo.server.close());
    return echo;
  }

  get url(): string {
    return `ws://127.0.0.1:${(this.server.address() as net.AddressInfo).port}/`;
  }

  private accept(socket: net.Socket): void {
    socket.on('error', () => {});
    let head = Buffer.alloc(0);
    const onData = (chunk: Buffer): void => {
      head = Buffer.concat([head, chunk]);
      const end = findHeadEnd(head);
      if (end < 0) return;
      socket.off('data', onData);
      const request = validateUpgrade(parseRequestHead(head.subarray(0, end)));
      this.offers.push(request.extensions);
      const agreed = negotiatePerMessageDeflate(request.extensions, this.options);
      this.responses.push(agreed?.response);
      let response = buildUpgradeResponse(request.key);
      if (agreed !== undefined) response = `${response.slice(0, -2)}Sec-WebSocket-Extensions: ${agreed.response}\r\n\r\n`;
      socket.write(response, 'latin1');
      const connection = new EchoConnection(socket, agreed?.params, this);
      socket.on('data', (data: Buffer) => connection.parser.push(data));
      if (end < head.length) connection.parser.push(head.subarray(end));
    };
    socket.on('data', onData);
  }
}

/** A `ws` client whose messages can be awaited in order. */
class WsClient {
  private readonly inbox: { data: Buffer; isBinary: boolean }[] = [];
  private waiter: (() => void) | undefined;

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data, isBinary) => {
      this.inbox.push({ data: data as Buffer, isBinary });
      this.waiter?.();
    });
  }

  static async open(t: TestContext, url: string, perMessageDeflate: WebSocket.PerMessageDeflateOptions): Promise<WsClient> {
    const client = new WsClient(new WebSocket(url, { perMessageDeflate, maxPayload: MAX_SIZE }));
    t.after(() => client.ws.terminate());
    await withTimeout(once(client.ws, 'open'), 'the ws client to open');
    return client;
  }

  async next(): Promise<{ data: Buffer; isBinary: boolean }> {
    while (this.inbox.length === 0) {
      await withTimeout(new Promise<void>((resolve) => (this.waiter = resolve)), 'an echo');
    }
    return this.inbox.shift()!;
  }

  async echo(payload: string | Buffer): Promise<void> {
    this.ws.send(payload);
    const reply = await this.next();
    assert.equal(reply.isBinary, typeof payload !== 'string');
    assert.deepEqual(reply.data, Buffer.from(payload));
  }
}

const STATELESS = 'permessage-deflate; server_no_context_takeover; client_no_context_takeover';

describe('permessage-deflate with the ws client', () => {
  it('negotiates with ws defaults, inflates what ws compresses, and ws reads our compressed echoes', async (t) => {
    const server = await EchoServer.start(t, { enabled: true });
    const client = await WsClient.open(t, server.url, { threshold: 0 });
    assert.deepEqual(server.offers, ['permessage-deflate; client_max_window_bits']);
    assert.deepEqual(server.responses, [STATELESS]);

    const noise = randomBytes(prng(5), 1000);
    const payloads: (string | Buffer)[] = ['hello', jsonLike(20_000), noise, Buffer.alloc(300_000), '', 'héllo wörld ✓'.repeat(40)];
    for (const payload of payloads) await client.echo(payload);
    assert.deepEqual(
      server.received.map((r) => r.compressed),
      payloads.map(() => true),
      'ws compresses every message at threshold 0',
    );
    // Our threshold (256) and the "only if smaller" rule decide the echoes.
    assert.deepEqual(server.sentCompressed, [false, true, false, true, false, true]);
    assert.deepEqual(server.failures, []);
  });

  it('inflates repeated messages statelessly: ws honours client_no_context_takeover', async (t) => {
    const server = await EchoServer.start(t, { enabled: true });
    const client = await WsClient.open(t, server.url, { threshold: 0 });
    const message = jsonLike(5000, 3);
    for (let i = 0; i < 4; i++) await client.echo(message);
    const sizes = server.received.map((r) => r.wireBytes);
    assert.ok(sizes.every((s) => s === sizes[0]), `compressed sizes ${sizes.join(', ')}`);
    assert.deepEqual(server.failures, []);
  });

  it('inflates a compressed message that ws sends in fragments', async (t) => {
    const server = await EchoServer.start(t, { enabled: true });
    const client = await WsClient.open(t, server.url, { threshold: 0 });
    const parts = [jsonLike(3000, 1), 'ünïcode ✓', jsonLike(2000, 2)];
    client.ws.send(parts[0], { fin: false });
    client.ws.send(parts[1], { fin: false });
    client.ws.send(parts[2], { fin: true });
    const reply = await client.next();
    assert.equal(reply.data.toString(), parts.join(''));
    assert.equal(server.received[0].compressed, true);
  });

  it('follows a context-keeping ws client with an InflateContext when allowed', async (t) => {
    const server = await EchoServer.start(t, { enabled: true, allowClientContextTakeover: true });
    const client = await WsClient.open(t, server.url, { threshold: 0 });
    assert.deepEqual(server.responses, ['permessage-deflate; server_no_context_takeover']);
    const message = jsonLike(5000, 3);
    for (let i = 0; i < 4; i++) await client.echo(message);
    await client.echo(jsonLike(40_000, 4));
    await client.echo(message);
    const sizes = server.received.map((r) => r.wireBytes);
    assert.ok(sizes[1] * 4 < sizes[0], `repeats refer to the previous message: ${sizes.join(', ')}`);
    assert.deepEqual(server.failures, []);
  });

  it('serves a ws client that refuses client_no_context_takeover only when context takeover is allowed', async (t) => {
    const strict = await EchoServer.start(t, { enabled: true });
    const refusing = new WebSocket(strict.url, { perMessageDeflate: { clientNoContextTakeover: false } });
    t.after(() => refusing.terminate());
    const [error] = (await withTimeout(once(refusing, 'error'), 'ws to refuse')) as [Error];
    // ws reports its acceptAsClient refusal ("Unexpected parameter client_no_context_takeover") generically.
    assert.match(error.message, /Invalid Sec-WebSocket-Extensions header/);

    const lenient = await EchoServer.start(t, { enabled: true, allowClientContextTakeover: true });
    const client = await WsClient.open(t, lenient.url, { clientNoContextTakeover: false, threshold: 0 });
    await client.echo(jsonLike(3000));
  });

  it('honours server_max_window_bits requested by ws', async (t) => {
    const server = await EchoServer.start(t, { enabled: true });
    const client = await WsClient.open(t, server.url, { threshold: 0, serverMaxWindowBits: 10 });
    assert.deepEqual(server.responses, [`${STATELESS}; server_max_window_bits=10`]);
    for (const payload of [jsonLike(30_000), Buffer.concat(Array.from({ length: 8 }, () => randomBytes(prng(2), 700)))]) {
      await client.echo(payload);
    }
    assert.deepEqual(server.sentCompressed, [true, true]);
  });

  it('sends plain frames to a ws client without the extension', async (t) => {
    const server = await EchoServer.start(t, { enabled: true });
    const client = await WsClient.open(t, server.url, false as unknown as WebSocket.PerMessageDeflateOptions);
    assert.deepEqual(server.responses, [undefined]);
    await client.echo(jsonLike(5000));
    assert.deepEqual(server.sentCompressed, [false]);
    assert.deepEqual(server.received.map((r) => r.compressed), [false]);
  });
});

describe('permessage-deflate with Python websockets 10', () => {
  const SCRIPT = `
import asyncio, json, sys, websockets
async def main(url, messages):
    async with websockets.connect(url, max_size=2**22, ping_interval=None) as ws:
        ext = ws.extensions[0]
        out = {"agreed": [ext.name, ext.remote_no_context_takeover, ext.local_no_context_takeover,
                          ext.remote_max_window_bits, ext.local_max_window_bits], "echoes": []}
        for kind, value in messages:
            await ws.send(value if kind == "text" else bytes.fromhex(value))
            echo = await ws.recv()
            out["echoes"].append(["text", echo] if isinstance(echo, str) else ["binary", echo.hex()])
        print(json.dumps(out))
asyncio.run(main(sys.argv[1], json.loads(sys.argv[2])))
`;

  it('negotiates, inflates what Python compresses, and Python reads our compressed echoes', async (t) => {
    const server = await EchoServer.start(t, { enabled: true });
    const messages: [string, string][] = [
      ['text', 'hello'],
      ['text', jsonLike(10_000)],
      ['text', jsonLike(10_000)],
      ['binary', Buffer.alloc(50_000, 7).toString('hex')],
      ['binary', randomBytes(prng(9), 2000).toString('hex')],
      ['text', 'ünïcödé ✓ '.repeat(100)],
    ];
    const child = spawn(PYTHON, ['-c', SCRIPT, server.url, JSON.stringify(messages)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const [code] = (await withTimeout(once(child, 'close'), 'the Python client')) as [number];
    assert.equal(code, 0, stderr);
    const result = JSON.parse(stdout) as { agreed: unknown[]; echoes: [string, string][] };
    assert.deepEqual(server.offers, ['permessage-deflate; client_max_window_bits']);
    assert.deepEqual(server.responses, [STATELESS]);
    // [name, remote (server) no context takeover, local (client) no context takeover, remote bits, local bits]
    assert.deepEqual(result.agreed, ['permessage-deflate', true, true, 15, 15]);
    assert.deepEqual(result.echoes, messages);
    assert.deepEqual(server.received.map((r) => r.compressed), messages.map(() => true));
    assert.deepEqual(server.sentCompressed, [false, true, true, true, false, true]);
    assert.deepEqual(server.failures, []);
  });
});

describe('a codec-built client against the ws server', () => {
  /** Connect a raw socket with `offer`; resolves with the socket, the server's extension answer and any bytes after the head. */
  async function handshake(port: number, offer: string): Promise<{ socket: net.Socket; answer: string | undefined; rest: Buffer }> {
    const socket = net.connect(port, '127.0.0.1');
    await withTimeout(once(socket, 'connect'), 'connect');
    socket.write(
      'GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
        `Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Extensions: ${offer}\r\n\r\n`,
    );
    let head = Buffer.alloc(0);
    while (findHeadEnd(head) < 0) {
      const [chunk] = (await withTimeout(once(socket, 'data'), 'the 101 response')) as [Buffer];
      head = Buffer.concat([head, chunk]);
    }
    const end = findHeadEnd(head);
    const lines = head.subarray(0, end).toString('latin1').split('\r\n');
    assert.match(lines[0], /^HTTP\/1\.1 101 /);
    const answer = lines.find((l) => /^sec-websocket-extensions:/i.test(l))?.replace(/^[^:]*:\s*/, '');
    return { socket, answer, rest: head.subarray(end) };
  }

  it('ws inflates frames made by compressMessage, and an InflateContext follows ws context takeover', async (t) => {
    const wss = new WebSocketServer({ port: 0, host: '127.0.0.1', perMessageDeflate: { threshold: 0 } });
    t.after(() => wss.close());
    await once(wss, 'listening');
    const received: { data: Buffer; isBinary: boolean }[] = [];
    wss.on('connection', (ws) =>
      ws.on('message', (data, isBinary) => {
        received.push({ data: data as Buffer, isBinary });
        ws.send(data, { binary: isBinary });
      }),
    );

    const { socket, answer, rest } = await handshake((wss.address() as net.AddressInfo).port, 'permessage-deflate; client_max_window_bits');
    t.after(() => socket.destroy());
    // ws answers without server_no_context_takeover: its messages may refer to earlier ones.
    assert.deepEqual(parseExtensionHeader(answer ?? ''), [{ name: 'permessage-deflate', params: [] }]);

    const context = new InflateContext(15);
    const echoes: { data: Buffer; isText: boolean; compressed: boolean; wireBytes: number }[] = [];
    const parser = new FrameParser(
      {
        onMessage(data, isText, compressed) {
          const out = compressed ? inflateMessage(data, MAX_SIZE, context) : data;
          assert.ok(Buffer.isBuffer(out), String(out));
          echoes.push({ data: Buffer.from(out), isText, compressed, wireBytes: data.length });
        },
        onPing() {},
        onPong() {},
        onClose() {},
        onProtocolError(error) {
          assert.fail(error);
        },
      },
      { isServer: false, allowRsv1: true, maxMessageSize: MAX_SIZE },
    );
    socket.on('data', (chunk: Buffer) => parser.push(chunk));
    if (rest.length > 0) parser.push(rest);

    const params = negotiatePerMessageDeflate('permessage-deflate', { enabled: true })!.params;
    const messages = [jsonLike(8000, 5), jsonLike(8000, 5), Buffer.alloc(100_000, 1), jsonLike(8000, 5), 'x'];
    let mask = 0x1234567;
    for (const message of messages) {
      const payload = Buffer.from(message);
      const frame = encodeClientFrame(typeof message === 'string' ? OpCode.Text : OpCode.Binary, compressMessage(payload, params), mask++);
      frame[0] |= 0x40;
      socket.write(frame);
    }
    const deadline = Date.now() + WAIT_MS;
    while (echoes.length < messages.length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));

    assert.deepEqual(received.map((r) => r.data), messages.map((m) => Buffer.from(m)));
    assert.deepEqual(echoes.map((e) => e.data), messages.map((m) => Buffer.from(m)));
    assert.ok(echoes.every((e) => e.compressed), 'ws compressed every echo');
    assert.ok(echoes[1].wireBytes * 4 < echoes[0].wireBytes, `ws kept its context: ${echoes.map((e) => e.wireBytes).join(', ')}`);
    socket.write(encodeClientFrame(OpCode.Close, Buffer.from([0x03, 0xe8]), 1));
  });
});
