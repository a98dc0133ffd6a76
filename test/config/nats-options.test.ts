import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, loadConfig } from '../../src/config/index.js';
import { natsServers } from '../../src/engine/nats-subjects.js';

function problems(argv: string[], env: Record<string, string> = {}): string[] {
  try {
    loadConfig({ argv, env, cwd: process.cwd() });
  } catch (error) {
    assert.ok(error instanceof ConfigError, String(error));
    return [...error.problems];
  }
  assert.fail('expected a ConfigError');
}

describe('NATS engine options', () => {
  it('reads --engine nats, seed URLs and the prefix from flags and environment', () => {
    const config = loadConfig({ argv: ['--engine', 'nats', '--nats-url', 'nats://a:4222, nats://b:4222'], env: { HERALD_NATS_PREFIX: 'prod-1' }, cwd: process.cwd() });
    assert.equal(config.engine, 'nats');
    assert.deepEqual(natsServers(config.natsUrl), ['nats://a:4222', 'nats://b:4222']);
    assert.equal(config.natsPrefix, 'prod-1');
    assert.equal(loadConfig({ argv: [], env: { HERALD_NATS_URL: 'nats://c:1' }, cwd: process.cwd() }).natsUrl, 'nats://c:1');
  });

  it('refuses a prefix that is not one safe subject token, and a URL list with no URL', () => {
    for (const prefix of ['a.b', 'a*', 'a b', '>']) {
      const found = problems(['--nats-prefix', prefix]);
      assert.equal(found.length, 1, found.join('\n'));
      assert.match(found[0], /--nats-prefix/);
    }
    assert.match(problems(['--nats-url', ' , '])[0], /--nats-url: .*must list at least one/);
  });
});
