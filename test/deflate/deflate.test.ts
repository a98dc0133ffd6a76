import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { deflateRawSync, constants as zlib } from 'node:zlib';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import { PreparedMessage } from '../../src/protocol/index.js';
import { startNode, type TestNode } from '../helpers/herald-node.js';
import { waitUntil, withTimeout } from '../helpers/server.js';

const PYTHON_CLIENT = fileURLToPath(new URL('../../../test/fixtures/deflate_client.py', import.meta.url));

interface Peer {
  ws: WebSocket;
  received: string[];
  closed: Promise<number>;
}

async function open(url: string, perMessageDeflate: boolean | object): Promise<Peer> {
  const ws = new WebSocket(url, { perMessageDeflate });
  const received: string[] = [];
  ws.on('message', (data) => received.push(data.toString()));
  const closed = new Promise<number>((resolve) => ws.once('close', resolve));
  await withTimeout(new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject)), 'open');
  await waitUntil(() => received.length > 0, 'the greeting');
  return { ws, received, closed };
}

async function subscribe(peer: Peer, topic: string): Promise<void> {
  const before = peer.received.length;
  peer.ws.send(JSON.stringify({ code: 1, topic }));
  await waitUntil(() => peer.received.slice(before).some((m) => m.includes('20001')), 'subscribed');
}

describe('permessage-deflate end to end', () => {
  let node: TestNode;
  let url: string;
  const big = JSON.stringify({ items: Array.from({ length: 200 }, (_, i) => ({ id: i, name: `item-${i}`, ok: true })) });

  before(async () => {
    node = await startNode({ perMessageDeflate: true, maxMessageBytes: 64 * 1024 });
    url = node.wsUrl;
  });
  after(() => node.stop());

  it('negotiates with server_no_context_takeover and client_no_context_takeover', async () => {
    const ws = new WebSocket(url, { perMessageDeflate: true });
    const opened = new Promise((resolve) => ws.once('open', resolve));
    const header = await withTimeout(
      new Promise<string>((resolve) => ws.once('upgrade', (res) => resolve(String(res.headers['sec-websocket-extensions'])))),
      'the 101',
    );
    assert.match(header, /^permessage-deflate/);
    assert.match(header, /server_no_context_takeover/);
    assert.match(header, /client_no_context_takeover/);
    await withTimeout(opened, 'open');
    assert.equal(ws.extensions, 'permessage-deflate');
    ws.close();
  });

  it('compresses a push once and the same frame reaches every deflate subscriber; plain subscribers get it plain', async () => {
    const deflaters = await Promise.all(Array.from({ length: 8 }, () => open(url, true)));
    const plain = await open(url, false);
    assert.equal(plain.ws.extensions, '');
    for (const p of [...deflaters, plain]) await subscribe(p, 'shared');
    const before = PreparedMessage.compressions;
    await node.push({ topic: 'shared', data: Buffer.from(big).toString('base64') });
    await waitUntil(() => [...deflaters, plain].every((p) => p.received.includes(big)), 'every subscriber');
    assert.equal(PreparedMessage.compressions - before, 1, 'compressed once for eight subscribers');
    for (const p of [...deflaters, plain]) p.ws.close();
  });

  it('accepts compressed commands from a client', async () => {
    const peer = await open(url, { threshold: 0 });
    await subscribe(peer, 'from-compressed-command');
    await node.push({ topic: 'from-compressed-command', data: Buffer.from('ok').toString('base64') });
    await waitUntil(() => peer.received.includes('ok'), 'the push');
    peer.ws.close();
  });

  it('works with Python websockets and its default deflate', async () => {
    const py = spawn('/usr/bin/python3', [PYTHON_CLIENT, url]);
    let out = '';
    py.stdout.on('data', (d: Buffer) => (out += d.toString()));
    await waitUntil(() => out.includes('ready') || out.includes('error'), 'the Python client', 20_000);
    assert.match(out, /PerMessageDeflate/);
    await node.push({ topic: 'zip', data: Buffer.from(big).toString('base64') });
    assert.equal(await withTimeout(new Promise((r) => py.once('exit', r)), 'python exit'), 0, out);
    assert.deepEqual(JSON.parse(out.trim().split('\n').pop()!), { message: big });
  });

  it('closes with 1009 a compressed message that inflates past the limit, others unaffected', async () => {
    const other = await open(url, true);
    await subscribe(other, 'after-bomb');
    // 1 MB of zeros deflates to ~1 KB: far under the 64 KiB frame limit, far over it inflated.
    const bomb = deflateRawSync(Buffer.alloc(1024 * 1024), { finishFlush: zlib.Z_SYNC_FLUSH }).subarray(0, -4);
    const raw = await open(url, { threshold: 0 });
    // Send the pre-compressed bytes as a compressed frame through ws's internals: its sender would compress again.
    const frame = Buffer.concat([Buffer.from([0xc1, 0xfe, bomb.length >> 8, bomb.length & 0xff, 0, 0, 0, 0]), bomb]);
    (raw.ws as unknown as { _socket: { write(b: Buffer): void } })._socket.write(frame);
    assert.equal(await withTimeout(raw.closed, 'the 1009 close'), 1009);
    await node.push({ topic: 'after-bomb', data: Buffer.from('still here').toString('base64') });
    await waitUntil(() => other.received.includes('still here'), 'the other client');
    other.ws.close();
  });
});
