import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { OpCode } from '../../src/index.js';
import { RawClient } from '../helpers/raw-client.js';
import { startServer, waitUntil } from '../helpers/server.js';

function texts(client: RawClient): string[] {
  return client.events.map((e) => ('data' in e ? e.data.toString() : e.type));
}

describe('merge window', () => {
  it('writes a quiet connection at once, then merges what the next turns queue into one write', async (t) => {
    const s = await startServer(t, {
      mergeWindowMs: 1_000,
      onMessage(conn, data) {
        if (data.toString() === 'first') {
          conn.send('a');
          return;
        }
        // Three sends in three different event-loop turns, all within a window of the write of 'a'.
        conn.send('b');
        setImmediate(() => conn.send('c'));
        setTimeout(() => conn.send('d'), 30);
      },
    });
    const client = s.track(await RawClient.open(s.port));
    const chunks: Buffer[] = [];
    client.socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    client.send(OpCode.Text, 'first');
    await waitUntil(() => client.events.length === 1, "'a', written without waiting for the window");
    assert.equal(chunks.length, 1);
    client.send(OpCode.Text, 'more');
    await waitUntil(() => client.events.length === 4, 'three more messages');
    assert.deepEqual(texts(client), ['a', 'b', 'c', 'd']);
    assert.equal(chunks.length, 2, "'b', 'c' and 'd' arrive in one read after 'a'");
  });

  it('holds every connection written within the window, and writes each of them once', async (t) => {
    const s = await startServer(t, {
      mergeWindowMs: 500,
      onMessage(conn) {
        for (const peer of s.rec.opens) {
          peer.send('x');
          setTimeout(() => peer.send('y'), 10);
          setTimeout(() => peer.send('z'), 20);
        }
        void conn;
      },
    });
    const clients = [s.track(await RawClient.open(s.port)), s.track(await RawClient.open(s.port)), s.track(await RawClient.open(s.port))];
    await waitUntil(() => s.rec.opens.length === 3, 'three connections');
    const reads = clients.map((c) => {
      const chunks: Buffer[] = [];
      c.socket.on('data', (chunk: Buffer) => chunks.push(chunk));
      return chunks;
    });
    clients[0].send(OpCode.Text, 'go');
    await waitUntil(() => clients.every((c) => c.events.length === 3), 'x, y and z on every connection');
    for (const [i, c] of clients.entries()) {
      assert.deepEqual(texts(c), ['x', 'y', 'z'], `client ${i}`);
      assert.equal(reads[i].length, 2, `client ${i}: 'x' at once, then 'y' and 'z' together`);
    }
  });

  it('still writes a close frame at once, after what the window holds', async (t) => {
    const s = await startServer(t, {
      mergeWindowMs: 10_000,
      onMessage(conn, data) {
        if (data.toString() === 'first') {
          conn.send('first reply');
          return;
        }
        conn.send('queued');
        conn.close(4002, 'now');
      },
    });
    const client = s.track(await RawClient.open(s.port));
    client.send(OpCode.Text, 'first');
    await waitUntil(() => client.events.length === 1, 'the first reply');
    client.send(OpCode.Text, 'go');
    await waitUntil(() => client.events.length === 3, 'the held message and the close frame, well before the window ends');
    const [, message, close] = client.events;
    assert.ok(message.type === 'message' && message.data.toString() === 'queued');
    assert.ok(close.type === 'close' && close.code === 4002);
  });
});

describe('merge window and a peer that half-closes', () => {
  for (const transport of ['raw', 'net'] as const) {
    it(`writes what the window holds before answering the FIN (${transport} transport)`, async (t) => {
      const s = await startServer(t, {
        transport,
        mergeWindowMs: 10_000,
        onMessage(conn, data) {
          conn.send(data.toString() === 'first' ? 'a' : 'held');
        },
      });
      const client = s.track(await RawClient.open(s.port));
      client.send(OpCode.Text, 'first');
      await waitUntil(() => client.events.length === 1, "'a'");
      client.send(OpCode.Text, 'second');
      await waitUntil(() => s.rec.messages.length === 2, 'the second message at the server');
      client.socket.end();
      await waitUntil(() => client.events.length === 2, 'the held message, long before the window ends');
      assert.deepEqual(texts(client), ['a', 'held']);
    });
  }
});
