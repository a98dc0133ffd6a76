/**
 * `null` for the JSON-valued list options (`namespaces`, `webhooks`) means
 * "none", alike from the command line, the environment and the config file.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { ConfigError, loadConfig } from '../../src/config/index.js';

const dir = mkdtempSync(join(tmpdir(), 'herald-null-options-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function configFile(body: object): string {
  const path = join(dir, `config-${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(path, JSON.stringify(body));
  return path;
}

function problems(argv: string[], env: Record<string, string> = {}): string[] {
  try {
    loadConfig({ argv, env });
  } catch (error) {
    assert.ok(error instanceof ConfigError, String(error));
    return [...error.problems];
  }
  assert.fail('expected a ConfigError');
}

describe('null as "none" for namespaces and webhooks', () => {
  for (const [key, flag, env] of [
    ['namespaces', '--namespaces', 'HERALD_NAMESPACES'],
    ['webhooks', '--webhooks', 'HERALD_WEBHOOKS'],
  ] as const) {
    it(`${flag} null, ${env}=null and "${key}": null in the config file give no ${key}`, () => {
      const fromFlag = loadConfig({ argv: [flag, 'null'], env: {} });
      const fromEnv = loadConfig({ argv: [], env: { [env]: 'null' } });
      const fromFile = loadConfig({ argv: ['--config', configFile({ [key]: null })], env: {} });
      for (const config of [fromFlag, fromEnv, fromFile]) {
        const value = config[key] as { size?: number; length?: number } | undefined;
        // Namespaces.NONE has size 0; no webhooks is the empty list.
        assert.equal(key === 'namespaces' ? value?.size : value?.length, 0, `${key}: ${JSON.stringify(value)}`);
      }
    });
  }

  it('a null webhooks value still lets other webhook settings load, and a wrong type is still refused', () => {
    const config = loadConfig({ argv: ['--webhooks', 'null', '--webhook-batch-size', '5'], env: {} });
    assert.deepEqual(config.webhooks, []);
    assert.equal(config.webhookBatchSize, 5);
    assert.deepEqual(problems(['--webhooks', '{}']), ['--webhooks: webhooks: must be an array of {"url", "secret", "events"?}']);
    assert.deepEqual(problems(['--webhooks', '"none"']), ['--webhooks: webhooks: must be an array of {"url", "secret", "events"?}']);
  });
});
