/**
 * The web console in a real browser: Debian's Chromium (`/usr/bin/chromium`,
 * installed by CI; never downloaded), driven by playwright-core, against a
 * real HeraldNode. The page subscribes through the client SDK, pushes through
 * `/v1/push`, polls `/v1/stats`, and rides out a server restart on the same
 * ports.
 *
 * Within a suite the tests run in order on one page, as a user would.
 */
import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { chromium, type Browser, type Page } from 'playwright-core';
import { startNode, waitUntil, WAIT_MS, type TestNode } from '../helpers/herald-node.js';

const CHROMIUM = '/usr/bin/chromium';
/**
 * Tests never write tracked files: the screenshot goes to the temp folder unless
 * HERALD_CONSOLE_SCREENSHOT names a file (scripts/console-screenshot.mjs passes
 * docs/console.png to update the README's picture on purpose).
 */
const SCREENSHOT = process.env.HERALD_CONSOLE_SCREENSHOT || join(tmpdir(), `herald-console-${process.pid}.png`);
/** A reconnect waits for the SDK's backoff as well. */
const RECONNECT_MS = 20_000;

let browser: Browser;

before(async () => {
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'],
  });
});

after(async () => {
  await browser?.close();
});

/**
 * Poll `check` (cheap, loopback only) until it holds; fail after `timeoutMs`.
 * Playwright's page-side polling evaluates code strings, which the page's CSP forbids.
 */
async function until(what: string, check: () => Promise<boolean>, timeoutMs = WAIT_MS): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** A new page (own context: own sessionStorage) that records its console errors and uncaught exceptions. */
async function openPage(): Promise<{ page: Page; errors: string[] }> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  page.setDefaultTimeout(WAIT_MS);
  const errors: string[] = [];
  page.on('console', (message) => {
    // A node without the presence routes answers them 404; the panel says "presence unavailable" (checked below).
    if (message.type() === 'error' && /\/v1\/presence(-stats)?\?/.test(message.location().url) && message.text().includes('404')) return;
    if (message.type() === 'error') errors.push(message.text());
  });
  page.on('pageerror', (error) => errors.push(`uncaught: ${error.message}`));
  return { page, errors };
}

/** The console of `server`, pointed at its WebSocket port, once connected. */
async function gotoConsole(page: Page, server: TestNode): Promise<void> {
  await page.goto(`${server.apiUrl}/console?ws=${encodeURIComponent(server.wsUrl)}`);
  await page.waitForSelector('#ws-status[data-state=open]');
}

/** Push `data` to `topic` through the page's push form; returns the result the page shows. */
async function pushFromPage(page: Page, topic: string, data: string): Promise<string> {
  await page.fill('#push-topic', topic);
  await page.fill('#push-uid', '');
  await page.fill('#push-data', data);
  await page.click('#push-form button[type=submit]');
  const result = async () => (await page.textContent('#push-result')) ?? '';
  await until('the push result', async () => (await result()) !== 'sending…');
  return result();
}

/** Subscribe through the page's form by keyboard (type the topic, press Enter); wait for the server to confirm. */
async function subscribeFromPage(page: Page, topic: string): Promise<void> {
  await page.focus('#sub-topic');
  await page.fill('#sub-topic', '');
  await page.keyboard.type(topic);
  await page.keyboard.press('Enter');
  await page.waitForSelector(`#subs li[data-key="${topic}"][data-state=subscribed]`);
}

describe('web console (Chromium)', () => {
  let page: Page;
  let pageErrors: string[];
  let server: TestNode;
  /** Ports of the first node, reused by the restarted one. */
  let ports: { ws: number; api: number };
  /** Everything pushed to `news` so far, in order. */
  const pushedToNews: string[] = [];

  before(async () => {
    server = await startNode({ presence: true });
    ports = { ws: server.wsPort, api: Number(new URL(server.apiUrl).port) };
    ({ page, errors: pageErrors } = await openPage());
  });

  after(async () => {
    await page?.context().close();
    await server?.stop();
  });

  /** Texts of the messages in the log, oldest first. */
  const logged = (): Promise<string[]> => page.locator('#log li.msg .data').allTextContents();
  const statusEvents = (): Promise<string[]> => page.locator('#log li.event[data-kind=status] .data').allTextContents();
  /** A counter's value; NaN while it shows none. */
  const counter = async (id: string): Promise<number> => {
    const text = ((await page.textContent(`#stat-${id}`)) ?? '').replace(/,/g, '');
    return /^\d+(\.\d+)?$/.test(text) ? Number(text) : NaN;
  };

  /** Wait until the log holds as many messages as `expected`, then check it is exactly that: nothing lost, nothing extra. */
  async function waitForLog(expected: readonly string[]): Promise<void> {
    const deadline = Date.now() + WAIT_MS;
    let now = await logged();
    while (now.length < expected.length && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      now = await logged();
    }
    assert.deepEqual(now, expected);
  }

  /** Push `texts` to `news` from the test, in one batch. */
  async function pushFromTest(texts: string[]): Promise<void> {
    const res = await server.pushBatch(texts.map((data) => ({ topic: 'news', data })));
    assert.equal(res.status, 200, res.text);
    assert.equal(res.json.accepted, texts.length, res.text);
    pushedToNews.push(...texts);
  }

  /** Push to `news` through the page's push form. */
  async function pushNewsFromPage(data: string): Promise<void> {
    assert.equal(await pushFromPage(page, 'news', data), 'accepted');
    pushedToNews.push(data);
  }

  it('loads with no errors, every field labelled, connected and showing counters', async () => {
    await gotoConsole(page, server);
    await until('the first counters', async () => !Number.isNaN(await counter('connections')));
    assert.equal(await page.title(), 'Herald console');
    assert.equal(await page.inputValue('#ws-url'), server.wsUrl);
    const unlabelled = await page.evaluate(
      '[...document.querySelectorAll("input, textarea, select")].filter((e) => e.labels.length === 0).map((e) => e.id)',
    );
    assert.deepEqual(unlabelled, []);
    assert.equal(await page.getAttribute('#log', 'aria-live'), 'polite');
    assert.equal(await page.isHidden('#push-token-row'), true, 'no token field when the API is open');
    assert.deepEqual(pageErrors, []);
  });

  it('shows a message pushed through the page form and one pushed by a backend', async () => {
    await subscribeFromPage(page, 'news');
    assert.equal(server.node.hub.topicCount, 1);

    await pushNewsFromPage('hello from the form');
    await waitForLog(pushedToNews);
    await pushFromTest(['hello from a backend']);
    await waitForLog(pushedToNews);

    // The presence panel lists the subscribed topic with its figures (the node keeps presence).
    await page.waitForSelector('#presence li[data-topic=news][data-state=ok]');
    const presence = await page.locator('#presence li[data-topic=news]').first();
    assert.match((await presence.textContent()) ?? '', /1 connection/);

    const last = page.locator('#log li.msg').last();
    assert.equal(await last.locator('.topic').textContent(), 'news');
    assert.equal(await last.locator('.seq').textContent(), '#2');
    assert.match((await last.locator('time').getAttribute('datetime')) ?? '', /^\d{4}-\d\d-\d\dT/);
    assert.deepEqual(pageErrors, []);
  });

  it('moves the counters: connections, messages sent and messages/s', async () => {
    await until('connections ≥ 1', async () => (await counter('connections')) >= 1);
    const sent = await counter('sent');
    await pushFromTest(['c1', 'c2', 'c3', 'c4', 'c5']);
    await waitForLog(pushedToNews);
    await until('messages sent to grow', async () => (await counter('sent')) >= sent + 5);
    await until('messages/s above 0', async () => (await counter('rate')) > 0);
    assert.ok((await counter('topics')) >= 1);
    assert.equal(await counter('drops'), 0);
    assert.deepEqual(pageErrors, []);
  });

  it('survives a server restart on the same ports: reconnects, resubscribes, loses nothing pushed while connected', async () => {
    const before = (await statusEvents()).length;
    // stop() also cuts the page's busy keep-alive connection (its stats polling), so it cannot keep talking to the stopped node.
    await server.stop();
    await until('the page to see the connection drop', async () => (await statusEvents()).slice(before).includes('connection reconnecting'), RECONNECT_MS);
    // It says why: the server's close (1001) and then, while nothing listens, that the address cannot be reached.
    await until('the reason to show', async () => /cannot reach|1001/.test((await page.textContent('#ws-problem')) ?? ''), RECONNECT_MS);
    assert.equal(await page.isVisible('#ws-problem'), true);
    await until('the unreachable address to show', async () => ((await page.textContent('#ws-problem')) ?? '').includes(`cannot reach ${server.wsUrl}`), RECONNECT_MS);
    const problems = await page.locator('#log li.event[data-kind=problem] .data').allTextContents();
    assert.ok(problems.includes('closed by the server: 1001 server shutting down'), problems.join(' | '));

    // A new node (new memory engine: a new epoch; nothing pushed while it was down can exist).
    server = await startNode({ wsPort: ports.ws, apiPort: ports.api });
    await page.waitForSelector('#ws-status[data-state=open]', { timeout: RECONNECT_MS });
    assert.equal(await page.isHidden('#ws-problem'), true, 'no problem shown once connected again');
    await waitUntil(() => server.node.hub.topicCount === 1, 'the page to resubscribe to news', RECONNECT_MS);
    const transitions = (await statusEvents()).slice(before).map((text) => text.replace('connection ', ''));
    const reconnecting = transitions.indexOf('reconnecting');
    assert.ok(reconnecting >= 0 && transitions.indexOf('open', reconnecting) > reconnecting, transitions.join(' → '));

    const burst = Array.from({ length: 50 }, (_, i) => `after restart ${i + 1}`);
    await pushFromTest(burst);
    await pushNewsFromPage('from the form after the restart');
    await waitForLog(pushedToNews);
    const seqs = (await page.locator('#log li.msg .seq').allTextContents()).slice(-51);
    assert.deepEqual(
      seqs,
      Array.from({ length: 51 }, (_, i) => `#${i + 1}`),
      'the new node numbers its stream from 1',
    );
    // The counters follow the new node (its own totals start from 0).
    await until('the counters of the new node', async () => (await counter('sent')) === 51 && (await counter('connections')) === 1);
  });

  it('saves a screenshot with messages and counters (to the temp folder; docs/console.png on request)', async () => {
    await subscribeFromPage(page, 'prices');
    await page.click('#clear-log');
    const quotes = ['HRLD', 'WSKT', 'PUSH', 'FAN'].map((symbol, i) => ({
      topic: 'prices',
      data: JSON.stringify({ symbol, price: 40 + i * 7.25, at: '2025-01-01T12:00:00Z' }),
    }));
    const res = await server.pushBatch([
      ...quotes,
      { topic: 'news', data: 'Herald 0.1 is out: WebSocket push, gpush-compatible' },
      { data: 'to everyone: maintenance window at 02:00 UTC' },
    ]);
    assert.equal(res.json.accepted, 6);
    await until('the pushes in the log', async () => (await page.locator('#log li.msg').count()) === 6);
    assert.equal(await page.locator('#log li.msg .topic').last().textContent(), '(everyone)');
    await until('messages/s above 0', async () => (await counter('rate')) > 0);
    await until('the counters to show both topics', async () => (await counter('topics')) === 2 && (await counter('subscriptions')) === 2);
    await page.fill('#push-topic', 'news');
    await page.fill('#push-data', 'Hello from the console');
    await mkdir(dirname(SCREENSHOT), { recursive: true });
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
  });
});

describe('web console on a non-default WebSocket port and path (Chromium)', () => {
  const wsPath = '/live/socket';
  let page: Page;
  let pageErrors: string[];
  let server: TestNode;

  before(async () => {
    // An ephemeral port: never gpush's 9992.
    server = await startNode({ wsPath });
    ({ page, errors: pageErrors } = await openPage());
  });

  after(async () => {
    await page?.context().close();
    await server?.stop();
  });

  it('connects to the server\'s own WebSocket address without being told it', async () => {
    assert.notEqual(server.wsPort, 9992);
    await page.goto(`${server.apiUrl}/console`);
    await page.waitForSelector('#ws-status[data-state=open]');
    assert.equal(await page.inputValue('#ws-url'), `ws://127.0.0.1:${server.wsPort}${wsPath}`);
    await waitUntil(() => server.node.ws.connectionCount === 1, 'the page\'s connection');
    assert.equal(await page.isHidden('#ws-problem'), true);
    assert.deepEqual(pageErrors, []);
  });

  it('says why it cannot connect to a wrong address, and recovers with the right one', async () => {
    const wrong = `ws://127.0.0.1:${server.wsPort}/ws`;
    await page.fill('#ws-url', wrong);
    await page.click('#connect-form button[type=submit]');
    await until('the reason', async () => ((await page.textContent('#ws-problem')) ?? '').includes(`cannot reach ${wrong}`));
    assert.equal(await page.isVisible('#ws-problem'), true);
    assert.notEqual(await page.getAttribute('#ws-status', 'data-state'), 'open');

    await page.fill('#ws-url', `ws://127.0.0.1:${server.wsPort}${wsPath}`);
    await page.click('#connect-form button[type=submit]');
    await page.waitForSelector('#ws-status[data-state=open]');
    assert.equal(await page.isHidden('#ws-problem'), true);
  });
});

describe('web console with push tokens (Chromium)', () => {
  const token = 'console-browser-token-0123456789';
  let page: Page;
  let server: TestNode;

  before(async () => {
    server = await startNode({ pushTokens: [token] });
    ({ page } = await openPage());
    await gotoConsole(page, server);
  });

  after(async () => {
    await page?.context().close();
    await server?.stop();
  });

  it('asks for the token, sends it as a bearer token and keeps it for the tab only', async () => {
    assert.equal(await page.isVisible('#push-token'), true, 'a token field when the API needs one');
    await subscribeFromPage(page, 'alerts');

    assert.match(await pushFromPage(page, 'alerts', 'no token'), /^UNAUTHENTICATED: /);
    assert.equal(await page.evaluate('document.activeElement.id'), 'push-token', 'a 401 moves the focus to the token');
    await page.fill('#push-token', 'wrong-token-but-long-enough');
    assert.match(await pushFromPage(page, 'alerts', 'wrong token'), /^UNAUTHENTICATED: /);
    await page.fill('#push-token', token);
    assert.equal(await pushFromPage(page, 'alerts', 'with the token'), 'accepted');
    await until('the message', async () => (await page.locator('#log li.msg .data').allTextContents()).includes('with the token'));
    assert.deepEqual(await page.locator('#log li.msg .data').allTextContents(), ['with the token']);

    await page.reload();
    await page.waitForSelector('#ws-status[data-state=open]');
    assert.equal(await page.inputValue('#push-token'), token, 'kept in sessionStorage across a reload');
    const other = await browser.newContext();
    try {
      const fresh = await other.newPage();
      await gotoConsole(fresh, server);
      assert.equal(await fresh.inputValue('#push-token'), '', 'not shared with another session');
    } finally {
      await other.close();
    }
  });

  it('unsubscribes from the list of subscriptions', async () => {
    await subscribeFromPage(page, 'alerts');
    await waitUntil(() => server.node.hub.topicCount === 1, 'the subscription');
    await page.click('#subs li[data-key=alerts] button');
    await waitUntil(() => server.node.hub.topicCount === 0, 'the unsubscription');
    assert.equal(await page.locator('#subs li').count(), 0);
    assert.equal(await page.isVisible('#subs-empty'), true);
  });
});
