/**
 * The uWebSockets.js peer of the bench (bench/servers/uws-peer.ts), started
 * as the bench starts it: it says which binary it loaded, serves the gpush
 * ops the load clients use, delivers topic and user pushes, and answers bad
 * input with an error (reply 30001, HTTP 400/404 with a JSON body) instead of
 * crashing. Ports picked at run time; every wait bounded.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import WebSocket from 'ws';
import { startServer, uwsBinaryInUse, type RunningServer } from '../../bench/net/servers.js';

let server: RunningServer;

/** Open a client and collect its text messages. */
async function client(): Promise<{ ws: WebSocket; next(): Promise<string> }> {
  const ws = new WebSocket(`ws://127.0.0.1:${server.wsPort}/ws`);
  const queue: string[] = [];
  const waiting: ((m: string) => void)[] = [];
  ws.on('message', (data) => {
    const text = data.toString();
    const w = waiting.shift();
    if (w) w(text);
    else queue.push(text);
  });
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  const next = () =>
    new Promise<string>((resolve, reject) => {
      const m = queue.shift();
      if (m !== undefined) return resolve(m);
      const timer = setTimeout(() => reject(new Error('no message within 5 s')), 5000);
      waiting.push((text) => {
        clearTimeout(timer);
        resolve(text);
      });
    });
  return { ws, next };
}

const post = (path: string, body: string) =>
  fetch(`http://127.0.0.1:${server.apiPort}${path}`, { method: 'POST', body, headers: { 'content-type': 'application/json' }, signal: AbortSignal.timeout(5000) });

describe('bench uWS.js peer', () => {
  before(async () => {
    server = await startServer({ kind: 'uws', label: 'uWS.js' });
  });
  after(async () => {
    await server?.stop();
  });

  it('says which binary it loaded', () => {
    const binary = uwsBinaryInUse();
    assert.ok(binary !== undefined);
    assert.ok(binary.kind === 'stock' || binary.kind === 'patched');
    assert.match(binary.version, /^20\./);
  });

  it('greets, subscribes, and delivers a topic push and a user push', async () => {
    const a = await client();
    assert.equal(JSON.parse(await a.next()).code, 20000);
    a.ws.send(JSON.stringify({ code: 1, topic: 'news' }));
    assert.equal(JSON.parse(await a.next()).code, 20001);
    a.ws.send(JSON.stringify({ code: 3, data: 'u1' }));
    assert.deepEqual(JSON.parse(await a.next()), { code: 20003, message: 'logged in', detail: { uid: 'u1' } });
    const res = await post('/v1/pushData', JSON.stringify({ topic: 'news', data: Buffer.from('123 hello').toString('base64') }));
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), {});
    assert.equal(await a.next(), '123 hello');
    const batch = await post('/v1/push', JSON.stringify([{ uid: 'u1', data: '456 to you' }, { uid: 'u1' }]));
    assert.equal(batch.status, 200);
    assert.deepEqual(await batch.json(), { accepted: 1, failed: 1, results: [{ ok: true }, { ok: false, error: { code: 'INVALID_DATA', message: 'data' } }] });
    assert.equal(await a.next(), '456 to you');
    a.ws.send('ping');
    assert.equal(await a.next(), 'pong');
    a.ws.close();
  });

  it('answers bad input with errors and keeps serving', async () => {
    const c = await client();
    await c.next();
    c.ws.send('{not json');
    assert.equal(JSON.parse(await c.next()).code, 30001);
    c.ws.send(JSON.stringify({ code: 99 }));
    assert.equal(JSON.parse(await c.next()).code, 30001);
    c.ws.send(JSON.stringify({ code: 5, topic: 'x' }));
    assert.equal(JSON.parse(await c.next()).code, 30002);
    c.ws.send(Buffer.from([1, 2, 3]));
    assert.equal(JSON.parse(await c.next()).code, 30001);
    const bad = await post('/v1/pushData', '{nope');
    assert.equal(bad.status, 400);
    assert.equal(((await bad.json()) as { error: { code: string } }).error.code, 'INVALID_JSON');
    const notArray = await post('/v1/push', '{}');
    assert.equal(notArray.status, 400);
    await notArray.arrayBuffer();
    const missing = await fetch(`http://127.0.0.1:${server.apiPort}/nowhere`, { signal: AbortSignal.timeout(5000) });
    assert.equal(missing.status, 404);
    await missing.arrayBuffer();
    c.ws.send(JSON.stringify({ code: 1, topic: 'still' }));
    assert.equal(JSON.parse(await c.next()).code, 20001);
    assert.ok(server.alive());
    c.ws.close();
  });
});
