/**
 * Requests no route sees — the HTTP parser refuses them (request-smuggling shapes: a Content-Length
 * beside Transfer-Encoding, two different Content-Lengths; a negative or non-numeric Content-Length,
 * a bad chunk size, a control character in a header, headers over the limit), or Node hands them to
 * no route (CONNECT) — are answered with the push API's JSON error body like every other refusal
 * (Node sent a bare `400 Bad Request`, and dropped a CONNECT unanswered), the connection is closed,
 * nothing is delivered, and the node keeps serving.
 */
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { startNode, WAIT_MS, type TestClient, type TestNode } from '../helpers/herald-node.js';

interface RawAnswer {
  status: number;
  head: string;
  body: string;
}

/** Send `request` on a fresh connection and read everything until the server closes it (bounded wait). */
function rawExchange(port: number, request: string): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const socket = connect({ port, host: '127.0.0.1' });
    let received = Buffer.alloc(0);
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no answer and close within ${WAIT_MS} ms; got ${JSON.stringify(received.toString())}`));
    }, WAIT_MS);
    socket.on('data', (chunk: Buffer) => (received = Buffer.concat([received, chunk])));
    socket.on('error', () => undefined);
    socket.once('close', () => {
      clearTimeout(timer);
      const text = received.toString('utf8');
      const end = text.indexOf('\r\n\r\n');
      const head = end === -1 ? text : text.slice(0, end);
      resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? 0), head, body: end === -1 ? '' : text.slice(end + 4) });
    });
    socket.write(request);
  });
}

/** The answer is `status` with the push API's error body, `error.code` `code`, and the connection closes. */
function assertJsonError(answer: RawAnswer, status: number, code: string): void {
  assert.equal(answer.status, status, answer.head);
  assert.match(answer.head, /\r\ncontent-type: application\/json/i);
  assert.match(answer.head, /\r\nconnection: close/i);
  const body = JSON.parse(answer.body);
  assert.deepEqual(Object.keys(body), ['error', 'code', 'message', 'details']);
  assert.equal(body.error.code, code, answer.body);
  assert.equal(typeof body.error.message, 'string');
}

describe('e2e: requests no route sees get the JSON error body', () => {
  let h: TestNode;
  let watcher: TestClient;
  let apiPort: number;

  const body = JSON.stringify({ topic: 'watch', data: Buffer.from('smuggled').toString('base64') });
  const post = (headers: string, content = body): string =>
    `POST /v1/pushData HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n${headers}\r\n${content}`;

  before(async () => {
    h = await startNode();
    apiPort = Number(new URL(h.apiUrl).port);
    watcher = await h.connect();
    await watcher.subscribe('watch');
  });
  after(() => h.stop());

  const malformed: Array<[string, string]> = [
    ['Content-Length with Transfer-Encoding: chunked', post(`Content-Length: 4\r\nTransfer-Encoding: chunked\r\n`, `${body.length.toString(16)}\r\n${body}\r\n0\r\n\r\n`)],
    ['two different Content-Lengths', post(`Content-Length: ${body.length}\r\nContent-Length: 5\r\n`)],
    ['a negative Content-Length', post('Content-Length: -1\r\n')],
    ['a Content-Length that is not a number', post('Content-Length: NaN\r\n')],
    ['a chunk size that is not hexadecimal', post('Transfer-Encoding: chunked\r\n', 'zz\r\n\r\n')],
    ['a NUL in a header value', post(`X-Note: a\x00b\r\nContent-Length: ${body.length}\r\n`)],
    ['an obs-fold header line', post(`X-Note: a\r\n folded\r\nContent-Length: ${body.length}\r\n`)],
  ];
  for (const [label, request] of malformed) {
    it(`${label} → 400 BAD_REQUEST`, async () => {
      assertJsonError(await rawExchange(apiPort, request), 400, 'BAD_REQUEST');
    });
  }

  it('headers over the size limit → 431 HEADERS_TOO_LARGE', async () => {
    const answer = await rawExchange(apiPort, `GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: ${'a'.repeat(64 * 1024)}\r\n\r\n`);
    assertJsonError(answer, 431, 'HEADERS_TOO_LARGE');
  });

  it('CONNECT (which Node hands to no route) → 405 METHOD_NOT_ALLOWED', async () => {
    const answer = await rawExchange(apiPort, 'CONNECT 127.0.0.1:22 HTTP/1.1\r\nHost: 127.0.0.1:22\r\n\r\n');
    assertJsonError(answer, 405, 'METHOD_NOT_ALLOWED');
  });

  it('delivered none of the refused pushes and still serves', async () => {
    await h.send({ topic: 'watch' }, 'after');
    assert.deepEqual(await watcher.sync(), ['after']);
  });
});
