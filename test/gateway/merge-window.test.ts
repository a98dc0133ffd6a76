import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { OpCode } from '../../src/index.js';
import { RawClient } from '../helpers/raw-client.js';
import { startServer, waitUntil } from '../helpers/server.js';

describe('merge window', () => {
  it('writes what several turns queued on a connection as one write when a merge window is set', async (t) => {
    const s = await startServer(t, {
      mergeWindowMs: 300,
      onMessage(conn) {
        // Three sends in three different event-loop turns.
        conn.send('a');
        setImmediate(() => conn.send('b'));
        setTimeout(() => conn.send('c'), 30);
      },
    });
    const client = s.track(await RawClient.open(s.port));
    const chunks: Buffer[] = [];
    client.socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    client.send(OpCode.Text, 'go');
    await waitUntil(() => client.events.length === 3, 'three messages');
    assert.deepEqual(
      client.events.map((e) => ('data' in e ? e.data.toString() : e.type)),
      ['a', 'b', 'c'],
    );
    assert.equal(chunks.length, 1, 'the three frames arrive in one read');
  });

  it('still writes a close frame at once, after what was queued', async (t) => {
    const s = await startServer(t, {
      mergeWindowMs: 10_000,
      onMessage(conn) {
        conn.send('queued');
        conn.close(4002, 'now');
      },
    });
    const client = s.track(await RawClient.open(s.port));
    client.send(OpCode.Text, 'go');
    await waitUntil(() => client.events.length === 2, 'the queued message and the close frame');
    const [message, close] = client.events;
    assert.ok(message.type === 'message' && message.data.toString() === 'queued');
    assert.ok(close.type === 'close' && close.code === 4002);
  });
});
