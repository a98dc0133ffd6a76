import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { pino, type Logger } from 'pino';
import { Registry } from 'prom-client';
import { webhookMetrics } from '../../src/webhooks/webhook-metrics.js';

function capture(): { logger: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n')) if (line !== '') lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { logger: pino({ level: 'info' }, stream) as Logger, lines };
}

describe('webhook metrics and log lines', () => {
  it('counts per URL; a drop burst is logged once at its start and once at its end; failures at attempt 1 and every 10th', async () => {
    const registry = new Registry();
    const { logger, lines } = capture();
    const events = webhookMetrics(registry, logger);
    const url = 'http://127.0.0.1:1/h';
    events.onDelivered?.(url, 5);
    events.onDropBurst?.(url, 'started', 1);
    for (let i = 0; i < 300; i++) events.onDropped?.(url, 1);
    events.onDropBurst?.(url, 'ended', 300);
    for (let attempt = 1; attempt <= 20; attempt++) events.onRequestFailed?.(url, 'ECONNREFUSED', attempt);
    logger.flush();
    await new Promise((resolve) => setImmediate(resolve));
    const text = await registry.metrics();
    assert.match(text, /herald_webhook_events_delivered_total\{url="http:\/\/127\.0\.0\.1:1\/h"\} 5/);
    assert.match(text, /herald_webhook_events_dropped_total\{url="http:\/\/127\.0\.0\.1:1\/h"\} 300/);
    assert.match(text, /herald_webhook_requests_failed_total\{url="http:\/\/127\.0\.0\.1:1\/h"\} 20/);
    const drops = lines.filter((line) => String(line.msg).includes('dropp'));
    assert.equal(drops.length, 2);
    assert.equal(drops[1].dropped, 300);
    const failures = lines.filter((line) => String(line.msg).includes('request failed'));
    assert.deepEqual(failures.map((line) => line.attempt), [1, 10, 20]);
  });
});

describe('urlLabel', () => {
  it('keeps scheme, host, port and path; drops credentials and the query string', async () => {
    const { urlLabel } = await import('../../src/webhooks/webhooks.js');
    assert.equal(urlLabel('https://user:pa55@backend.example:8443/hooks?token=abc#x'), 'https://backend.example:8443/hooks');
    assert.equal(urlLabel('http://127.0.0.1:8080/h'), 'http://127.0.0.1:8080/h');
  });
});
