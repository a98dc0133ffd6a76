/**
 * Without push tokens, a browser page on another origin cannot publish or use
 * the server API through a user's browser (a cross-origin `text/plain` POST
 * needs no preflight): 403 FORBIDDEN_ORIGIN. Backends (no Origin, no
 * Sec-Fetch-Site) and the API's own pages (same origin) pass; with tokens the
 * check is left to the token.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startNode, type TestNode } from '../helpers/herald-node.js';

const PUSH = JSON.stringify([{ topic: 'csrf', data: 'x' }]);

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
});
