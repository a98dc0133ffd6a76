/**
 * The SDK in a real browser (Debian's Chromium, driven by playwright-core)
 * where WebSocket upgrades are refused: a loopback proxy answers 403 to every
 * `Upgrade` and forwards the rest to a real node. The page loads the SDK's
 * compiled modules (the console's `/console/sdk/…` routes, through the
 * proxy so the page, the SDK and `/v1/stream` share one origin), falls back
 * to `POST /v1/stream` (the browser's fetch with a streaming body reader),
 * keeps receiving, and when upgrades pass again goes back to WebSocket — every
 * push delivered once, in order.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { chromium, type Browser, type Page } from 'playwright-core';
import { startNode, waitUntil, WAIT_MS, type TestNode } from '../helpers/herald-node.js';
import { UpgradeGateProxy } from '../helpers/upgrade-gate-proxy.js';

const CHROMIUM = '/usr/bin/chromium';

let browser: Browser;
let h: TestNode;
let proxy: UpgradeGateProxy;

before(async () => {
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'],
  });
  h = await startNode();
  proxy = await new UpgradeGateProxy(h.wsPort, Number(new URL(h.apiUrl).port)).start();
});

after(async () => {
  await browser?.close();
  await proxy?.close();
  await h?.stop();
});

/** What the page's client has seen: its handler's payloads, transports, statuses, errors. */
interface PageState {
  got: string[];
  transports: string[];
  transport: string;
  status: string;
  errors: string[];
  ready: boolean;
}

async function state(page: Page): Promise<PageState> {
  return page.evaluate(() => {
    const w = globalThis as unknown as { seen: PageState; client: { transport: string; status: string } };
    return { ...w.seen, transport: w.client.transport, status: w.client.status };
  });
}

async function until(page: Page, what: string, check: (s: PageState) => boolean): Promise<PageState> {
  let last: PageState | undefined;
  await waitUntil(async () => check((last = await state(page))), what, WAIT_MS * 2);
  return last as PageState;
}

describe('client fallback in Chromium', { timeout: 90_000 }, () => {
  it('falls back to HTTP streaming when upgrades are refused, keeps receiving, and returns to WebSocket with no loss', async () => {
    const topic = `news-${randomBytes(4).toString('hex')}`;
    const page = await (await browser.newContext()).newPage();
    const pageErrors: string[] = [];
    page.on('pageerror', (error) => pageErrors.push(error.message));
    await page.goto(`${proxy.origin}/page`);
    await page.evaluate(
      async ({ url, topic }) => {
        const { HeraldClient } = (await import('/console/sdk/index.js' as string)) as typeof import('../../src/client/index.js');
        const seen = { got: [] as string[], transports: [] as string[], errors: [] as string[], ready: false };
        const client = new HeraldClient({ url, reconnect: { baseMs: 20, maxMs: 100 }, fallback: { afterFailures: 3, retryWebSocketMs: 200, retryWebSocketMaxMs: 400 } });
        client.on('transport', (t) => seen.transports.push(t));
        client.on('error', (e) => seen.errors.push(e.message));
        void client.subscribe(topic, (m) => seen.got.push(String(m.data))).ready.then(() => (seen.ready = true));
        client.connect();
        Object.assign(globalThis, { seen, client });
      },
      { url: proxy.wsUrl, topic },
    );

    // Subscribed on the stream (its reply came): pushes from now on reach the page.
    await until(page, 'the fallback to the stream', (s) => s.transport === 'stream' && s.status === 'open' && s.ready);
    assert.ok(proxy.refused >= 3);
    assert.equal(proxy.streamRequests, 1);
    for (let i = 1; i <= 5; i++) await h.send({ topic }, `m${i}`);
    await until(page, 'five pushes over the stream', (s) => s.got.length === 5);

    proxy.refusing = false;
    let i = 6;
    while ((await state(page)).transport === 'stream' && i <= 300) await h.send({ topic }, `m${i++}`);
    for (const end = i + 5; i < end; i++) await h.send({ topic }, `m${i}`);
    const last = i - 1;
    const final = await until(page, `pushes up to m${last}`, (s) => s.got.length >= last);
    assert.deepEqual(final.got, Array.from({ length: last }, (_, k) => `m${k + 1}`), 'every push once, in order');
    assert.deepEqual(final.transports, ['stream', 'websocket']);
    assert.equal(final.status, 'open');
    assert.ok(proxy.passed >= 1);
    assert.deepEqual(final.errors, []);
    assert.deepEqual(pageErrors, []);
    await page.evaluate(() => (globalThis as unknown as { client: { close(): void } }).client.close());
    await page.context().close();
  });
});
