import assert from 'node:assert/strict';
import { createServer, get, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it, type TestContext } from 'node:test';
import WebSocket from 'ws';
import { CloseCode, OpCode, WebSocketServer, encodeClientFrame } from '../../src/index.js';
import { RawClient, buildRequest } from '../helpers/raw-client.js';
import { Recorder, recordingHandler, waitUntil, withTimeout, type TestServerOptions } from '../helpers/server.js';

interface Attached {
  http: HttpServer;
  ws: WebSocketServer;
  rec: Recorder;
  port: number;
  track<C extends { destroy(): void }>(client: C): C;
}

/** An http.Server answering plain requests, with a WebSocketServer attached to its 'upgrade' event. */
async function attached(t: TestContext, options: TestServerOptions = {}): Promise<Attached> {
  const rec = new Recorder();
  const http = createServer((req, res) => {
    res.setHeader('Content-Type', 'text/plain');
    res.end(`plain ${req.method} ${req.url}`);
  });
  const ws = new WebSocketServer({ ...options, handler: recordingHandler(rec, options) }).attach(http);
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const tracked: { destroy(): void }[] = [];
  t.after(async () => {
    for (const client of tracked) client.destroy();
    await ws.close(undefined, undefined, 2000);
    http.closeAllConnections();
    await new Promise((resolve) => http.close(resolve));
  });
  const track = <C extends { destroy(): void }>(client: C): C => {
    tracked.push(client);
    return client;
  };
  return { http, ws, rec, port: (http.address() as AddressInfo).port, track };
}

function httpGet(port: number, path: string): Promise<{ status: number | undefined; body: string }> {
  return withTimeout(
    new Promise((resolve, reject) => {
      get({ host: '127.0.0.1', port, path, agent: false }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode, body }));
      }).on('error', reject);
    }),
    'an HTTP response',
  );
}

function openWs(t: TestContext, url: string): Promise<WebSocket> {
  const ws = new WebSocket(url);
  t.after(() => ws.terminate());
  return withTimeout(
    new Promise((resolve, reject) => {
      ws.once('open', () => resolve(ws));
      ws.once('error', reject);
    }),
    'the ws client to open',
  );
}

function nextMessage(ws: WebSocket): Promise<{ data: Buffer; isBinary: boolean }> {
  return withTimeout(
    new Promise((resolve) => ws.once('message', (data, isBinary) => resolve({ data: data as Buffer, isBinary }))),
    'a message',
  );
}

describe('WebSocketServer attached to an http.Server', () => {
  it('upgrades a ws client and echoes text and binary messages', async (t) => {
    const a = await attached(t, { path: '/ws', maxMessageSize: 128 * 1024 }); // room for the 70 kB message below
    const ws = await openWs(t, `ws://127.0.0.1:${a.port}/ws?room=1`);
    ws.send('hello over attach');
    const text = await nextMessage(ws);
    assert.equal(text.isBinary, false);
    assert.equal(text.data.toString(), 'hello over attach');
    const big = Buffer.alloc(70_000, 0xab);
    ws.send(big);
    const binary = await nextMessage(ws);
    assert.equal(binary.isBinary, true);
    assert.ok(binary.data.equals(big));
    assert.equal(a.rec.requests[0].path, '/ws');
    assert.equal(a.rec.requests[0].query, 'room=1');
    assert.equal(a.ws.connectionCount, 1);
    ws.close(4000, 'bye');
    await waitUntil(() => a.rec.closes.length === 1, 'onClose');
    assert.equal(a.rec.closes[0].code, 4000);
    assert.equal(a.rec.closes[0].reason, 'bye');
  });

  it('still serves plain HTTP requests, before and while a WebSocket is open', async (t) => {
    const a = await attached(t);
    assert.deepEqual(await httpGet(a.port, '/health'), { status: 200, body: 'plain GET /health' });
    const ws = await openWs(t, `ws://127.0.0.1:${a.port}/`);
    assert.deepEqual(await httpGet(a.port, '/other'), { status: 200, body: 'plain GET /other' });
    ws.send('still here');
    assert.equal((await nextMessage(ws)).data.toString(), 'still here');
  });

  const rejections: { name: string; request: string; status: number; header?: [string, string] }[] = [
    { name: 'Sec-WebSocket-Version: 8', request: buildRequest({ headers: { 'Sec-WebSocket-Version': '8' } }), status: 426, header: ['sec-websocket-version', '13'] },
    { name: 'a bad key', request: buildRequest({ headers: { 'Sec-WebSocket-Key': 'nope' } }), status: 400 },
    { name: 'a POST upgrade', request: buildRequest({ method: 'POST' }), status: 405, header: ['allow', 'GET'] },
    { name: 'a wrong path', request: buildRequest({ path: '/elsewhere' }), status: 404 },
  ];
  for (const c of rejections) {
    it(`rejects ${c.name} with ${c.status} and a JSON body, then ends the socket`, async (t) => {
      const a = await attached(t, { path: '/' });
      const client = a.track(await RawClient.connect(a.port));
      client.write(c.request);
      const response = await client.readResponse();
      assert.equal(response.status, c.status);
      assert.equal(response.headers.get('connection'), 'close');
      assert.equal(response.headers.get('content-type'), 'application/json');
      if (c.header !== undefined) assert.equal(response.headers.get(c.header[0]), c.header[1]);
      assert.equal(typeof (JSON.parse(response.body) as { error: { code: string } }).error.code, 'string');
      await client.waitEnded();
      await client.waitClosed();
      assert.equal(a.rec.opens.length, 0);
      // The HTTP side is unaffected.
      assert.equal((await httpGet(a.port, '/')).status, 200);
    });
  }

  it('delivers frames that arrived in the same packet as the request head', async (t) => {
    const a = await attached(t);
    const client = a.track(await RawClient.connect(a.port));
    client.write(Buffer.concat([Buffer.from(buildRequest(), 'latin1'), encodeClientFrame(OpCode.Text, 'pipelined', 0x11223344)]));
    assert.equal((await client.readResponse()).status, 101);
    const event = await client.nextEvent();
    assert.equal(event.type === 'message' && event.data.toString(), 'pipelined');
  });

  it('fires onClose (1006) and ends the socket when a client ends TCP without a close frame', async (t) => {
    // http.Server sockets allow half-open connections; a peer's FIN must still end ours.
    const a = await attached(t);
    const client = a.track(await RawClient.open(a.port));
    await waitUntil(() => a.rec.opens.length === 1, 'onOpen');
    client.socket.end();
    await waitUntil(() => a.rec.closes.length === 1, 'onClose after the client ended TCP');
    assert.equal(a.rec.closes[0].code, CloseCode.AbnormalClosure);
    await client.waitClosed();
    assert.equal(a.ws.connectionCount, 0);
  });

  it('closes attached connections with 1001 on server.close()', async (t) => {
    const a = await attached(t);
    const ws = await openWs(t, `ws://127.0.0.1:${a.port}/`);
    const closed = withTimeout(new Promise<number>((resolve) => ws.once('close', resolve)), 'the client close event');
    await a.ws.close();
    assert.equal(await closed, CloseCode.GoingAway);
    assert.equal(a.rec.closes.length, 1);
    assert.equal(a.rec.closes[0].code, CloseCode.GoingAway);
  });
});
