/**
 * Test servers on 127.0.0.1, port 0, on {@link TEST_TRANSPORT}. `startServer`
 * wraps a WebSocketServer in a handler that records every callback (opens,
 * messages, closes, errors) and, unless told otherwise, echoes each message
 * back as it came.
 */
import type { TestContext } from 'node:test';
import {
  WebSocketServer,
  type ConnectionHandler,
  type UpgradeRequest,
  type WebSocketConnection,
  type WebSocketServerOptions,
} from '../../src/index.js';
import { WAIT_MS } from './raw-client.js';
import { waitUntil } from './wait.js';

export { waitUntil };

/**
 * The transport test servers and nodes listen on: `HERALD_TEST_TRANSPORT=raw|net`
 * (default raw). `npm test` runs the gateway, e2e, limits, client and sse suites
 * once more with `net` (scripts/run-tests.mjs). A test that names its
 * transport keeps it.
 */
export const TEST_TRANSPORT: 'raw' | 'net' = testTransport(process.env.HERALD_TEST_TRANSPORT);

function testTransport(value: string | undefined): 'raw' | 'net' {
  if (value === undefined || value === '' || value === 'raw') return 'raw';
  if (value === 'net') return 'net';
  throw new Error(`HERALD_TEST_TRANSPORT must be raw or net, got ${JSON.stringify(value)}`);
}

export interface CloseRecord {
  conn: WebSocketConnection;
  code: number;
  reason: string;
}

export interface MessageRecord {
  conn: WebSocketConnection;
  data: Buffer;
  isText: boolean;
}

/** Everything the server's handler saw. */
export class Recorder {
  readonly opens: WebSocketConnection[] = [];
  readonly requests: UpgradeRequest[] = [];
  readonly messages: MessageRecord[] = [];
  readonly closes: CloseRecord[] = [];
  readonly errors: { error: unknown; conn: WebSocketConnection | undefined }[] = [];

  /** Close records of `conn` (exactly one once it has closed). */
  closesOf(conn: WebSocketConnection): CloseRecord[] {
    return this.closes.filter((c) => c.conn === conn);
  }

  /** Every opened connection closed exactly once, and nothing else closed. */
  assertEachClosedOnce(): void {
    const seen = new Set<WebSocketConnection>();
    for (const { conn } of this.closes) {
      if (seen.has(conn)) throw new Error('onClose fired twice for one connection');
      if (!this.opens.includes(conn)) throw new Error('onClose fired for a connection that never opened');
      seen.add(conn);
    }
    if (seen.size !== this.opens.length) throw new Error(`${this.opens.length} opened but ${seen.size} closed`);
  }
}

export interface TestServerOptions extends Omit<WebSocketServerOptions, 'handler'> {
  /** Replaces the default echo; recording happens either way. */
  onMessage?(conn: WebSocketConnection, data: Buffer, isText: boolean): void;
  onOpen?(conn: WebSocketConnection, request: UpgradeRequest): void;
  onClose?(conn: WebSocketConnection, code: number, reason: string): void;
}

export interface TestServer {
  server: WebSocketServer;
  port: number;
  url: string;
  rec: Recorder;
  /** Destroy `client` before the server closes (raw clients never answer the server's close frame). */
  track<C extends { destroy(): void }>(client: C): C;
  /** Destroy tracked clients, then close the server (idempotent). */
  close(): Promise<void>;
}

/** A recording handler; `options` may replace the default echo and add open/close behaviour. */
export function recordingHandler(rec: Recorder, options: TestServerOptions = {}): ConnectionHandler {
  return {
    onOpen(conn, request) {
      rec.opens.push(conn);
      rec.requests.push(request);
      options.onOpen?.(conn, request);
    },
    onMessage(conn, data, isText) {
      rec.messages.push({ conn, data: Buffer.from(data), isText });
      if (options.onMessage !== undefined) options.onMessage(conn, data, isText);
      else conn.send(data, isText);
    },
    onClose(conn, code, reason) {
      rec.closes.push({ conn, code, reason });
      options.onClose?.(conn, code, reason);
    },
    onError(error, conn) {
      rec.errors.push({ error, conn });
    },
  };
}

/**
 * Start a recording (echo by default) server on 127.0.0.1:0. With a test
 * context, it is closed after the test; `close()` may also be called early.
 */
export async function startServer(t: TestContext | undefined, options: TestServerOptions = {}): Promise<TestServer> {
  const rec = new Recorder();
  const server = new WebSocketServer({ transport: TEST_TRANSPORT, ...options, handler: recordingHandler(rec, options) });
  const address = await server.listen(0, '127.0.0.1');
  let closed: Promise<void> | undefined;
  const tracked: { destroy(): void }[] = [];
  const harness: TestServer = {
    server,
    port: address.port,
    url: `ws://127.0.0.1:${address.port}`,
    rec,
    track(client) {
      tracked.push(client);
      return client;
    },
    close() {
      for (const client of tracked) client.destroy();
      return (closed ??= server.close(undefined, undefined, 2000));
    },
  };
  t?.after(() => harness.close());
  return harness;
}


/** Race `promise` against a generous safety timeout. */
export function withTimeout<T>(promise: Promise<T>, what: string, timeoutMs = WAIT_MS): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)), timeoutMs);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
