/**
 * Heartbeat end to end (heartbeatTimeoutMs 600, timerResolutionMs 50): a
 * silent client is closed with 4000; text `ping` and WS ping frames keep a
 * client alive. Only close codes are asserted, never durations.
 */
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import { startNode, waitUntil, type TestNode } from '../helpers/herald-node.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('e2e: heartbeat', () => {
  let h: TestNode;
  before(async () => {
    h = await startNode({ heartbeatTimeoutMs: 600, timerResolutionMs: 50 });
  });
  afterEach(async () => {
    await h.closeClients();
  });
  after(async () => {
    await h.stop();
  });

  it('a silent client is closed with code 4000 and leaves the hub', async () => {
    const c = await h.connect();
    await c.subscribe('t');
    const { code } = await c.closed();
    assert.equal(code, 4000);
    await waitUntil(() => h.node.hub.clientCount === 0, 'the hub to drop the client');
    assert.equal(h.node.hub.subscriptionCount, 0);
  });

  it('a client sending text ping every 200 ms for ~1.5 s is not closed, and is closed with 4000 once it stops', async () => {
    const c = await h.connect();
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
    const c = await h.connect();
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
    const silent = await h.connect();
    await silent.subscribe('hb');
    const keepAlive = setInterval(() => live.send('ping'), 150);
    try {
      assert.equal((await silent.closed()).code, 4000);
      await h.send({ topic: 'hb' }, 'after-timeout');
      await waitUntil(() => live.unread.some((m) => m.data.toString() === 'after-timeout'), 'the push');
      assert.equal(live.closeEvent, undefined);
    } finally {
      clearInterval(keepAlive);
    }
    await live.close();
  });
});
