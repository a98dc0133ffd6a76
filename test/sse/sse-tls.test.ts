/** GET /v1/sse and POST /v1/stream over the wss:// listener's TLS (a self-signed certificate made with openssl here). */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { TlsCertificates } from '../../src/tls/tls-certificates.js';
import { startNode, type TestNode } from '../helpers/herald-node.js';
import { CurlStream } from './curl-stream.js';

describe('SSE and NDJSON over TLS', () => {
  let dir: string;
  let cert: string;
  let t: TestNode;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'herald-sse-tls-'));
    cert = join(dir, 'c.crt');
    const key = join(dir, 'c.key');
    execFileSync('openssl', [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
      '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=sse', '-addext', 'subjectAltName=IP:127.0.0.1',
    ], { stdio: 'ignore' });
    t = await startNode({ tls: new TlsCertificates(cert, key) });
  });
  after(async () => {
    await t?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('streams pushes to curl -N over https on the WebSocket port', async () => {
    const sse = new CurlStream(['--cacert', cert, `https://127.0.0.1:${t.wsPort}/v1/sse?topic=secure`]);
    const nd = new CurlStream(['--cacert', cert, `https://127.0.0.1:${t.wsPort}/v1/stream`, '-d', '{"subscriptions":[{"topic":"secure"}]}']);
    try {
      await sse.waitFor((x) => x.blocks.some((b) => b.id !== undefined), 'the SSE start');
      await nd.waitFor((x) => x.lines.length === 1, 'the NDJSON reply');
      // The push API is HTTPS too here (same certificate): publish through the engine directly.
      await t.node.engine.publish({ topic: 'secure', data: Buffer.from('over tls') });
      await sse.waitFor((x) => x.events.some((e) => e.data === 'over tls'), 'the SSE event');
      await nd.waitFor((x) => x.lines.some((l) => l.data === 'over tls'), 'the NDJSON line');
      assert.equal(sse.status, 200);
    } finally {
      sse.kill();
      nd.kill();
    }
  });
});
