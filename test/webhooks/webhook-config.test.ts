import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { ConfigError, loadConfig } from '../../src/config/index.js';
import { parseWebhookTargets, WEBHOOK_EVENT_TYPES } from '../../src/webhooks/events.js';

describe('the webhooks config key', () => {
  const dir = mkdtempSync(join(tmpdir(), 'herald-webhooks-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const load = (json: unknown, argv: string[] = []) => {
    const file = join(dir, `c${Math.random().toString(36).slice(2)}.json`);
    writeFileSync(file, JSON.stringify(json));
    return loadConfig({ argv: ['--config', file, ...argv], env: {} });
  };
  const problem = (json: unknown): string => {
    try {
      load(json);
    } catch (error) {
      assert.ok(error instanceof ConfigError, String(error));
      return error.message;
    }
    assert.fail('expected a ConfigError');
  };

  it('reads targets with their events (default all) and the --webhook-* settings', () => {
    const config = load(
      { webhooks: [{ url: 'https://backend.example/hooks', secret: 's1' }, { url: 'http://127.0.0.1:8080/h', secret: 's2', events: ['channel_occupied', 'channel_vacated'] }], webhookBatchWaitMs: '250ms' },
      ['--webhook-batch-size', '10', '--webhook-retry-max', '5s'],
    );
    assert.equal(config.webhooks?.length, 2);
    assert.equal(config.webhooks?.[0].url, 'https://backend.example/hooks');
    assert.deepEqual([...(config.webhooks?.[0].events ?? [])], [...WEBHOOK_EVENT_TYPES]);
    assert.deepEqual([...(config.webhooks?.[1].events ?? [])], ['channel_occupied', 'channel_vacated']);
    assert.equal(config.webhookBatchSize, 10);
    assert.equal(config.webhookBatchWaitMs, 250);
    assert.equal(config.webhookRetryMaxMs, 5_000);
    assert.equal(config.webhookTimeoutMs, 5_000);
  });

  it('names the bad field, and never echoes a secret', () => {
    assert.match(problem({ webhooks: [{ url: 'ftp://x', secret: 'hidden-1' }] }), /webhooks\[0\]\.url: must be http:\/\/ or https:\/\//);
    assert.match(problem({ webhooks: [{ url: 'not a url', secret: 's' }] }), /webhooks\[0\]\.url: not a URL/);
    assert.match(problem({ webhooks: [{ url: 'http://a', secret: 's' }, { url: 'http://b', secret: '' }] }), /webhooks\[1\]\.secret: must be a non-empty string/);
    assert.match(problem({ webhooks: [{ url: 'http://a', secret: 's', events: ['connect', 'joined'] }] }), /webhooks\[0\]\.events\[1\]: unknown event "joined"/);
    assert.match(problem({ webhooks: [{ url: 'http://a', secret: 's', events: [] }] }), /webhooks\[0\]\.events: must be a non-empty array/);
    assert.match(problem({ webhooks: [{ url: 'http://a', secret: 's', secrets: 'x' }] }), /webhooks\[0\]\.secrets: unknown field/);
    assert.match(problem({ webhooks: { url: 'http://a' } }), /webhooks: must be an array/);
    assert.match(problem({ webhooks: ['http://a'] }), /webhooks\[0\]: must be an object/);
    const message = problem({ webhooks: [{ url: 42, secret: 'hidden-2' }] });
    assert.match(message, /webhooks\[0\]\.url: must be a string/);
    assert.doesNotMatch(message, /hidden-2/);
  });

  it('also takes JSON text from HERALD_WEBHOOKS', () => {
    const config = loadConfig({ argv: [], env: { HERALD_WEBHOOKS: '[{"url":"http://127.0.0.1:1/h","secret":"s"}]' } });
    assert.equal(config.webhooks?.[0].url, 'http://127.0.0.1:1/h');
    assert.throws(() => loadConfig({ argv: [], env: { HERALD_WEBHOOKS: '[{' } }), /HERALD_WEBHOOKS: \(secret\) is not JSON/);
  });

  it('parseWebhookTargets accepts an empty list (no webhooks)', () => {
    assert.deepEqual(parseWebhookTargets([]), []);
  });
});
