/**
 * A page using plain `EventSource` (Debian's Chromium, driven by
 * playwright-core) against GET /v1/sse: it receives pushes and, when the
 * server restarts on the same port, its automatic reconnect sends
 * Last-Event-ID — the memory engine answers `event: gap` (its history died
 * with it), the Redis engine replays what was published meanwhile.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { chromium, type Browser, type Page } from 'playwright-core';
import { RedisEngine } from '../../src/engine/redis-engine.js';
import { WAIT_MS, startNode, type TestNode } from '../helpers/herald-node.js';
import { ensureRedis } from '../helpers/redis.js';

const CHROMIUM = '/usr/bin/chromium';
/** A reconnect waits for the `retry:` delay (1 s) after the server is back. */
const RECONNECT_MS = 20_000;

/** The page: an EventSource whose events are recorded in `window.seen` as `data`, `gap:<json>`, `close:<json>`. */
const PAGE = `<!doctype html><meta charset="utf-8"><title>sse</title><script>
window.seen = [];
window.openStream = (url) => {
  const source = new EventSource(url);
  source.onmessage = (e) => window.seen.push(e.data);
  source.addEventListener('gap', (e) => window.seen.push('gap:' + e.data));
  source.addEventListener('close', (e) => window.seen.push('close:' + e.data));
  window.source = source;
};
</script>`;

let browser: Browser;
let pageServer: Server;
let pageUrl: string;

before(async () => {
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'],
  });
  // The page comes from another origin than the gateway: EventSource then needs the CORS headers.
  pageServer = createServer((_req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end(PAGE));
  pageServer.listen(0, '127.0.0.1');
  await once(pageServer, 'listening');
  pageUrl = `http://127.0.0.1:${(pageServer.address() as AddressInfo).port}/`;
});

after(async () => {
  await browser?.close();
  pageServer?.close();
});

async function openPage(streamUrl: string): Promise<Page> {
  const page = await (await browser.newContext()).newPage();
  await page.goto(pageUrl);
  await page.evaluate((url) => (globalThis as any).openStream(url), streamUrl);
  return page;
}

const seen = (page: Page): Promise<string[]> => page.evaluate(() => (globalThis as any).seen as string[]);

async function until(what: string, check: () => Promise<boolean>, timeoutMs = WAIT_MS): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Once the page's stream is subscribed on `t` (after a reconnect, too), push `data` once and wait for the page to show it. */
async function pushUntilSeen(t: TestNode, page: Page, topic: string, data: string, timeoutMs = RECONNECT_MS): Promise<void> {
  await until('the page to be subscribed', async () => t.node.hub.topicCount > 0, timeoutMs);
  await t.send({ topic }, data);
  await until(`the page to receive ${data}`, async () => (await seen(page)).includes(data));
}

describe('EventSource in Chromium', () => {
  it('receives pushes, and after a memory-engine restart on the same port gets event: gap', async () => {
    let t = await startNode({ allowedOrigins: [pageUrl.slice(0, -1)] });
    const port = t.wsPort;
    const page = await openPage(`http://127.0.0.1:${port}/v1/sse?topic=room`);
    try {
      await pushUntilSeen(t, page, 'room', 'before');
      await t.stop();
      t = await startNode({ wsPort: port, allowedOrigins: [pageUrl.slice(0, -1)] });
      await until('the reconnect to say gap', async () => (await seen(page)).some((s) => s.startsWith('gap:')), RECONNECT_MS);
      const all = await seen(page);
      assert.ok(all.includes('close:{"code":1001,"reason":"server shutting down"}'), JSON.stringify(all));
      const gap = JSON.parse(all.find((s) => s.startsWith('gap:'))!.slice(4)) as { stream: string; position: { seq: number } };
      assert.equal(gap.stream, 'room');
      assert.equal(gap.position.seq, 0);
      await pushUntilSeen(t, page, 'room', 'after');
    } finally {
      await page.context().close();
      await t.stop();
    }
  });

  it('with the Redis engine, resumes by Last-Event-ID without loss across a restart', async () => {
    const url = await ensureRedis();
    const prefix = `herald-sse-test-${randomBytes(4).toString('hex')}:`;
    const redisNode = (wsPort = 0): Promise<TestNode> => startNode({ wsPort, engine: new RedisEngine({ url, prefix }) });
    // A second node on the same Redis: it takes the pushes made while the page's node is down.
    const other = await redisNode();
    let t = await redisNode();
    const port = t.wsPort;
    const page = await openPage(`http://127.0.0.1:${port}/v1/sse?topic=feed`);
    try {
      await pushUntilSeen(t, page, 'feed', 'one');
      await t.stop();
      await other.send({ topic: 'feed' }, 'two');
      await other.send({ topic: 'feed' }, 'three');
      t = await redisNode(port);
      await pushUntilSeen(t, page, 'feed', 'four');
      const data = (await seen(page)).filter((s) => !s.startsWith('close:'));
      assert.deepEqual(data, ['one', 'two', 'three', 'four']);
    } finally {
      await page.context().close();
      await t.stop();
      await other.stop();
    }
  });
});
