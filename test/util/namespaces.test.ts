import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { NamespaceError, Namespaces, matchTopicGlob } from '../../src/util/namespaces.js';
import { matchGlob } from '../../src/util/glob.js';
import { loadConfig } from '../../src/config/index.js';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

function parseError(value: unknown): string {
  try {
    Namespaces.parse(value);
  } catch (error) {
    assert.ok(error instanceof NamespaceError);
    return error.message;
  }
  assert.fail('expected a NamespaceError');
}

describe('namespaces: parsing', () => {
  it('fills the defaults and converts durations', () => {
    const [a, b] = Namespaces.parse([
      { topics: 'order:*', subscribe: 'token', historySize: 5, historyTtl: '90s', maxSubscribers: 2, publish: true },
      { topics: 'ticker' },
    ]).list;
    assert.deepEqual(a, {
      index: 0, topics: 'order:*', subscribe: 'token', historySize: 5, historyTtlMs: 90_000,
      joinLeave: true, presence: true, maxSubscribers: 2, publish: true,
    });
    assert.deepEqual(b, {
      index: 1, topics: 'ticker', subscribe: 'anyone', historySize: undefined, historyTtlMs: undefined,
      joinLeave: true, presence: true, maxSubscribers: undefined, publish: false,
    });
    assert.equal(Namespaces.parse([{ topics: 'x', historyTtl: 1500 }]).list[0].historyTtlMs, 1500);
    assert.equal(Namespaces.parse([{ topics: 'x', historyTtl: '5m' }]).list[0].historyTtlMs, 300_000);
    assert.equal(Namespaces.parse(undefined).size, 0);
  });

  it('names the bad field in every error', () => {
    assert.equal(parseError({}), 'namespaces: must be an array of {"topics": "<glob>", …} objects');
    assert.match(parseError(['x']), /^namespaces\[0\]: must be an object/);
    assert.match(parseError([{ topics: 'a' }, {}]), /^namespaces\[1\]\.topics: must be a non-empty glob/);
    assert.match(parseError([{ topics: '' }]), /^namespaces\[0\]\.topics:/);
    assert.equal(
      parseError([{ topics: 'a' }, { topics: 'b', subscribe: 'everyone' }]),
      'namespaces[1].subscribe: must be one of anyone, login, token, proxy',
    );
    assert.match(parseError([{ topics: 'a', historySize: -1 }]), /^namespaces\[0\]\.historySize: must be an integer >= 0/);
    assert.match(parseError([{ topics: 'a', historySize: 1.5 }]), /^namespaces\[0\]\.historySize:/);
    assert.match(parseError([{ topics: 'a', maxSubscribers: 0 }]), /^namespaces\[0\]\.maxSubscribers: must be an integer >= 1/);
    assert.match(parseError([{ topics: 'a', historyTtl: '5 parsecs' }]), /^namespaces\[0\]\.historyTtl: must be a duration/);
    assert.match(parseError([{ topics: 'a', historyTtl: 0 }]), /^namespaces\[0\]\.historyTtl:/);
    // At least 1 s, as --history-ttl: the memory engine's sweep walks every stream once per shortest TTL.
    assert.match(parseError([{ topics: 'a', historyTtl: 999 }]), /^namespaces\[0\]\.historyTtl: must be a duration from 1000ms/);
    assert.match(parseError([{ topics: 'a', historyTtl: '10ms' }]), /^namespaces\[0\]\.historyTtl:/);
    assert.equal(Namespaces.parse([{ topics: 'x', historyTtl: '1s' }]).list[0].historyTtlMs, 1000);
    assert.match(parseError([{ topics: 'a', joinLeave: 'no' }]), /^namespaces\[0\]\.joinLeave: must be true or false/);
    assert.match(parseError([{ topics: 'a', presence: 1 }]), /^namespaces\[0\]\.presence:/);
    assert.match(parseError([{ topics: 'a', publish: null }]), /^namespaces\[0\]\.publish:/);
    assert.match(parseError([{ topics: 'a', subscribers: 3 }]), /^namespaces\[0\]\.subscribers: unknown field/);
  });

  it('is read from the config file, and a bad value is a config error naming the field', () => {
    const dir = mkdtempSync(join(tmpdir(), 'herald-ns-'));
    const good = join(dir, 'good.json');
    writeFileSync(good, JSON.stringify({ jwtSecret: 'a-development-secret-of-32-bytes!', namespaces: [{ topics: 'order:*', subscribe: 'token' }] }));
    const loaded = loadConfig({ argv: ['--config', good], env: {}, cwd: dir });
    assert.equal(loaded.namespaces?.namespaceOf('order:1')?.subscribe, 'token');
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, JSON.stringify({ namespaces: [{ topics: 'a' }, { topics: 'b', subscribe: 'all' }] }));
    assert.throws(
      () => loadConfig({ argv: ['--config', bad], env: {}, cwd: dir }),
      (error: Error) => error.message.includes('namespaces[1].subscribe: must be one of anyone, login, token, proxy'),
    );
    const fromEnv = loadConfig({ argv: [], env: { HERALD_NAMESPACES: '[{"topics":"chat:*","publish":true}]' }, cwd: dir });
    assert.equal(fromEnv.namespaces?.namespaceOf('chat:x')?.publish, true);
    assert.throws(() => loadConfig({ argv: [], env: { HERALD_NAMESPACES: '[{' }, cwd: dir }), /HERALD_NAMESPACES/);
  });

  it('refuses a "subscribe": "token" namespace without a JWT key source to verify its tokens', () => {
    const namespaces = '[{"topics":"pub:*"},{"topics":"order:*","subscribe":"token"}]';
    assert.throws(
      () => loadConfig({ argv: ['--namespaces', namespaces], env: {}, cwd: '/' }),
      (error: Error) =>
        error.message.includes('--namespaces: namespaces[1] ("order:*") has "subscribe": "token" but no JWT key source (jwtSecret, jwtPublicKeyFile or jwtJwksFile) is set'),
    );
    // A login by --auth-url cannot verify subscription tokens either.
    assert.throws(() => loadConfig({ argv: ['--namespaces', namespaces, '--auth-url', 'http://127.0.0.1:1/auth'], env: {}, cwd: '/' }), /"subscribe": "token"/);
    const config = loadConfig({ argv: ['--namespaces', namespaces], env: { HERALD_JWT_SECRET: 'a-development-secret-of-32-bytes!' }, cwd: '/' });
    assert.equal(config.namespaces?.namespaceOf('order:1')?.subscribe, 'token');
  });
});

describe('namespaces: matching', () => {
  const namespaces = Namespaces.parse([
    { topics: 'order:vip:*', subscribe: 'proxy' },
    { topics: 'order:*', subscribe: 'token' },
    { topics: 'room:??', subscribe: 'login' },
    { topics: 'exact' },
  ]);

  it('takes the first namespace that matches, and none for others', () => {
    assert.equal(namespaces.namespaceOf('order:vip:1')?.index, 0);
    assert.equal(namespaces.namespaceOf('order:1')?.index, 1);
    assert.equal(namespaces.namespaceOf('order:')?.index, 1);
    assert.equal(namespaces.namespaceOf('room:ab')?.index, 2);
    assert.equal(namespaces.namespaceOf('room:abc'), undefined);
    assert.equal(namespaces.namespaceOf('room:a'), undefined);
    assert.equal(namespaces.namespaceOf('exact')?.index, 3);
    assert.equal(namespaces.namespaceOf('exactly'), undefined);
    assert.equal(namespaces.namespaceOf('Order:1'), undefined, 'case-sensitive');
    // Asked again: the cached answer, the same.
    assert.equal(namespaces.namespaceOf('order:1')?.index, 1);
    assert.equal(namespaces.namespaceOf('room:abc'), undefined);
  });

  it('lets ? take one whole character, outside the BMP too', () => {
    assert.equal(namespaces.namespaceOf('room:😀!')?.index, 2);
    assert.equal(namespaces.namespaceOf('room:😀'), undefined);
    assert.ok(matchTopicGlob('a?c', 'a😀c'));
    assert.ok(matchTopicGlob('*.[x]', 'foo.[x]'), 'brackets are literal');
    assert.ok(!matchTopicGlob('a.c', 'abc'), 'a dot is literal');
  });

  it('stays linear on globs with many stars', () => {
    const glob = `${'a*'.repeat(40)}b`;
    const text = 'a'.repeat(5000);
    assert.equal(matchTopicGlob(glob, text), false);
    // The server API's channel patterns keep ? literal.
    assert.equal(matchGlob('a?', 'ab'), false);
    assert.equal(matchGlob('a?', 'a?'), true);
  });

  it('gives the engines history limits only when a namespace sets them', () => {
    assert.equal(namespaces.historyLimits(), undefined);
    const limited = Namespaces.parse([{ topics: 'h:*', historySize: 3 }, { topics: '*' }]);
    const historyFor = limited.historyLimits()!;
    assert.equal(historyFor('h:1')?.historySize, 3);
    assert.equal(historyFor('h:1')?.historyTtlMs, undefined);
    assert.equal(historyFor('other'), undefined);
  });
});
