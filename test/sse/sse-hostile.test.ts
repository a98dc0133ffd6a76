/**
 * GET /v1/sse and POST /v1/stream against hostile or odd input, read as raw
 * bytes (not through curl, which would hide a framing error): every refusal is
 * an HTTP error whose `Content-Length` matches the bytes sent and whose body is
 * the JSON the message promises, and other clients keep receiving.
 */
import assert from 'node:assert/strict';
import { createConnection } from 'node:net';
import { after, afterEach, before, describe, it } from 'node:test';
import { startNode, fakeVerifier, waitUntil, type TestNode } from '../helpers/herald-node.js';
import { CurlStream } from './curl-stream.js';

interface RawResponse {
  status: number;
  headers: Map<string, string>;
  /** The body's bytes as received, up to the close. */
  body: Buffer;
}

/** Send `request` as is and read everything the server sends until it closes. */
function exchange(port: number, request: string | Buffer): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    const chunks: Buffer[] = [];
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', reject);
    socket.on('close', () => {
      const bytes = Buffer.concat(chunks);
      const end = bytes.indexOf('\r\n\r\n');
      if (end === -1) return reject(new Error(`no response head: ${bytes.toString('latin1')}`));
      const [statusLine, ...lines] = bytes.subarray(0, end).toString('latin1').split('\r\n');
      const headers = new Map(lines.map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]));
      resolve({ status: Number(statusLine.split(' ')[1]), headers, body: bytes.subarray(end + 4) });
    });
    socket.write(request);
  });
}

/** Open `GET target`: resolves with the status and the starting cursor (then hangs up), or the error body. */
function sseStart(port: number, target: string, headers = ''): Promise<{ status: number; cursor?: string; body: string }> {
  return new Promise((resolve, reject) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    let text = '';
    socket.on('error', reject);
    socket.on('data', (c: Buffer) => {
      text += c.toString('latin1');
      const cursor = /\nid: ([^\n]*)\n\n/.exec(text);
      if (cursor === null) return;
      socket.destroy();
      resolve({ status: Number(text.split(' ')[1]), cursor: cursor[1], body: '' });
    });
    socket.on('close', () => resolve({ status: Number(text.split(' ')[1]), body: text.slice(text.indexOf('\r\n\r\n') + 4) }));
    socket.write(`GET ${target} HTTP/1.1\r\nHost: x\r\n${headers}\r\n`);
  });
}

/** An SSE reader that keeps only each event's first data line up to its first space (the push's number). */
function sseCounter(port: number, target: string): { numbers: string[]; started: () => boolean; socket: import('node:net').Socket } {
  const socket = createConnection({ host: '127.0.0.1', port });
  const numbers: string[] = [];
  let text = '';
  let started = false;
  socket.on('error', () => {});
  socket.on('data', (c: Buffer) => {
    text += c.toString('latin1');
    for (let end = text.indexOf('\n\n'); end !== -1; end = text.indexOf('\n\n')) {
      const block = text.slice(0, end);
      text = text.slice(end + 2);
      if (/^id: /m.test(block)) started = true;
      const data = /^data: (\S+)/m.exec(block);
      if (data !== null && !block.includes('event: ')) numbers.push(data[1]);
    }
  });
  socket.write(`GET ${target} HTTP/1.1\r\nHost: x\r\n\r\n`);
  return { numbers, started: () => started, socket };
}

/** The response is an error with an exact Content-Length and a UTF-8 JSON body; returns that body. */
function errorBody(response: RawResponse, status: number, code: string): { code: string; message: string } {
  assert.equal(response.status, status, response.body.toString());
  assert.equal(response.headers.get('content-type'), 'application/json');
  assert.equal(Number(response.headers.get('content-length')), response.body.length, 'Content-Length is the body length in bytes');
  const text = new TextDecoder('utf-8', { fatal: true }).decode(response.body);
  const { error } = JSON.parse(text) as { error: { code: string; message: string } };
  assert.equal(error.code, code);
  return error;
}

describe('SSE and HTTP streaming against hostile input', () => {
  let t: TestNode;
  const curls: CurlStream[] = [];
  const get = (target: string, headers = ''): string => `GET ${target} HTTP/1.1\r\nHost: x\r\n${headers}\r\n`;

  before(async () => {
    t = await startNode({ verifier: fakeVerifier() });
  });
  afterEach(async () => {
    for (const c of curls.splice(0)) c.kill();
    await t.closeClients();
  });
  after(() => t.stop());

  it('sends refusals whose messages hold non-ASCII text (a topic in any script) with the right length and intact', async () => {
    const alive = new CurlStream([`http://127.0.0.1:${t.wsPort}/v1/sse?topic=alive`]);
    curls.push(alive);
    await alive.waitFor((x) => x.blocks.some((b) => b.id !== undefined), 'the other client to start');

    const topic = 'é✓'.repeat(60); // 300 bytes of UTF-8: past the 256-byte topic limit
    const invalid = errorBody(await exchange(t.wsPort, get(`/v1/sse?topic=${encodeURIComponent(topic)}`)), 400, 'INVALID_TOPIC');
    assert.ok(invalid.message.includes(JSON.stringify(topic)), invalid.message);

    const none = errorBody(await exchange(t.wsPort, get('/v1/sse')), 400, 'NO_TOPIC');
    assert.equal(none.message, 'name at least one topic (?topic=…) or private topic (?private=…)');

    const body = '{"subscriptions":[{"topic":"a","since":{"seq":-1,"epoch":"x"}}]}';
    const post = `POST /v1/stream HTTP/1.1\r\nHost: x\r\nContent-Length: ${body.length}\r\n\r\n${body}`;
    const since = errorBody(await exchange(t.wsPort, post), 400, 'BAD_BODY');
    assert.match(since.message, /integer ≥ 0/);

    await t.send({ topic: 'alive' }, 'still here');
    await alive.waitFor((x) => x.events.some((e) => e.data === 'still here'), 'the other client to keep receiving');
  });

  it('answers HEAD 405 with the error head and no content (RFC 9110 §9.3.2)', async () => {
    for (const [path, allow] of [
      ['/v1/sse?topic=a', 'GET'],
      ['/v1/stream', 'POST'],
    ]) {
      const response = await exchange(t.wsPort, `HEAD ${path} HTTP/1.1\r\nHost: x\r\n\r\n`);
      assert.equal(response.status, 405);
      assert.equal(response.headers.get('allow'), allow);
      assert.equal(response.body.length, 0, `HEAD ${path}: ${response.body.toString()}`);
    }
  });

  it('refuses a topic set whose cursor could not fit in a reconnect, so an accepted EventSource can always resume', async () => {
    const query = (n: number): string => `/v1/sse?${Array.from({ length: n }, (_, i) => `topic=t${i}`).join('&')}`;
    // Short topic names: the cursor (about 14 bytes per stream now, up to 28 with long seqs) outgrows the query.
    let accepted = 0;
    for (let n = 150; n <= 450; n += 25) {
      const answer = await sseStart(t.wsPort, query(n));
      if (answer.status !== 200) {
        assert.equal(answer.status, 400, answer.body);
        assert.equal((JSON.parse(answer.body) as { error: { code: string } }).error.code, 'TOO_MANY_TOPICS');
        break;
      }
      accepted = n;
      // Its reconnect, with the cursor it was given and with every seq at its longest, is served.
      const again = await sseStart(t.wsPort, query(n), `Last-Event-ID: ${answer.cursor}\r\n`);
      assert.equal(again.status, 200, `${n} topics, reconnect: ${again.body}`);
      const longest = answer.cursor!.replace(/\d+:/g, '999999999999999:');
      const late = await sseStart(t.wsPort, query(n), `Last-Event-ID: ${longest}\r\n`);
      assert.equal(late.status, 200, `${n} topics, reconnect with long seqs: ${late.body}`);
    }
    assert.ok(accepted >= 150 && accepted < 450, `accepted up to ${accepted} topics`);
  });

  it('answers Expect: 100-continue with 100 Continue before the body is sent (RFC 9110 §10.1.1)', async () => {
    const body = '{"subscriptions":[{"topic":"expect"}]}';
    const socket = createConnection({ host: '127.0.0.1', port: t.wsPort });
    let text = '';
    const seen = (what: string): Promise<void> =>
      new Promise((resolve, reject) => {
        const check = (): void => {
          if (text.includes(what)) return resolve();
          if (socket.destroyed) reject(new Error(`closed before ${JSON.stringify(what)}: ${text}`));
        };
        socket.on('data', check);
        socket.on('close', check);
        check();
      });
    socket.on('data', (c: Buffer) => (text += c.toString('latin1')));
    socket.write(`POST /v1/stream HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: ${body.length}\r\n\r\n`);
    try {
      await seen('\r\n\r\n');
      assert.ok(text.startsWith('HTTP/1.1 100 Continue\r\n\r\n'), text);
      socket.write(body);
      await seen('"topic":"expect"');
      assert.match(text, /^HTTP\/1\.1 100 Continue\r\n\r\nHTTP\/1\.1 200 OK\r\n/);
    } finally {
      socket.destroy();
    }
  });

  it('answers a body that never completes 408, naming the body (not the head) as late', async () => {
    const quick = await startNode({ handshakeTimeoutMs: 200 });
    try {
      const response = await exchange(quick.wsPort, 'POST /v1/stream HTTP/1.1\r\nHost: x\r\nContent-Length: 40\r\n\r\n{"subscriptions":[');
      assert.equal(errorBody(response, 408, 'REQUEST_TIMEOUT').message, 'request body not received in time');
    } finally {
      await quick.stop();
    }
  });

  it('closes a client that never reads while the others on the same topic receive every push, in order', async () => {
    const slow = sseCounter(t.wsPort, '/v1/sse?topic=crowd');
    const readers = [sseCounter(t.wsPort, '/v1/sse?topic=crowd'), sseCounter(t.wsPort, '/v1/sse?topic=crowd&topic=other')];
    await waitUntil(() => slow.started() && readers.every((r) => r.started()), 'the three streams to start');
    slow.socket.pause();
    const before = t.node.ws.slowConsumerEvents;
    const pad = 'x'.repeat(16 * 1024);
    let sent = 0;
    // Bounded: at most 1,000 batches of 10 pushes of 16 KiB (160 MiB), far past loopback's socket buffers.
    while (sent < 10_000 && t.node.ws.slowConsumerEvents === before) {
      const batch = Array.from({ length: 10 }, (_, i) => ({ topic: 'crowd', data: `${sent + i} ${pad}` }));
      const res = await t.pushBatch(batch);
      assert.equal(res.status, 200);
      sent += batch.length;
    }
    assert.ok(t.node.ws.slowConsumerEvents > before, 'the slow consumer was caught');
    const expected = Array.from({ length: sent }, (_, i) => String(i));
    await waitUntil(() => readers.every((r) => r.numbers.length >= sent), 'the readers to receive every push');
    for (const reader of readers) assert.deepEqual(reader.numbers, expected);
    for (const c of [slow, ...readers]) c.socket.destroy();
  });
});
