/**
 * End-to-end helpers: a real {@link HeraldNode} on 127.0.0.1 (ephemeral ports,
 * memory engine, the transport HERALD_TEST_TRANSPORT names), `ws` clients that record everything the gateway sends, and
 * push-API helpers over global `fetch`.
 *
 * Nothing here measures time. Waits are event-driven with a generous safety
 * timeout ({@link WAIT_MS}); a test that needs "X did NOT arrive" uses
 * {@link TestClient.sync}: the client sends text `ping` and collects every
 * frame up to the `pong`. The gateway handles one connection's frames in order
 * and the memory engine queues a push on its targets before the push request
 * answers, so anything a finished push would have delivered arrives before
 * that `pong`.
 */
import assert from 'node:assert/strict';
import { Buffer } from 'node:buffer';
import WebSocket from 'ws';
import { AuthError, type LoginIdentity, type LoginVerifier } from '../../src/auth/login-verifier.js';
import { HeraldNode, type HeraldNodeOptions } from '../../src/node.js';
import { WAIT_MS, waitUntil } from './wait.js';
import { TEST_TRANSPORT } from './server.js';

export { WAIT_MS, waitUntil };

/** One frame received from the gateway. */
export interface Received {
  data: Buffer;
  isBinary: boolean;
}

/** A gateway reply `{"code","message","detail"?}`. */
export interface Reply {
  code: number;
  message: string;
  detail?: unknown;
}


/** A `ws` client that records every frame, pong and close it sees. */
export class TestClient {
  readonly messages: Received[] = [];
  readonly pongs: Buffer[] = [];
  closeEvent: { code: number; reason: string } | undefined;
  error: Error | undefined;
  private cursor = 0;

  constructor(readonly ws: WebSocket) {
    ws.on('message', (data, isBinary) => this.messages.push({ data: toBuffer(data), isBinary }));
    ws.on('pong', (data) => this.pongs.push(data));
    ws.on('close', (code, reason) => (this.closeEvent = { code, reason: reason.toString() }));
    ws.on('error', (error) => (this.error = error));
  }

  /** Frames received but not yet taken by next()/nextReply()/sync(). */
  get unread(): Received[] {
    return this.messages.slice(this.cursor);
  }

  /** The next frame, in order. */
  async next(timeoutMs = WAIT_MS): Promise<Received> {
    await waitUntil(() => this.messages.length > this.cursor || this.closeEvent !== undefined, 'a message', timeoutMs);
    const message = this.messages[this.cursor];
    if (message === undefined) throw new Error(`connection closed (${JSON.stringify(this.closeEvent)}) before a message arrived`);
    this.cursor++;
    return message;
  }

  /** The next frame, which must be a text frame; returns its text. */
  async nextText(timeoutMs = WAIT_MS): Promise<string> {
    const message = await this.next(timeoutMs);
    assert.equal(message.isBinary, false, `expected a text frame, got binary ${message.data.toString('hex')}`);
    return message.data.toString('utf8');
  }

  /** The next frame, which must be a reply; with `code`, it must have that code. */
  async nextReply(code?: number, timeoutMs = WAIT_MS): Promise<Reply> {
    const text = await this.nextText(timeoutMs);
    let reply: Reply;
    try {
      reply = JSON.parse(text) as Reply;
    } catch {
      throw new Error(`expected a JSON reply, got ${JSON.stringify(text)}`);
    }
    assert.equal(typeof reply, 'object', `expected a reply object, got ${text}`);
    assert.equal(typeof reply.message, 'string', `reply without a message: ${text}`);
    if (code !== undefined) assert.equal(reply.code, code, `expected reply ${code}, got ${text}`);
    return reply;
  }

  /** Send a text frame (objects are JSON-encoded) or, for a Buffer, a binary frame. */
  send(data: string | Buffer | object): void {
    if (Buffer.isBuffer(data)) this.ws.send(data, { binary: true });
    else this.ws.send(typeof data === 'string' ? data : JSON.stringify(data));
  }

  /** Send op `code` and return the next reply, checked against `expect` when given. */
  async op(code: unknown, fields: { topic?: unknown; data?: unknown } = {}, expect?: number): Promise<Reply> {
    this.send({ code, ...fields });
    return this.nextReply(expect);
  }

  subscribe(topic: string): Promise<Reply> {
    return this.op(1, { topic }, 20001);
  }
  unsubscribe(topic: string): Promise<Reply> {
    return this.op(2, { topic }, 20002);
  }
  /** Log in with `credential`; expects 20003 for `uid` when given. */
  async login(credential: unknown, uid?: string): Promise<Reply> {
    const reply = await this.op(3, { data: credential }, 20003);
    if (uid !== undefined) assert.deepEqual(reply.detail, { uid });
    return reply;
  }
  logout(): Promise<Reply> {
    return this.op(4, {}, 20004);
  }
  subscribePrivate(topic: string): Promise<Reply> {
    return this.op(5, { topic }, 20001);
  }
  unsubscribePrivate(topic: string): Promise<Reply> {
    return this.op(6, { topic }, 20002);
  }

  /**
   * Send text `ping`, wait for the `pong`, and return every frame that
   * arrived before it (unread so far), as text or `0x<hex>` for binary frames.
   * Pushes must not use the payload `pong`.
   */
  async sync(timeoutMs = WAIT_MS): Promise<string[]> {
    this.send('ping');
    const before: string[] = [];
    for (;;) {
      const m = await this.next(timeoutMs);
      const text = m.isBinary ? `0x${m.data.toString('hex')}` : m.data.toString('utf8');
      if (text === 'pong') return before;
      before.push(text);
    }
  }

  /** Resolves with the close code and reason once the connection has closed. */
  async closed(timeoutMs = WAIT_MS): Promise<{ code: number; reason: string }> {
    await waitUntil(() => this.closeEvent !== undefined, 'the connection to close', timeoutMs);
    return this.closeEvent as { code: number; reason: string };
  }

  /** Close cleanly (1000) and wait for the close to complete. */
  async close(): Promise<void> {
    if (this.closeEvent !== undefined) return;
    this.ws.close(1000);
    await this.closed();
  }

  terminate(): void {
    this.ws.terminate();
  }
}

function toBuffer(data: WebSocket.RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}

/** An HTTP answer from the push API. */
export interface ApiResponse {
  status: number;
  headers: Headers;
  text: string;
  /** The parsed JSON body, or undefined when the body is not JSON. */
  json: any;
}

/** Where a push goes; omitted fields are not sent. */
export interface Target {
  uid?: string;
  topic?: string;
}

export interface TestNode {
  node: HeraldNode;
  /** `ws://127.0.0.1:<port>/ws` */
  wsUrl: string;
  wsPort: number;
  /** `http://127.0.0.1:<port>` */
  apiUrl: string;
  /**
   * Open a `ws` client. By default waits for the greeting and checks it is
   * 20000; with `greeting: false` the greeting is left unread.
   */
  connect(options?: { greeting?: boolean; ws?: WebSocket.ClientOptions; protocol?: string }): Promise<TestClient>;
  /** `POST /v1/pushData` with `body` (JSON-encoded unless a string). */
  push(body: unknown): Promise<ApiResponse>;
  /** `POST /v1/push` with `items` (JSON-encoded unless a string). */
  pushBatch(items: unknown): Promise<ApiResponse>;
  /** Push `payload` (UTF-8 text or bytes) to `target` through `/v1/pushData` and check the 200 `{}`. */
  send(target: Target, payload: string | Buffer): Promise<void>;
  /** Any request to the push API. */
  request(path: string, init?: RequestInit): Promise<ApiResponse>;
  /**
   * Terminate every client still open and wait until the node has forgotten
   * them all (for `afterEach`, so a failed test does not leak into the next).
   */
  closeClients(): Promise<void>;
  /** Terminate the clients still open and stop the node. */
  stop(): Promise<void>;
}

/**
 * `request(path, init)` and `post(path, body)` against the push API at
 * `apiUrl`, answering status, headers, text and the parsed JSON (undefined if
 * the body is not JSON). A string body is sent as is.
 */
export function apiRequests(apiUrl: string): {
  request(path: string, init?: RequestInit): Promise<ApiResponse>;
  post(path: string, body: unknown): Promise<ApiResponse>;
} {
  const request = async (path: string, init?: RequestInit): Promise<ApiResponse> => {
    const res = await fetch(`${apiUrl}${path}`, init);
    const text = await res.text();
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    return { status: res.status, headers: res.headers, text, json };
  };
  const post = (path: string, body: unknown): Promise<ApiResponse> =>
    request(path, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
  return { request, post };
}

/** Start a node on 127.0.0.1 with ephemeral ports; `options` override anything. */
export async function startNode(options: HeraldNodeOptions = {}): Promise<TestNode> {
  const node = new HeraldNode({ wsHost: '127.0.0.1', wsPort: 0, apiHost: '127.0.0.1', apiPort: 0, transport: TEST_TRANSPORT, ...options });
  const { ws, api } = await node.start();
  const wsUrl = `ws://127.0.0.1:${ws.port}${options.wsPath ?? '/ws'}`;
  const apiUrl = `http://127.0.0.1:${api?.port}`;
  const clients = new Set<TestClient>();

  const { request, post } = apiRequests(apiUrl);

  const testNode: TestNode = {
    node,
    wsUrl,
    wsPort: ws.port,
    apiUrl,
    async connect(connectOptions = {}) {
      const client = new TestClient(new WebSocket(wsUrl, connectOptions.protocol ?? [], connectOptions.ws));
      clients.add(client);
      await new Promise<void>((resolve, reject) => {
        client.ws.once('open', resolve);
        client.ws.once('error', reject);
      });
      if (connectOptions.greeting !== false) await client.nextReply(20000);
      return client;
    },
    push: (body) => post('/v1/pushData', body),
    pushBatch: (items) => post('/v1/push', items),
    async send(target, payload) {
      const data = (typeof payload === 'string' ? Buffer.from(payload, 'utf8') : payload).toString('base64');
      const res = await post('/v1/pushData', { ...target, data });
      assert.equal(res.status, 200, `push to ${JSON.stringify(target)} failed: ${res.status} ${res.text}`);
      assert.deepEqual(res.json, {});
    },
    request,
    async closeClients() {
      for (const client of clients) if (client.closeEvent === undefined) client.terminate();
      clients.clear();
      await waitUntil(() => node.hub.clientCount === 0 && node.ws.connectionCount === 0, 'the node to drop every client');
    },
    async stop() {
      for (const client of clients) if (client.closeEvent === undefined) client.terminate();
      await node.stop();
    },
  };
  return testNode;
}

/**
 * A verifier for tests of the session itself: credential `user:<uid>` logs in
 * as `<uid>`; anything else is refused (`invalid`).
 */
export function fakeVerifier(): LoginVerifier {
  return {
    async verify(credential: unknown): Promise<LoginIdentity> {
      if (typeof credential === 'string' && credential.startsWith('user:') && credential.length > 5) {
        return { uid: credential.slice(5) };
      }
      throw new AuthError('invalid', 'not a user:<uid> credential');
    },
  };
}

/** The value of one Prometheus sample (`name` or `name{labels}` exactly as rendered), or undefined if absent. */
export function metricValue(text: string, sample: string): number | undefined {
  for (const line of text.split('\n')) {
    if (line.startsWith(`${sample} `)) return Number(line.slice(sample.length + 1));
  }
  return undefined;
}
