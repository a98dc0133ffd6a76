/**
 * Without push tokens, a browser page on another origin cannot publish or use
 * the server API through a user's browser (a cross-origin `text/plain` POST
 * needs no preflight): 403 FORBIDDEN_ORIGIN. Backends (no Origin, no
 * Sec-Fetch-Site) and the API's own pages (same origin) pass; with tokens the
 * check is left to the token.
 */
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { startNode, type TestNode } from '../helpers/herald-node.js';

const PUSH = JSON.stringify([{ topic: 'csrf', data: 'x' }]);

/** `fetch` cannot set `Host`; a rebound page's requests carry its own name there. */
function rawRequest(apiUrl: string, method: string, path: string, headers: Record<string, string>, body = ''): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(`${apiUrl}${path}`, { method, headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('push API: cross-origin browser writes', () => {
  let open: TestNode;
  let tokened: TestNode;
  before(async () => {
    open = await startNode({});
    tokened = await startNode({ pushTokens: ['t'.repeat(32)] });
  });
  after(async () => {
    await open.stop();
    await tokened.stop();
  });

  it('refuses a POST from a page on another origin (Origin, or Sec-Fetch-Site) with 403 JSON when no token is configured', async () => {
    const host = new URL(open.apiUrl).host;
    const shapes: Record<string, string>[] = [
      { origin: 'https://evil.example', 'content-type': 'text/plain' },
      { origin: 'null', 'content-type': 'text/plain' },
      { origin: `http://${host}`, 'sec-fetch-site': 'cross-site' },
      { 'sec-fetch-site': 'same-site' },
    ];
    for (const headers of shapes) {
      const res = await open.request('/v1/push', { method: 'POST', headers, body: PUSH });
      assert.equal(res.status, 403, `${JSON.stringify(headers)}: ${res.text}`);
      assert.equal((res.json as { error: { code: string } }).error.code, 'FORBIDDEN_ORIGIN');
    }
    const kick = await open.request('/v1/disconnect', { method: 'POST', headers: { origin: 'https://evil.example' }, body: '{"uid":"ann"}' });
    assert.equal(kick.status, 403, kick.text);
  });

  it('lets a backend (no Origin) and the API\'s own page (same origin) push, and reads stay open', async () => {
    const host = new URL(open.apiUrl).host;
    assert.equal((await open.request('/v1/push', { method: 'POST', body: PUSH })).status, 200);
    const own = await open.request('/v1/push', { method: 'POST', headers: { origin: `http://${host}`, 'sec-fetch-site': 'same-origin' }, body: PUSH });
    assert.equal(own.status, 200, own.text);
    const stats = await open.request('/v1/stats', { headers: { origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' } });
    assert.equal(stats.status, 200);
  });

  it('leaves cross-origin requests to the token when tokens are configured', async () => {
    const res = await tokened.request('/v1/push', {
      method: 'POST',
      headers: { origin: 'https://elsewhere.example', authorization: `Bearer ${'t'.repeat(32)}` },
      body: PUSH,
    });
    assert.equal(res.status, 200, res.text);
    const without = await tokened.request('/v1/push', { method: 'POST', headers: { origin: 'https://elsewhere.example' }, body: PUSH });
    assert.equal(without.status, 401);
  });

  it('refuses a browser request that reached the loopback API under a rebound name (DNS rebinding), reads included', async () => {
    const port = new URL(open.apiUrl).port;
    const rebound = { host: `rebound.example:${port}`, origin: `http://rebound.example:${port}`, 'sec-fetch-site': 'same-origin' };
    const push = await rawRequest(open.apiUrl, 'POST', '/v1/push', { ...rebound, 'content-type': 'text/plain' }, PUSH);
    assert.equal(push.status, 403, push.text);
    assert.equal((JSON.parse(push.text) as { error: { code: string } }).error.code, 'FORBIDDEN_ORIGIN');
    const read = await rawRequest(open.apiUrl, 'GET', '/v1/stats', { host: `rebound.example:${port}`, 'sec-fetch-site': 'same-origin' });
    assert.equal(read.status, 403, read.text);
    for (const host of [`localhost:${port}`, `app.localhost:${port}`, `127.0.0.1:${port}`, `LOCALHOST.:${port}`]) {
      const own = await rawRequest(open.apiUrl, 'POST', '/v1/push', { host, origin: `http://${host}`, 'sec-fetch-site': 'same-origin' }, PUSH);
      assert.equal(own.status, 200, `${host}: ${own.text}`);
    }
    const backend = await rawRequest(open.apiUrl, 'POST', '/v1/push', { host: `herald.internal:${port}` }, PUSH);
    assert.equal(backend.status, 200, backend.text);
  });
});
