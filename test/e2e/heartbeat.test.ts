/**
 * Heartbeat end to end (heartbeatTimeoutMs 600, timerResolutionMs 50): the
 * server pings a client silent for half the timeout (RFC 6455 §5.5.2) and
 * closes with 4000 only a client that stays silent after it. A client that
 * answers pings by itself (browsers, `ws`) stays connected without sending
 * anything; text `ping` and WS ping frames count as activity too. Only close
 * codes and frames are asserted, never durations.
 */
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import { OpCode } from '../../src/protocol/constants.js';
import { startNode, waitUntil, type TestClient, type TestNode } from '../helpers/herald-node.js';
import { RawClient } from '../helpers/raw-client.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const HEARTBEAT_MS = 600;

describe('e2e: heartbeat', () => {
  let h: TestNode;
  before(async () => {
    h = await startNode({ heartbeatTimeoutMs: HEARTBEAT_MS, timerResolutionMs: 50 });
  });
  afterEach(async () => {
    await h.closeClients();
  });
  after(async () => {
    await h.stop();
  });

  /** A `ws` client that does not answer pings (autoPong off), counting the pings it gets. */
  async function deafClient(): Promise<{ c: TestClient; pings: () => number }> {
    const c = await h.connect({ ws: { autoPong: false } });
    let pings = 0;
    c.ws.on('ping', () => pings++);
    return { c, pings: () => pings };
  }

  it('a client that answers pings by itself (ws autoPong, as browsers do) stays connected over several heartbeat windows without sending anything', async () => {
    const c = await h.connect();
    await c.subscribe('idle');
    let pings = 0;
    c.ws.on('ping', () => pings++);
    // Sends nothing itself from here on: only the automatic pongs.
    await waitUntil(() => pings >= 4, 'several server pings', 20 * HEARTBEAT_MS);
    assert.equal(c.closeEvent, undefined, 'closed although it answered every ping');
    await h.send({ topic: 'idle' }, 'still-there');
    await waitUntil(() => c.unread.some((m) => m.data.toString() === 'still-there'), 'the push');
    assert.equal(c.closeEvent, undefined);
  });

  it('a raw client that never answers gets a ping frame, then a close frame 4000', async () => {
    const raw = await RawClient.open(h.wsPort, { path: '/ws' });
    try {
      const greeting = await raw.nextEvent();
      assert.equal(greeting.type, 'message');
      const ping = await raw.nextEvent(10 * HEARTBEAT_MS);
      assert.equal(ping.type, 'ping', `expected a ping, got ${ping.type}`);
      const close = await raw.nextClose(10 * HEARTBEAT_MS);
      assert.equal(close.code, 4000);
      assert.equal(close.reason, 'heartbeat timeout');
    } finally {
      raw.destroy();
    }
  });

  it('a raw client answering the ping with a pong frame is pinged again, not closed', async () => {
    const raw = await RawClient.open(h.wsPort, { path: '/ws' });
    try {
      assert.equal((await raw.nextEvent()).type, 'message');
      for (let i = 0; i < 3; i++) {
        const event = await raw.nextEvent(10 * HEARTBEAT_MS);
        assert.equal(event.type, 'ping', `expected ping ${i}, got ${event.type}`);
        raw.send(OpCode.Pong);
      }
      assert.ok(!raw.closed && !raw.ended);
    } finally {
      raw.destroy();
    }
  });

  it('a silent client that does not answer pings is closed with code 4000 after a ping, and leaves the hub', async () => {
    const { c, pings } = await deafClient();
    await c.subscribe('t');
    const { code } = await c.closed();
    assert.equal(code, 4000);
    assert.ok(pings() >= 1, 'closed without being pinged first');
    await waitUntil(() => h.node.hub.clientCount === 0, 'the hub to drop the client');
    assert.equal(h.node.hub.subscriptionCount, 0);
  });

  it('a client sending text ping every 200 ms for ~1.5 s is not closed, and is closed with 4000 once it stops (pongs off)', async () => {
    const { c } = await deafClient();
    const until = Date.now() + 1500;
    while (Date.now() < until) {
      c.send('ping');
      await sleep(200);
      assert.equal(c.closeEvent, undefined, 'closed although it kept pinging');
    }
    // Every ping was answered with a pong (the greeting was read by connect()).
    await waitUntil(() => c.unread.length > 0 && c.unread.every((m) => m.data.toString() === 'pong'), 'the pongs');
    assert.equal(c.closeEvent, undefined);
    assert.equal((await c.closed()).code, 4000);
  });

  it('WS-level ping frames also count as activity', async () => {
    const { c } = await deafClient();
    const until = Date.now() + 1500;
    while (Date.now() < until) {
      c.ws.ping('hb');
      await sleep(200);
      assert.equal(c.closeEvent, undefined, 'closed although it kept sending ping frames');
    }
    assert.ok(c.pongs.length > 0);
    assert.equal((await c.closed()).code, 4000);
  });

  it('a heartbeat-closed client does not affect a live one', async () => {
    const live = await h.connect();
    await live.subscribe('hb');
    const { c: silent } = await deafClient();
    await silent.subscribe('hb');
    assert.equal((await silent.closed()).code, 4000);
    await h.send({ topic: 'hb' }, 'after-timeout');
    await waitUntil(() => live.unread.some((m) => m.data.toString() === 'after-timeout'), 'the push');
    assert.equal(live.closeEvent, undefined);
    await live.close();
  });
});
