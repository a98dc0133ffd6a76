/**
 * The console's HTTP routes on the push API server, without a browser: the
 * page and its assets (types, headers, the allow-list, no way out of it) and
 * `GET /v1/stats` against `/metrics`.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { metricValue, startNode, waitUntil, type TestNode } from '../helpers/herald-node.js';

const DIST_SRC = new URL('../../src/', import.meta.url);

/** A GET with the path sent exactly as written (fetch would normalise `..`). */
function rawGet(apiUrl: string, path: string, method = 'GET'): Promise<{ status: number; type: string; body: string }> {
  return new Promise((resolve, reject) => {
    const url = new URL(apiUrl);
    const req = httpRequest({ host: url.hostname, port: url.port, path, method }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type']), body: Buffer.concat(chunks).toString('utf8') }),
      );
    });
    req.on('error', reject);
    req.end();
  });
}

/** The relative module specifiers a compiled file imports (static and dynamic). */
function relativeImports(source: string): string[] {
  const found: string[] = [];
  for (const match of source.matchAll(/(?:\bfrom\s*|\bimport\s*\(?\s*)['"](\.{1,2}\/[^'"]+)['"]/g)) found.push(match[1]);
  return found;
}

describe('console routes', () => {
  let server: TestNode;

  before(async () => {
    server = await startNode();
  });
  after(async () => {
    await server?.stop();
  });

  it('serves the page with its own script and style sheet only, under a strict CSP', async () => {
    for (const path of ['/console', '/console/']) {
      const res = await server.request(path);
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('content-type'), 'text/html; charset=utf-8');
      assert.match(res.headers.get('content-security-policy') ?? '', /default-src 'none'; script-src 'self'/);
      assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
      assert.match(res.text, /<script type="module" src="\/console\/app\.js"><\/script>/);
      assert.match(res.text, /<link rel="stylesheet" href="\/console\/console\.css">/);
      assert.match(res.text, /data-push-auth="open"/);
      // Where the page connects: this node's listener (startNode binds it to 127.0.0.1).
      assert.match(res.text, new RegExp(`data-ws-scheme="ws" data-ws-port="${server.wsPort}" data-ws-path="/ws" data-ws-host="127\\.0\\.0\\.1"`));
      assert.doesNotMatch(res.text, /https?:\/\//, 'the page loads nothing from elsewhere');
    }
  });

  it('serves the style sheet as text/css and the scripts as text/javascript, as built', async () => {
    const css = await server.request('/console/console.css');
    assert.equal(css.status, 200);
    assert.equal(css.headers.get('content-type'), 'text/css; charset=utf-8');
    for (const [path, file] of [
      ['/console/app.js', 'console/app.js'],
      ['/console/sdk/index.js', 'client/index.js'],
      ['/console/codes.js', 'codes.js'],
    ]) {
      const res = await server.request(path);
      assert.equal(res.status, 200, path);
      assert.equal(res.headers.get('content-type'), 'text/javascript; charset=utf-8', path);
      assert.equal(res.text, await readFile(new URL(file, DIST_SRC), 'utf8'), path);
    }
  });

  it('serves every module the page and the SDK import, so the browser needs nothing else', async () => {
    const app = await server.request('/console/app.js');
    // The page loads the SDK with a computed import() (its TS types come from src/client/).
    assert.match(app.text, /'sdk\/index\.js'/);
    const seen = new Set<string>();
    const queue = ['/console/app.js', '/console/sdk/index.js'];
    while (queue.length > 0) {
      const path = queue.shift() as string;
      if (seen.has(path)) continue;
      seen.add(path);
      const res = await server.request(path);
      assert.equal(res.status, 200, `${path} is imported but not served`);
      for (const specifier of relativeImports(res.text)) queue.push(new URL(specifier, `http://x${path}`).pathname);
    }
    assert.ok(seen.has('/console/codes.js'), 'the SDK imports the shared codes');
  });

  it('answers 404 to anything outside the allow-list, however it is spelled', async () => {
    for (const path of [
      '/console/sdk/../../node.js',
      '/console/sdk/../codes.js/../../node.js',
      '/console/../node.js',
      '/console/sdk/%2e%2e/%2e%2e/node.js',
      '/console/sdk/..%2f..%2fnode.js',
      '/console/sdk/index.d.ts',
      '/console/sdk/index.js.map',
      '/console/sdk/',
      '/console/sdk//index.js',
      '/console/SDK/index.js',
      '/console/app.ts',
      '/console/page.js',
      '/console/stats.js',
      '/console/console-routes.js',
      '/console/%00',
      '/consoles',
    ]) {
      const res = await rawGet(server.apiUrl, path);
      assert.equal(res.status, 404, path);
      assert.match(res.type, /^application\/json/, path);
      assert.equal(JSON.parse(res.body).error.code, 'NOT_FOUND', path);
    }
  });

  it('answers HEAD without a body and other methods with 405', async () => {
    const head = await rawGet(server.apiUrl, '/console/app.js', 'HEAD');
    assert.equal(head.status, 200);
    assert.equal(head.body, '');
    const post = await server.request('/console', { method: 'POST', body: '{}' });
    assert.equal(post.status, 405);
    const stats = await server.request('/v1/stats', { method: 'DELETE' });
    assert.equal(stats.status, 405);
  });

  it('GET /v1/stats reports the same values as /metrics', async () => {
    const res = await server.request('/v1/stats');
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('cache-control'), 'no-store');
    assert.deepEqual(Object.keys(res.json).sort(), [
      'bytesSent',
      'connections',
      'drops',
      'messagesSent',
      'publications',
      'subscriptions',
      'topics',
      'transports',
      'uptimeSeconds',
      'users',
    ]);
    for (const [key, value] of Object.entries(res.json)) if (key !== 'transports') assert.equal(typeof value, 'number');

    const client = await server.connect();
    await client.subscribe('news');
    await server.send({ topic: 'news' }, 'hello');
    assert.equal(await client.nextText(), 'hello');
    const stats = (await server.request('/v1/stats')).json;
    const metrics = (await server.request('/metrics')).text;
    assert.equal(stats.connections, 1);
    assert.equal(stats.topics, 1);
    assert.equal(stats.subscriptions, 1);
    assert.equal(stats.messagesSent, res.json.messagesSent + 1);
    assert.equal(stats.bytesSent, res.json.bytesSent + 2 + 'hello'.length);
    assert.equal(stats.publications, res.json.publications + 1);
    assert.equal(stats.drops, 0);
    assert.ok(stats.uptimeSeconds >= 0);
    for (const [field, sample] of [
      ['connections', 'herald_connections'],
      ['topics', 'herald_topics'],
      ['users', 'herald_users'],
      ['subscriptions', 'herald_subscriptions'],
      ['messagesSent', 'herald_messages_sent_total'],
      ['bytesSent', 'herald_bytes_sent_total'],
      ['drops', 'herald_messages_dropped_total'],
      ['publications', 'herald_publications_total'],
    ]) {
      assert.equal(stats[field], metricValue(metrics, sample), field);
    }
    await client.close();
    await waitUntil(() => server.node.ws.connectionCount === 0, 'the client to go');
    assert.equal((await server.request('/v1/stats')).json.connections, 0);
  });
});

describe('console routes with push tokens', () => {
  const token = 'console-test-token-0123456789';
  let server: TestNode;

  before(async () => {
    server = await startNode({ pushTokens: [token] });
  });
  after(async () => {
    await server?.stop();
  });

  it('tells the page that pushes need a token, and keeps the console and stats open like /metrics', async () => {
    const page = await server.request('/console');
    assert.equal(page.status, 200);
    assert.match(page.text, /data-push-auth="required"/);
    assert.equal((await server.request('/console/app.js')).status, 200);
    assert.equal((await server.request('/v1/stats')).status, 200);
    assert.equal((await server.pushBatch([{ topic: 'x', data: 'y' }])).status, 401);
  });
});
