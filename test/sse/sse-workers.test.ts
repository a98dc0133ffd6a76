/**
 * GET /v1/sse under `--workers 2` (the CLI, as deployed): the workers serve
 * streams on the shared port, pushes from the primary's API reach every one,
 * and the primary's /metrics sums the workers' per-transport counts.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { metricValue } from '../helpers/herald-node.js';
import { waitUntil } from '../helpers/server.js';
import { CurlStream } from './curl-stream.js';

const MAIN = fileURLToPath(new URL('../../src/main.js', import.meta.url));

describe('SSE under --workers', () => {
  it('serves streams on the workers\' shared port, and the primary /metrics sums their counts', async () => {
    const proc = spawn(process.execPath, [MAIN, '--workers', '2', '--ws-host', '127.0.0.1', '--ws-port', '0', '--api-port', '0', '--grpc-port', '0'], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    proc.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString()));
    const curls: CurlStream[] = [];
    try {
      await waitUntil(() => out.includes('herald started'), 'the cluster to start', 20_000);
      const started = JSON.parse(out.split('\n').find((line) => line.includes('herald started'))!) as { ws: string; api: string };
      const port = new URL(started.ws).port;
      for (let i = 0; i < 6; i++) curls.push(new CurlStream([`http://127.0.0.1:${port}/v1/sse?topic=w`]));
      for (const c of curls) await c.waitFor((x) => x.blocks.some((b) => b.id !== undefined), 'a stream to start');
      const res = await fetch(`${started.api}/v1/pushData`, { method: 'POST', body: JSON.stringify({ topic: 'w', data: Buffer.from('to all').toString('base64') }) });
      assert.equal(res.status, 200, await res.text());
      for (const c of curls) await c.waitFor((x) => x.events.some((e) => e.data === 'to all'), 'the push on every stream');
      const metrics = await (await fetch(`${started.api}/metrics`)).text();
      assert.equal(metricValue(metrics, 'herald_transport_connections{transport="sse"}'), 6);
      assert.equal(metricValue(metrics, 'herald_transport_messages_total{transport="sse"}'), 6);
    } finally {
      for (const c of curls) c.kill();
      proc.kill('SIGTERM');
      await waitUntil(() => proc.exitCode !== null || proc.signalCode !== null, 'the cluster to stop', 20_000);
    }
  });
});
