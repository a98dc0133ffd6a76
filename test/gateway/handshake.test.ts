import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import { HandshakeError, OpCode, acceptKey, encodeClientFrame } from '../../src/index.js';
import { RawClient, SAMPLE_KEY, buildRequest, type HttpResponse, type RequestOptions } from '../helpers/raw-client.js';
import { startServer, waitUntil, type TestServer, type TestServerOptions } from '../helpers/server.js';

async function connect(s: TestServer, options: { allowHalfOpen?: boolean } = {}): Promise<RawClient> {
  return s.track(await RawClient.connect(s.port, options));
}

/**
 * The shape every rejection must have: the status, `Connection: close`, a JSON
 * body `{"error":{"code","message"}}` of the advertised length, and then the
 * server ends the connection.
 */
async function expectRejection(client: RawClient, status: number, code: string, headers: Record<string, string> = {}): Promise<HttpResponse> {
  const response = await client.readResponse();
  assert.equal(response.status, status, `expected ${status}, got ${response.status}: ${response.body}`);
  assert.equal(response.headers.get('connection'), 'close');
  assert.equal(response.headers.get('content-type'), 'application/json');
  assert.equal(Number(response.headers.get('content-length')), Buffer.byteLength(response.body));
  for (const [name, value] of Object.entries(headers)) assert.equal(response.headers.get(name.toLowerCase()), value, name);
  const body = JSON.parse(response.body) as { error: { code: string; message: string } };
  assert.equal(body.error.code, code);
  assert.equal(typeof body.error.message, 'string');
  await client.waitEnded();
  await client.waitClosed();
  return response;
}

interface RejectionCase {
  name: string;
  request: string | Buffer;
  status: number;
  code: string;
  headers?: Record<string, string>;
  server?: TestServerOptions;
}

const ALLOWED_ORIGIN = 'https://app.example';

const REJECTIONS: RejectionCase[] = [
  { name: 'POST', request: buildRequest({ method: 'POST' }), status: 405, code: 'METHOD_NOT_ALLOWED', headers: { Allow: 'GET' } },
  { name: 'HTTP/1.0', request: buildRequest({ version: '1.0' }), status: 400, code: 'BAD_REQUEST' },
  { name: 'no Host header', request: buildRequest({ headers: { Host: null } }), status: 400, code: 'BAD_REQUEST' },
  {
    name: 'two Host headers',
    request: buildRequest({ headers: { Host: 'a.example\r\nHost: b.example' } }),
    status: 400,
    code: 'BAD_REQUEST',
  },
  {
    name: 'no Upgrade header (plain HTTP)',
    request: buildRequest({ headers: { Upgrade: null, Connection: 'keep-alive' } }),
    status: 426,
    code: 'UPGRADE_REQUIRED',
    headers: { Upgrade: 'websocket' },
  },
  { name: 'Upgrade: h2c', request: buildRequest({ headers: { Upgrade: 'h2c' } }), status: 400, code: 'BAD_REQUEST' },
  {
    name: 'Connection without Upgrade',
    request: buildRequest({ headers: { Connection: 'keep-alive' } }),
    status: 400,
    code: 'BAD_REQUEST',
  },
  {
    name: 'Sec-WebSocket-Version: 8',
    request: buildRequest({ headers: { 'Sec-WebSocket-Version': '8' } }),
    status: 426,
    code: 'UNSUPPORTED_VERSION',
    headers: { 'Sec-WebSocket-Version': '13' },
  },
  {
    name: 'no Sec-WebSocket-Version',
    request: buildRequest({ headers: { 'Sec-WebSocket-Version': null } }),
    status: 426,
    code: 'UNSUPPORTED_VERSION',
    headers: { 'Sec-WebSocket-Version': '13' },
  },
  {
    name: 'a key that is not 16 base64-encoded bytes',
    request: buildRequest({ headers: { 'Sec-WebSocket-Key': 'c2hvcnQ=' } }),
    status: 400,
    code: 'BAD_REQUEST',
  },
  { name: 'no key', request: buildRequest({ headers: { 'Sec-WebSocket-Key': null } }), status: 400, code: 'BAD_REQUEST' },
  {
    name: 'a malformed Sec-WebSocket-Protocol',
    request: buildRequest({ headers: { 'Sec-WebSocket-Protocol': 'chat, , b@d' } }),
    status: 400,
    code: 'BAD_REQUEST',
  },
  {
    name: 'a path other than the configured one',
    request: buildRequest({ path: '/other' }),
    status: 404,
    code: 'NOT_FOUND',
    server: { path: '/ws' },
  },
  { name: 'an absolute-form target', request: buildRequest({ path: 'http://127.0.0.1/' }), status: 400, code: 'BAD_REQUEST' },
  { name: 'obsolete line folding', request: buildRequest({ headers: { 'X-Folded': 'a\r\n b' } }), status: 400, code: 'BAD_REQUEST' },
  {
    name: 'garbage bytes',
    request: Buffer.concat([Buffer.from([0x16, 0x03, 0x01, 0x00, 0xff, 0x00, 0x0a]), Buffer.from('\xfe\xffgarbage\r\n\r\n', 'latin1')]),
    status: 400,
    code: 'BAD_REQUEST',
  },
  {
    name: 'a head over the default 8 KiB',
    request: buildRequest({ headers: { 'X-Padding': 'p'.repeat(9000) } }),
    status: 431,
    code: 'REQUEST_TOO_LARGE',
  },
  {
    name: 'a 2 KiB head with maxRequestBytes 1024',
    request: buildRequest({ headers: { 'X-Padding': 'p'.repeat(2048) } }),
    status: 431,
    code: 'REQUEST_TOO_LARGE',
    server: { maxRequestBytes: 1024 },
  },
  {
    name: 'an unterminated head past maxRequestBytes',
    request: 'GET / HTTP/1.1\r\nX-Padding: ' + 'p'.repeat(3000),
    status: 431,
    code: 'REQUEST_TOO_LARGE',
    server: { maxRequestBytes: 1024 },
  },
  {
    name: 'verifyUpgrade throwing HandshakeError(403)',
    request: buildRequest({ headers: { Origin: 'https://evil.example' } }),
    status: 403,
    code: 'FORBIDDEN',
    server: {
      verifyUpgrade(request) {
        if (request.origin !== ALLOWED_ORIGIN) throw new HandshakeError(403, 'FORBIDDEN', 'origin not allowed');
      },
    },
  },
  {
    name: 'verifyUpgrade throwing a plain Error',
    request: buildRequest(),
    status: 400,
    code: 'BAD_REQUEST',
    server: {
      verifyUpgrade() {
        throw new Error('secret internal detail');
      },
    },
  },
];

describe('handshake rejections over a raw socket', () => {
  for (const c of REJECTIONS) {
    it(`answers ${c.name} with ${c.status} and ends the connection`, async (t) => {
      const s = await startServer(t, c.server);
      const client = await connect(s);
      client.write(c.request);
      const response = await expectRejection(client, c.status, c.code, c.headers);
      assert.ok(!response.body.includes('secret internal detail'), 'an internal error message leaked');
      assert.equal(s.rec.opens.length, 0);
      assert.equal(s.rec.closes.length, 0, 'onClose is only for opened connections');
    });
  }

  it('answers 403 with the HandshakeError message for a refused origin, and accepts the allowed one', async (t) => {
    const s = await startServer(t, {
      verifyUpgrade(request) {
        if (request.origin !== ALLOWED_ORIGIN) throw new HandshakeError(403, 'FORBIDDEN', 'origin not allowed');
      },
    });
    const refused = await connect(s);
    refused.write(buildRequest({ headers: { Origin: 'https://evil.example' } }));
    const response = await expectRejection(refused, 403, 'FORBIDDEN');
    assert.equal(response.reason, 'Forbidden');
    assert.deepEqual(JSON.parse(response.body), { error: { code: 'FORBIDDEN', message: 'origin not allowed' } });
    s.track(await RawClient.open(s.port, { headers: { Origin: ALLOWED_ORIGIN } }));
    assert.equal(s.rec.requests[0].origin, ALLOWED_ORIGIN);
  });
});

/**
 * A half-open client cannot see the server's socket go away by reading: it keeps
 * writing a byte now and then, which the server reads and ignores while the
 * socket lives and answers with a reset once it is destroyed.
 */
async function untilServerDropped(client: RawClient): Promise<void> {
  const poke = setInterval(() => client.socket.write('x'), 20);
  try {
    await client.waitClosed();
  } finally {
    clearInterval(poke);
  }
}

describe('handshake acceptance over a raw socket', () => {
  it('answers 101 with the right Sec-WebSocket-Accept and parses path and query', async (t) => {
    const s = await startServer(t, { path: '/ws' });
    const client = await connect(s);
    client.write(buildRequest({ path: '/ws?token=abc&x=1', headers: { Upgrade: 'WebSocket', Connection: 'keep-alive, Upgrade' } }));
    const response = await client.readResponse();
    assert.equal(response.status, 101);
    assert.equal(response.headers.get('upgrade'), 'websocket');
    assert.equal(response.headers.get('connection'), 'Upgrade');
    assert.equal(response.headers.get('sec-websocket-accept'), 's3pPLMBiTxaQ9kYGzzhZRbK+xOo='); // RFC 6455 §1.3
    assert.equal(response.headers.get('sec-websocket-accept'), acceptKey(SAMPLE_KEY));
    assert.equal(response.headers.has('sec-websocket-protocol'), false);
    assert.equal(response.headers.has('sec-websocket-extensions'), false);
    await waitUntil(() => s.rec.opens.length === 1, 'onOpen');
    assert.equal(s.rec.requests[0].path, '/ws');
    assert.equal(s.rec.requests[0].query, 'token=abc&x=1');
  });

  it('completes a request dribbled in one-byte writes, and the connection works', async (t) => {
    const s = await startServer(t);
    const client = await connect(s);
    for (const byte of Buffer.from(buildRequest(), 'latin1')) {
      client.write(Buffer.from([byte]));
      await new Promise((resolve) => setImmediate(resolve));
    }
    const response = await client.readResponse();
    assert.equal(response.status, 101);
    client.send(OpCode.Text, 'after the dribble');
    const echo = await client.nextEvent();
    assert.equal(echo.type === 'message' && echo.data.toString(), 'after the dribble');
  });

  it('delivers frames pipelined in the same write as the request head', async (t) => {
    const s = await startServer(t);
    const client = await connect(s);
    client.write(
      Buffer.concat([
        Buffer.from(buildRequest(), 'latin1'),
        encodeClientFrame(OpCode.Text, 'early', 0x01020304),
        encodeClientFrame(OpCode.Ping, 'p', 0x0a0b0c0d),
        encodeClientFrame(OpCode.Binary, Buffer.from([1, 2, 3]), 0xdeadbeef),
      ]),
    );
    assert.equal((await client.readResponse()).status, 101);
    const events = [await client.nextEvent(), await client.nextEvent(), await client.nextEvent()];
    const summary = events.map((e) => (e.type === 'message' ? `${e.isText ? 'text' : 'binary'}:${e.data.toString('hex')}` : e.type));
    // The pong is queued when the ping is parsed, between the two echoes.
    assert.deepEqual(summary, [`text:${Buffer.from('early').toString('hex')}`, 'pong', 'binary:010203']);
    assert.equal(s.rec.messages.length, 2);
  });

  it('answers a stalled half-request with 408 and closes the socket', async (t) => {
    const s = await startServer(t, { handshakeTimeoutMs: 300, timerResolutionMs: 50 });
    const client = await connect(s);
    client.write('GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgr');
    await expectRejection(client, 408, 'REQUEST_TIMEOUT');
  });

  it('answers a connection that sends nothing with 408', async (t) => {
    const s = await startServer(t, { handshakeTimeoutMs: 300, timerResolutionMs: 50 });
    const client = await connect(s);
    await expectRejection(client, 408, 'REQUEST_TIMEOUT');
  });

  it('destroys a rejected socket whose peer never ends its side', async (t) => {
    const s = await startServer(t, { handshakeTimeoutMs: 300, closeTimeoutMs: 300, timerResolutionMs: 50 });
    const lingering = await connect(s, { allowHalfOpen: true });
    lingering.write(buildRequest({ method: 'POST' }));
    const response = await lingering.readResponse();
    assert.equal(response.status, 405);
    await lingering.waitEnded();
    await untilServerDropped(lingering);
    const stalled = await connect(s, { allowHalfOpen: true });
    assert.equal((await stalled.readResponse()).status, 408);
    await stalled.waitEnded();
    await untilServerDropped(stalled);
  });
});

describe('subprotocol selection', () => {
  async function negotiate(t: TestContext, pick: string | undefined, request: RequestOptions) {
    const offers: string[][] = [];
    const s = await startServer(t, {
      selectProtocol(offered) {
        offers.push([...offered]);
        return pick;
      },
    });
    s.track(await RawClient.open(s.port, request));
    await waitUntil(() => s.rec.opens.length === 1, 'onOpen');
    return { s, offers, conn: s.rec.opens[0] };
  }

  async function responseFor(t: TestContext, pick: string | undefined, protocols: string | undefined): Promise<HttpResponse> {
    const s = await startServer(t, { selectProtocol: () => pick });
    const client = await connect(s);
    client.write(buildRequest({ headers: { 'Sec-WebSocket-Protocol': protocols ?? null } }));
    const response = await client.readResponse();
    assert.equal(response.status, 101);
    return response;
  }

  it('echoes the protocol the hook chose among those offered, in the client order', async (t) => {
    const { offers, conn } = await negotiate(t, 'chat.v2', { headers: { 'Sec-WebSocket-Protocol': 'chat.v1, chat.v2' } });
    assert.deepEqual(offers, [['chat.v1', 'chat.v2']]);
    assert.equal(conn.protocol, 'chat.v2');
    const response = await responseFor(t, 'chat.v2', 'chat.v1,chat.v2');
    assert.equal(response.headers.get('sec-websocket-protocol'), 'chat.v2');
  });

  it('does not echo a value the client did not offer', async (t) => {
    const { conn } = await negotiate(t, 'evil', { headers: { 'Sec-WebSocket-Protocol': 'chat.v1' } });
    assert.equal(conn.protocol, undefined);
    const response = await responseFor(t, 'evil', 'chat.v1');
    assert.equal(response.headers.has('sec-websocket-protocol'), false);
  });

  it('selects nothing, without asking the hook, when the client offers nothing', async (t) => {
    const { offers, conn } = await negotiate(t, 'chat.v1', {});
    assert.deepEqual(offers, []);
    assert.equal(conn.protocol, undefined);
    const response = await responseFor(t, 'chat.v1', undefined);
    assert.equal(response.headers.has('sec-websocket-protocol'), false);
  });
});

describe('a client that half-closes right after its request', () => {
  for (const transport of ['raw', 'net'] as const) {
    it(`still gets the 101 and what onOpen sent, then the server's FIN (${transport} transport)`, async (t) => {
      const s = await startServer(t, { transport, onOpen: (conn) => conn.send('greeting') });
      const { connect } = await import('node:net');
      const socket = connect(s.port, '127.0.0.1');
      const chunks: Buffer[] = [];
      socket.on('data', (c: Buffer) => chunks.push(c));
      const ended = new Promise<void>((resolve) => socket.on('end', () => resolve()));
      socket.on('error', () => undefined);
      socket.end(buildRequest());
      await ended;
      socket.destroy();
      const bytes = Buffer.concat(chunks);
      const head = bytes.toString('latin1');
      assert.ok(head.startsWith('HTTP/1.1 101 '), head.slice(0, 40));
      const body = bytes.subarray(head.indexOf('\r\n\r\n') + 4);
      // One unmasked text frame "greeting" (RFC 6455 §5.2), before the FIN.
      assert.deepEqual(body.subarray(0, 10), Buffer.concat([Buffer.from([0x81, 8]), Buffer.from('greeting')]));
    });
  }
});
