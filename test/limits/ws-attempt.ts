/**
 * Helpers for the limit tests: a WebSocket attempt that reports either an
 * open connection or the HTTP refusal the gateway answered instead of the
 * upgrade (status, headers, JSON body), optionally from another loopback
 * source address (127.0.0.2, 127.0.0.3, …) via `localAddress`.
 */
import assert from 'node:assert/strict';
import type { IncomingHttpHeaders } from 'node:http';
import WebSocket from 'ws';
import { TestClient, WAIT_MS } from '../helpers/herald-node.js';
import { withTimeout } from '../helpers/server.js';

export interface Refusal {
  kind: 'refused';
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
  json: any;
}
export interface Opened {
  kind: 'open';
  client: TestClient;
}
export type Attempt = Refusal | Opened;

export interface AttemptOptions {
  /** Source address (any of 127.0.0.0/8). */
  from?: string;
  /** Origin header. */
  origin?: string;
}

/**
 * Try to connect. Opened connections are added to `opened` (for cleanup) and
 * their greeting (20000) is consumed; refusals resolve with the response.
 */
export function attempt(url: string, opened: Set<TestClient>, options: AttemptOptions = {}): Promise<Attempt> {
  const wsOptions: WebSocket.ClientOptions = {};
  if (options.from !== undefined) wsOptions.localAddress = options.from;
  if (options.origin !== undefined) wsOptions.origin = options.origin;
  const ws = new WebSocket(url, wsOptions);
  const client = new TestClient(ws);
  const result = new Promise<Attempt>((resolve, reject) => {
    ws.once('open', () => {
      opened.add(client);
      client.nextReply(20000).then(() => resolve({ kind: 'open', client }), reject);
    });
    ws.once('unexpected-response', (req, res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json: unknown;
        try {
          json = JSON.parse(text);
        } catch {
          json = undefined;
        }
        req.destroy();
        resolve({ kind: 'refused', status: res.statusCode ?? 0, headers: res.headers, text, json });
      });
      res.on('error', reject);
    });
    ws.once('error', (error) => reject(error));
  });
  return withTimeout(result, `a connection attempt from ${options.from ?? 'default'}`, WAIT_MS);
}

/** Connect, expecting success. */
export async function open(url: string, opened: Set<TestClient>, options: AttemptOptions = {}): Promise<TestClient> {
  const result = await attempt(url, opened, options);
  assert.equal(result.kind, 'open', result.kind === 'refused' ? `refused ${result.status} ${result.text}` : '');
  return (result as Opened).client;
}

/** Connect, expecting a refusal with `status` and error `code` in the standard JSON body and `Connection: close`. */
export async function refused(
  url: string,
  opened: Set<TestClient>,
  status: number,
  code: string,
  options: AttemptOptions = {},
): Promise<Refusal> {
  const result = await attempt(url, opened, options);
  assert.equal(result.kind, 'refused', `expected ${status} ${code}, but the connection opened`);
  const r = result as Refusal;
  assert.equal(r.status, status, r.text);
  assert.equal(r.headers.connection, 'close');
  assert.match(String(r.headers['content-type']), /^application\/json/);
  assert.deepEqual(Object.keys(r.json ?? {}), ['error'], r.text);
  assert.equal(r.json.error.code, code, r.text);
  assert.equal(typeof r.json.error.message, 'string');
  return r;
}

/** Terminate every client in `opened`. */
export function terminateAll(opened: Set<TestClient>): void {
  for (const client of opened) if (client.closeEvent === undefined) client.terminate();
  opened.clear();
}
