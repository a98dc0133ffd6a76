/**
 * The HTTP push API bounds the time of a request: a chunked body that never
 * finishes (or trickles) is answered 408 with the JSON error body and its
 * connection closed, headers that never finish get 408 too, and the node keeps
 * serving. (Node checked its own timeouts every 30 s, so 300 unfinished
 * 1.4 MB bodies were held for about a minute.) `pushRequestTimeoutMs` is
 * short here; the default is 5 s.
 */
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { startNode, WAIT_MS, type TestClient, type TestNode } from '../helpers/herald-node.js';

interface RawAnswer {
  status: number;
  head: string;
  body: string;
}

/** A raw connection to the API that records everything it receives until the server closes it. */
class RawHttp {
  readonly socket: Socket;
  private received = Buffer.alloc(0);
  closed: Promise<void>;

  constructor(port: number) {
    this.socket = connect({ port, host: '127.0.0.1' });
    this.socket.on('data', (chunk: Buffer) => (this.received = Buffer.concat([this.received, chunk])));
    this.socket.on('error', () => undefined);
    this.closed = new Promise((resolve) => this.socket.once('close', () => resolve()));
  }

  /** Everything the server sent, once it has closed the connection (bounded wait). */
  async answer(): Promise<RawAnswer> {
    let timer: NodeJS.Timeout | undefined;
    const bound = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer and close within ${WAIT_MS} ms; got ${JSON.stringify(this.received.toString())}`)), WAIT_MS);
    });
    try {
      await Promise.race([this.closed, bound]);
    } finally {
      clearTimeout(timer);
    }
    const text = this.received.toString('utf8');
    const end = text.indexOf('\r\n\r\n');
    const head = end === -1 ? text : text.slice(0, end);
    return { status: Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? 0), head, body: end === -1 ? '' : text.slice(end + 4) };
  }
}

describe('e2e: push requests must arrive in time (pushRequestTimeoutMs 300)', () => {
  let h: TestNode;
  let watcher: TestClient;
  let apiPort: number;
  let seq = 0;

  async function stillServing(): Promise<void> {
    const marker = `alive-${seq++}`;
    await h.send({ topic: 'watch' }, marker);
    assert.deepEqual(await watcher.sync(), [marker]);
  }

  before(async () => {
    h = await startNode({ pushRequestTimeoutMs: 300 });
    apiPort = Number(new URL(h.apiUrl).port);
    watcher = await h.connect();
    await watcher.subscribe('watch');
  });
  after(() => h.stop());

  it('a chunked body that stops midway → 408 REQUEST_TIMEOUT with the JSON error body, connection closed', async () => {
    const raw = new RawHttp(apiPort);
    raw.socket.write('POST /v1/pushData HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n');
    const piece = `{"topic":"watch","data":"${'A'.repeat(64 * 1024)}`;
    raw.socket.write(`${piece.length.toString(16)}\r\n${piece}\r\n`);
    const answer = await raw.answer();
    assert.equal(answer.status, 408, answer.head);
    assert.match(answer.head, /\r\nconnection: close/i);
    assert.deepEqual(Object.keys(JSON.parse(answer.body)), ['error', 'code', 'message', 'details']);
    assert.equal(JSON.parse(answer.body).error.code, 'REQUEST_TIMEOUT');
    assert.deepEqual(await watcher.sync(), [], 'nothing of the unfinished push was delivered');
    await stillServing();
  });

  it('a body trickled a chunk at a time does not extend the deadline → 408', async () => {
    const raw = new RawHttp(apiPort);
    raw.socket.write('POST /v1/push HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n');
    let sent = 0;
    // Bounded: at most 400 chunks, 20 ms apart, stopped as soon as the server closes.
    const trickle = setInterval(() => {
      if (sent++ >= 400 || raw.socket.destroyed) return clearInterval(trickle);
      raw.socket.write(sent === 1 ? '1\r\n[\r\n' : '1\r\n \r\n');
    }, 20);
    try {
      const answer = await raw.answer();
      assert.equal(answer.status, 408, answer.head);
      assert.equal(JSON.parse(answer.body).error.code, 'REQUEST_TIMEOUT');
    } finally {
      clearInterval(trickle);
    }
    await stillServing();
  });

  it('headers that never finish → 408 and the connection is closed', async () => {
    const raw = new RawHttp(apiPort);
    raw.socket.write('POST /v1/pushData HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ');
    const answer = await raw.answer();
    assert.equal(answer.status, 408, answer.head);
    assert.equal(JSON.parse(answer.body).error.code, 'REQUEST_TIMEOUT', 'the JSON error body, not a bare status line');
    await stillServing();
  });

  it('a complete request sent in pieces within the time is served normally', async () => {
    const raw = new RawHttp(apiPort);
    const body = JSON.stringify({ topic: 'watch', data: Buffer.from('in-pieces').toString('base64') });
    raw.socket.write(`POST /v1/pushData HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`);
    raw.socket.write(body.slice(0, 10));
    raw.socket.end(body.slice(10));
    const answer = await raw.answer();
    assert.equal(answer.status, 200, answer.head);
    assert.deepEqual(await watcher.sync(), ['in-pieces']);
  });
});
