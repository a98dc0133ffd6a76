/**
 * Senders that pace themselves by the connection's drain (`offerPrepared` +
 * `waitForDrain`, used by herald.v1 resume): 2 MB through a 64 KiB bound
 * arrive whole and in order, on both transports, without meeting the
 * slow-consumer policy.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import WebSocket from 'ws';
import type { DrainListener, WebSocketConnection } from '../../src/gateway/connection.js';
import { OpCode } from '../../src/protocol/constants.js';
import { PreparedMessage } from '../../src/protocol/prepared-message.js';
import { startServer, waitUntil } from '../helpers/server.js';

const COUNT = 200;
const payload = (i: number): string => `m${i}:`.padEnd(10_000, 'z');

/** Sends COUNT messages, never more than the connection takes now; continues on each drain. */
class Pacer implements DrainListener {
  private next = 1;
  run(conn: WebSocketConnection): void {
    while (this.next <= COUNT) {
      const sent = conn.offerPrepared(new PreparedMessage(OpCode.Text, Buffer.from(payload(this.next))));
      if (sent === 0) return;
      if (sent < 0) return conn.waitForDrain(this, -sent);
      this.next++;
    }
  }
  onDrain(conn: WebSocketConnection): void {
    this.run(conn);
  }
}

describe('paced sends (offerPrepared / waitForDrain)', () => {
  for (const transport of ['raw', 'net'] as const) {
    it(`${transport} transport: 2 MB through a 64 KiB bound, whole and in order`, async (t) => {
      const harness = await startServer(t, {
        transport,
        maxBufferedBytes: 64 * 1024,
        onMessage: (conn) => new Pacer().run(conn),
      });
      const ws = new WebSocket(harness.url);
      t.after(() => ws.terminate());
      const received: string[] = [];
      ws.on('message', (data) => received.push(data.toString()));
      await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
      ws.send('go');
      await waitUntil(() => received.length === COUNT || ws.readyState !== WebSocket.OPEN, 'every message', 30_000);
      assert.equal(received.length, COUNT);
      assert.ok(received.every((text, i) => text === payload(i + 1)), 'in order');
      assert.equal(harness.server.slowConsumerEvents, 0);
    });
  }
});
