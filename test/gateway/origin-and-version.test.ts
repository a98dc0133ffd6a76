/**
 * The Origin allow-list judges a serialized origin (`scheme://host[:port]`,
 * RFC 6454 §6.2) parsed as a URL, never a string that merely ends like one,
 * and a request with two Origin headers is refused (RFC 6454 §7.3). Only
 * HTTP/1.x upgrades: another major version gets 505 (RFC 9110 §15.6.6),
 * HTTP/1.0 gets 400. All over raw sockets, against the real listener.
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { WebSocketServer } from '../../src/index.js';
import { OriginPolicy } from '../../src/gateway/connection-limits.js';
import { RawClient, buildRequest, type HttpResponse } from '../helpers/raw-client.js';
import { Recorder, recordingHandler, startServer, type TestServer } from '../helpers/server.js';

const ALLOWED = ['https://app.example.com', 'https://*.example.com'];

/** Send `request` on a new raw connection and read the answer; a refusal must then end the connection. */
async function answer(s: TestServer, request: string): Promise<HttpResponse> {
  const client = s.track(await RawClient.connect(s.port));
  client.write(request);
  const response = await client.readResponse();
  if (response.status !== 101) {
    assert.equal(response.headers.get('connection'), 'close');
    assert.equal(response.headers.get('content-type'), 'application/json');
    const body = JSON.parse(response.body) as { error: { code: string; message: string } };
    assert.equal(typeof body.error.code, 'string');
    assert.equal(typeof body.error.message, 'string');
    await client.waitClosed();
  }
  return response;
}

function errorCode(response: HttpResponse): string {
  return (JSON.parse(response.body) as { error: { code: string } }).error.code;
}

describe('OriginPolicy parses origins as URLs', () => {
  const policy = new OriginPolicy(ALLOWED);

  it('a wildcard matches host labels only: a path, query, fragment or userinfo that ends in the suffix does not', () => {
    for (const origin of [
      'https://evil.com/.example.com',
      'https://evil.com?.example.com',
      'https://evil.com#.example.com',
      'https://x.example.com@evil.com',
      'https://evil.com\\.example.com',
      'https://evil.com%2f.example.com',
      'https://evil.com/x.example.com',
    ]) {
      assert.equal(policy.allows(origin), false, origin);
    }
    assert.equal(policy.allows('https://a.example.com'), true);
    assert.equal(policy.allows('https://a.b.example.com'), true);
  });

  it('anything but exactly scheme://host[:port] is refused, exact entries included', () => {
    for (const origin of [
      'https://app.example.com/',
      'https://app.example.com/path',
      'https://app.example.com?q',
      'https://user@app.example.com',
      'https://app.example.com, https://evil.com',
      'https://evil.com, https://app.example.com',
      'https://a.example.com, https://evil.com',
      'https://app.example.com:443',
      ' https://app.example.com',
      'https://app.example.com:99999',
      'https://[::1',
    ]) {
      assert.equal(policy.allows(origin), false, origin);
    }
    assert.equal(policy.allows('https://app.example.com'), true);
  });

  it('"null" passes only when listed exactly', () => {
    assert.equal(policy.allows('null'), false);
    assert.equal(new OriginPolicy(['null']).allows('null'), true);
  });
});

describe('handshake: Origin headers and HTTP versions over a raw socket', () => {
  it('a path or query that ends in an allowed suffix → 403; an allowed subdomain upgrades', async (t) => {
    const s = await startServer(t, { allowedOrigins: ALLOWED });
    for (const origin of ['https://evil.com/.example.com', 'https://evil.com?.example.com', 'https://evil.com/a.example.com']) {
      const response = await answer(s, buildRequest({ headers: { Origin: origin } }));
      assert.equal(response.status, 403, origin);
      assert.equal(errorCode(response), 'FORBIDDEN_ORIGIN');
    }
    const ok = await answer(s, buildRequest({ headers: { Origin: 'https://a.example.com' } }));
    assert.equal(ok.status, 101);
    assert.equal(s.rec.opens.length, 1);
  });

  it('two Origin headers → 403, whatever their values, with or without an allow-list', async (t) => {
    for (const allowedOrigins of [ALLOWED, undefined]) {
      const s = await startServer(t, { allowedOrigins });
      for (const pair of [
        'https://evil.com\r\nOrigin: https://a.example.com',
        'https://a.example.com\r\nOrigin: https://evil.com',
        'https://app.example.com\r\nOrigin: https://app.example.com',
      ]) {
        const response = await answer(s, buildRequest({ headers: { Origin: pair } }));
        assert.equal(response.status, 403, pair);
        assert.equal(errorCode(response), 'FORBIDDEN_ORIGIN');
      }
      // The listener keeps serving.
      assert.equal((await answer(s, buildRequest({ headers: { Origin: 'https://app.example.com' } }))).status, 101);
      assert.equal(s.rec.opens.length, 1);
      await s.close();
    }
  });

  it('HTTP/2.0 and HTTP/9.9 → 505; HTTP/1.0 → 400; HTTP/1.1 (and 1.x, RFC 9112 §2.3) upgrade', async (t) => {
    const s = await startServer(t);
    for (const version of ['2.0', '9.9', '0.9', '3.1']) {
      const response = await answer(s, buildRequest({ version }));
      assert.equal(response.status, 505, `HTTP/${version}`);
      assert.equal(response.reason, 'HTTP Version Not Supported');
      assert.equal(errorCode(response), 'HTTP_VERSION_NOT_SUPPORTED');
    }
    const old = await answer(s, buildRequest({ version: '1.0' }));
    assert.equal(old.status, 400);
    assert.equal(errorCode(old), 'BAD_REQUEST');
    assert.equal(s.rec.opens.length, 0);
    assert.equal((await answer(s, buildRequest())).status, 101);
    assert.equal((await answer(s, buildRequest({ version: '1.2' }))).status, 101);
    assert.equal(s.rec.opens.length, 2);
  });
});

describe('handshake: two Origin headers in attach mode (http.Server parsed the head)', () => {
  it('→ 403 FORBIDDEN_ORIGIN; one allowed Origin upgrades', async (t) => {
    const rec = new Recorder();
    const http = createServer((_req, res) => res.end());
    const ws = new WebSocketServer({ allowedOrigins: ALLOWED, handler: recordingHandler(rec) }).attach(http);
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    const clients: RawClient[] = [];
    t.after(async () => {
      for (const client of clients) client.destroy();
      await ws.close(undefined, undefined, 2000);
      http.closeAllConnections();
      await new Promise((resolve) => http.close(resolve));
    });
    const port = (http.address() as AddressInfo).port;
    const twice = await RawClient.connect(port);
    clients.push(twice);
    twice.write(buildRequest({ headers: { Origin: 'https://app.example.com\r\nOrigin: https://evil.com' } }));
    const refused = await twice.readResponse();
    assert.equal(refused.status, 403);
    assert.equal(errorCode(refused), 'FORBIDDEN_ORIGIN');
    const once = await RawClient.connect(port);
    clients.push(once);
    once.write(buildRequest({ headers: { Origin: 'https://app.example.com' } }));
    assert.equal((await once.readResponse()).status, 101);
  });
});
