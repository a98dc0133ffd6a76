/**
 * Helpers for the SDK's HTTP-stream fallback tests: a scripted herald.v1
 * WebSocket server whose upgrades can be refused (403) at will, and a fake
 * `fetch` whose stream responses the test writes line by line. Nothing here
 * measures time.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import WebSocket, { WebSocketServer } from 'ws';
import type { FetchLike } from '../../src/client/index.js';

/** A herald.v1 WebSocket server that answers every command `{code:2xxxx,id}` and records them; upgrades refused while `refusing`. */
export class GatedWsServer {
  refusing = true;
  refused = 0;
  readonly commands: Record<string, unknown>[] = [];
  readonly sockets: WebSocket[] = [];
  private readonly http: Server;
  private readonly wss = new WebSocketServer({ noServer: true, handleProtocols: (protocols) => (protocols.has('herald.v1') ? 'herald.v1' : false) });
  url = '';

  constructor() {
    this.http = createServer((_req, res) => res.writeHead(404).end());
    this.http.on('upgrade', (req, socket: Duplex, head) => {
      // A client that gives up resets the connection: not an error of this server.
      socket.on('error', () => socket.destroy());
      if (this.refusing) {
        this.refused++;
        socket.end('HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
        return;
      }
      this.wss.handleUpgrade(req, socket, head, (ws) => this.accepted(ws));
    });
  }

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.http.listen(0, '127.0.0.1', resolve));
    this.url = `ws://127.0.0.1:${(this.http.address() as AddressInfo).port}/ws`;
    return this;
  }

  private accepted(ws: WebSocket): void {
    this.sockets.push(ws);
    ws.send('{"code":20000,"message":"connected"}');
    ws.on('message', (data) => {
      const text = String(data);
      if (text === 'ping') return void ws.send('pong');
      const command = JSON.parse(text) as Record<string, unknown>;
      this.commands.push(command);
      const code = command.code === 1 || command.code === 5 ? 20001 : command.code === 3 ? 20003 : 20002;
      const reply: Record<string, unknown> = { code, message: 'ok', id: command.id };
      if (code === 20001) Object.assign(reply, { recovered: true, position: { seq: 0, epoch: 'E' } });
      if (code === 20003) reply.detail = { uid: 'alice' };
      ws.send(JSON.stringify(reply));
    });
  }

  /** Send a delivery envelope to every open socket. */
  deliver(envelope: object): void {
    for (const ws of this.sockets) if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(envelope));
  }

  async close(): Promise<void> {
    for (const ws of this.sockets) ws.terminate();
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
    this.http.closeAllConnections();
    await new Promise<void>((resolve) => this.http.close(() => resolve()));
  }
}

/** One request the fake fetch received, and the pen to write its response. */
export interface FakeStreamRequest {
  url: string;
  body: { token?: string; subscriptions: { topic: string; private?: boolean; since?: { seq: number; epoch: string } }[] };
  aborted: boolean;
  /** Write one NDJSON line (an object is JSON-encoded; '' is a keep-alive). */
  line(value: object | string): void;
  /** End the body (as a server closing the connection). */
  end(): void;
}

/**
 * A `fetch` for the SDK that answers every request 200 with a stream the
 * test writes; by default it answers each subscription at once with 20001
 * (`recovered: true`, or `false` without `since`) at position `{seq, 'E'}`.
 */
export class FakeStreamFetch {
  readonly requests: FakeStreamRequest[] = [];
  status = 200;
  autoAnswer = true;
  /** The request fails as `fetch` does when the server cannot be reached (a rejected promise, no response). */
  unreachable = false;

  readonly fetch: FetchLike = async (url, init) => {
    let controller!: ReadableStreamDefaultController<Uint8Array>;
    const body = new ReadableStream<Uint8Array>({ start: (c) => void (controller = c) });
    const encoder = new TextEncoder();
    const request: FakeStreamRequest = {
      url,
      body: JSON.parse(init.body) as FakeStreamRequest['body'],
      aborted: false,
      line: (value) => {
        if (request.aborted) return;
        controller.enqueue(encoder.encode(`${typeof value === 'string' ? value : JSON.stringify(value)}\n`));
      },
      end: () => {
        if (!request.aborted) controller.close();
      },
    };
    init.signal.addEventListener('abort', () => {
      request.aborted = true;
      try {
        controller.error(new Error('aborted'));
      } catch {
        // Already closed.
      }
    });
    this.requests.push(request);
    if (this.unreachable) throw new TypeError('fetch failed', { cause: new Error('connect ECONNREFUSED') });
    if (this.status !== 200) {
      return { status: this.status, body: null, text: async () => '{"error":{"code":"FORBIDDEN_ORIGIN","message":"origin not allowed"}}' };
    }
    if (this.autoAnswer) {
      if (request.body.token !== undefined) request.line({ code: 20003, message: 'logged in', detail: { uid: 'alice' } });
      for (const s of request.body.subscriptions) {
        const fresh = s.since === undefined || s.since.epoch !== 'E';
        const reply: Record<string, unknown> = { code: 20001, message: 'subscribed', topic: s.topic, recovered: !fresh, position: { seq: fresh ? 0 : s.since?.seq, epoch: 'E' } };
        if (s.private === true) reply.private = true;
        request.line(reply);
      }
    }
    return { status: 200, body, text: async () => '' };
  };

  get last(): FakeStreamRequest {
    const request = this.requests.at(-1);
    if (request === undefined) throw new Error('no stream request yet');
    return request;
  }

  /** The live (not aborted) requests. */
  get live(): FakeStreamRequest[] {
    return this.requests.filter((r) => !r.aborted);
  }
}
