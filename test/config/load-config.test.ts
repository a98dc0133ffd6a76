import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ConfigError, loadConfig, OPTION_DEFINITIONS, type LoadConfigOptions } from '../../src/config/index.js';

let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'herald-config-'));
  mkdirSync(join(dir, 'etc'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

/** Writes `content` (JSON-encoded unless a string) to `name` under the temp folder. */
function writeConfig(name: string, content: unknown): string {
  writeFileSync(join(dir, name), typeof content === 'string' ? content : JSON.stringify(content));
  return name;
}

function load(argv: string[] = [], env: Record<string, string> = {}, extra: LoadConfigOptions = {}) {
  return loadConfig({ argv, env, cwd: dir, ...extra });
}

/** The problems of the ConfigError `run` throws. */
function problems(run: () => unknown): string[] {
  try {
    run();
  } catch (error) {
    assert.ok(error instanceof ConfigError, String(error));
    return [...error.problems];
  }
  assert.fail('expected a ConfigError');
}

describe('loadConfig defaults', () => {
  it('returns every default when no source sets anything', () => {
    const config = load();
    for (const definition of OPTION_DEFINITIONS) {
      assert.deepEqual(config[definition.key], 'default' in definition ? definition.default : undefined, definition.key);
    }
    assert.deepEqual(config.warnings, []);
    assert.deepEqual(config.positionals, []);
    assert.equal(config.configFile, undefined);
  });
  it('returns a frozen object with frozen lists', () => {
    const config = load(['--jwt-secret', 'sekrit', '--jwt-algorithms', 'HS256']);
    assert.ok(Object.isFrozen(config));
    assert.ok(Object.isFrozen(config.jwtAlgorithms));
    assert.throws(() => {
      (config as { wsPort: number }).wsPort = 1;
    }, TypeError);
  });
  it('reads process.argv and process.env when the input omits them', () => {
    const saved = process.env.HERALD_LOG_LEVEL;
    process.env.HERALD_LOG_LEVEL = 'debug';
    try {
      assert.equal(loadConfig({ argv: [] }).logLevel, 'debug');
      assert.equal(loadConfig({ env: {} }).logLevel, 'info');
    } finally {
      if (saved === undefined) delete process.env.HERALD_LOG_LEVEL;
      else process.env.HERALD_LOG_LEVEL = saved;
    }
  });
});

describe('loadConfig precedence', () => {
  it('lets the config file override defaults, the environment the file, and flags the environment', () => {
    const file = writeConfig('precedence.json', { wsPort: 1001, apiPort: 2001, maxBatchItems: 3001 });
    const config = load(
      ['--config', file, '--max-batch-items', '3003'],
      { HERALD_API_PORT: '2002', HERALD_MAX_BATCH_ITEMS: '3002' },
    );
    assert.equal(config.wsHost, '0.0.0.0');
    assert.equal(config.wsPort, 1001);
    assert.equal(config.apiPort, 2002);
    assert.equal(config.maxBatchItems, 3003);
  });
  it('takes the config file from --config over HERALD_CONFIG', () => {
    writeConfig('from-env.json', { wsPort: 1 });
    writeConfig('from-flag.json', { wsPort: 2 });
    const config = load(['--config=from-flag.json'], { HERALD_CONFIG: 'from-env.json' });
    assert.equal(config.wsPort, 2);
    assert.equal(config.configFile, join(dir, 'from-flag.json'));
    assert.equal(load([], { HERALD_CONFIG: 'from-env.json' }).wsPort, 1);
  });
  it('treats an empty environment variable as unset', () => {
    const file = writeConfig('empty-env.json', { wsHost: '10.0.0.1' });
    const config = load(['--config', file], { HERALD_WS_HOST: '', HERALD_WS_PORT: '' });
    assert.equal(config.wsHost, '10.0.0.1');
    assert.equal(config.wsPort, 9992);
  });
});

describe('loadConfig command line', () => {
  it('accepts --flag=value and --flag value', () => {
    const config = load(['--ws-port=1234', '--api-port', '5678', '--heartbeat-timeout', '90s']);
    assert.equal(config.wsPort, 1234);
    assert.equal(config.apiPort, 5678);
    assert.equal(config.heartbeatTimeoutMs, 90_000);
  });
  it('uses the last of repeated flags', () => {
    assert.equal(load(['--ws-port', '1', '--ws-port', '2']).wsPort, 2);
  });
  it('keeps everything after = as the value, including = and a leading --', () => {
    const config = load(['--jwt-secret=--a=b', '--jwt-issuer', '-x']);
    assert.equal(config.jwtSecret, '--a=b');
    assert.equal(config.jwtIssuer, '-x');
  });
  it('reports a flag whose value is missing', () => {
    assert.deepEqual(problems(() => load(['--ws-host', '--ws-port', '1', '--ws-path'])), [
      '--ws-host: missing value',
      '--ws-path: missing value',
    ]);
    assert.deepEqual(problems(() => load(['--config'])), ['--config: missing value']);
  });
  it('reports an unknown flag with a suggestion, and only once when a value follows it', () => {
    assert.deepEqual(problems(() => load(['--ws-prot', '80'])), ['unknown option --ws-prot (did you mean "--ws-port"?)']);
    assert.deepEqual(problems(() => load(['--heartbeat-timeout-ms=5s'])), [
      'unknown option --heartbeat-timeout-ms (did you mean "--heartbeat-timeout"?)',
    ]);
    assert.deepEqual(problems(() => load(['--frobnicate'])), ['unknown option --frobnicate']);
    assert.deepEqual(problems(() => load(['-p', '80'])), ['unknown option -p']);
  });
  it('rejects boolean syntax on options that are not booleans', () => {
    assert.deepEqual(problems(() => load(['--no-ws-port'])), ['unknown option --no-ws-port (did you mean "--ws-port"?)']);
  });
  it('rejects positional arguments unless asked to return them', () => {
    assert.deepEqual(problems(() => load(['serve', '--ws-port', '1', 'extra'])), [
      'unexpected argument "serve"',
      'unexpected argument "extra"',
    ]);
    const config = load(['serve', '--ws-port', '1', '--', '--api-port', '2'], {}, { allowPositionals: true });
    assert.deepEqual(config.positionals, ['serve', '--api-port', '2']);
    assert.equal(config.apiPort, 10068);
    assert.equal(config.wsPort, 1);
  });
  it('treats a lone dash as a positional argument', () => {
    assert.deepEqual(problems(() => load(['-'])), ['unexpected argument "-"']);
  });
});

describe('loadConfig environment', () => {
  it('reads every option from its HERALD_* variable', () => {
    const config = load([], {
      HERALD_WS_PATH: '/socket',
      HERALD_MAX_MESSAGE_BYTES: '1MiB',
      HERALD_CLOSE_TIMEOUT: '0',
      HERALD_LOG_LEVEL: 'WARN',
      HERALD_JWT_JWKS_FILE: 'keys.json',
      HERALD_JWT_ALGORITHMS: 'RS256, ES256',
    });
    assert.equal(config.wsPath, '/socket');
    assert.equal(config.maxMessageBytes, 1048576);
    assert.equal(config.closeTimeoutMs, 0);
    assert.equal(config.logLevel, 'warn');
    assert.deepEqual(config.jwtAlgorithms, ['RS256', 'ES256']);
  });
  it('names the variable and the value in problems', () => {
    assert.deepEqual(problems(() => load([], { HERALD_API_PORT: '70000', HERALD_WS_PORT: 'abc' })), [
      'HERALD_WS_PORT: "abc" is not an integer',
      'HERALD_API_PORT: 70000 is above the maximum 65535',
    ]);
  });
  it('warns about unknown HERALD_* variables, with a suggestion, and ignores others', () => {
    const config = load([], { HERALD_WSPORT: '1', HERALD_SOMETHING_NEW: 'x', PATH: '/bin', HERALD_CONFIG: '' });
    assert.deepEqual(config.warnings, [
      'HERALD_WSPORT is not a Herald option and was ignored (did you mean "HERALD_WS_PORT"?)',
      'HERALD_SOMETHING_NEW is not a Herald option and was ignored',
    ]);
    assert.equal(config.wsPort, 9992);
  });
  it('keeps warnings on the ConfigError when loading fails', () => {
    try {
      load([], { HERALD_WSPORT: '1', HERALD_WS_PORT: 'x' });
      assert.fail('expected a ConfigError');
    } catch (error) {
      assert.ok(error instanceof ConfigError);
      assert.equal(error.warnings.length, 1);
    }
  });
});

describe('loadConfig config file', () => {
  it('reads camelCase keys with JSON values, and sizes and durations with units', () => {
    const file = writeConfig('full.json', {
      wsHost: '::', wsPort: 0, heartbeatTimeoutMs: '2m', handshakeTimeoutMs: 2500, maxPushBytes: '2MiB',
      jwtPublicKeyFile: 'keys/public.pem', jwtAlgorithms: ['ES256'], jwtIssuer: 'https://issuer.example', logLevel: 'trace',
    });
    const config = load(['--config', file]);
    assert.equal(config.wsHost, '::');
    assert.equal(config.wsPort, 0);
    assert.equal(config.heartbeatTimeoutMs, 120_000);
    assert.equal(config.handshakeTimeoutMs, 2500);
    assert.equal(config.maxPushBytes, 2 * 1048576);
    assert.deepEqual(config.jwtAlgorithms, ['ES256']);
    assert.equal(config.logLevel, 'trace');
    assert.equal(config.configFile, join(dir, file));
  });
  it('resolves relative key-file paths against the config file\'s folder, and flag paths against cwd', () => {
    writeConfig('etc/herald.json', { jwtJwksFile: 'jwks.json' });
    assert.equal(load(['--config', 'etc/herald.json']).jwtJwksFile, join(dir, 'etc', 'jwks.json'));
    assert.equal(load(['--jwt-jwks-file', 'jwks.json']).jwtJwksFile, join(dir, 'jwks.json'));
    assert.equal(load([], { HERALD_JWT_PUBLIC_KEY_FILE: '/abs/key.pem' }).jwtPublicKeyFile, '/abs/key.pem');
  });
  it('reports an unknown key with a suggestion', () => {
    const file = writeConfig('typo.json', { wsprot: 1, heartbeatTimeout: 5000, colour: 'red' });
    assert.deepEqual(problems(() => load(['--config', `./${file}`])), [
      'config file ./typo.json: unknown key "wsprot" (did you mean "wsPort"?)',
      'config file ./typo.json: unknown key "heartbeatTimeout" (did you mean "heartbeatTimeoutMs"?)',
      'config file ./typo.json: unknown key "colour"',
    ]);
  });
  it('names the file and the key in value problems', () => {
    const file = writeConfig('values.json', { wsPort: '9992', apiPort: 70000, wsPath: 'ws', maxRequestBytes: '1KB' });
    assert.deepEqual(problems(() => load(['--config', file])), [
      'config file values.json: wsPort: "9992" is not an integer',
      'config file values.json: apiPort: 70000 is above the maximum 65535',
      'config file values.json: wsPath: "ws" must start with "/"',
      'config file values.json: maxRequestBytes: 1KB is below the minimum 1KiB',
    ]);
  });
  it('reports a missing file with the path it looked for', () => {
    assert.deepEqual(problems(() => load(['--config', 'missing.json'])), [
      `config file missing.json: not found (looked for ${join(dir, 'missing.json')})`,
    ]);
  });
  it('reports a folder given as the file', () => {
    assert.deepEqual(problems(() => load([], { HERALD_CONFIG: 'etc' })), [`config file etc: is a directory (${join(dir, 'etc')})`]);
  });
  it('reports malformed JSON', () => {
    const file = writeConfig('broken.json', '{ "wsPort": 9992, }');
    const [problem, ...rest] = problems(() => load(['--config', file]));
    assert.match(problem, /^config file broken\.json: invalid JSON: /);
    assert.deepEqual(rest, []);
  });
  it('requires a JSON object', () => {
    for (const content of ['[]', 'null', '42']) {
      const file = writeConfig('not-object.json', content);
      assert.deepEqual(problems(() => load(['--config', file])), [
        'config file not-object.json: must hold a JSON object of options, e.g. {"wsPort": 9992}',
      ]);
    }
  });
  it('accepts a byte-order mark', () => {
    const file = writeConfig('bom.json', '\uFEFF{"wsPort": 7}');
    assert.equal(load(['--config', file]).wsPort, 7);
  });
});

describe('loadConfig problem reporting', () => {
  it('reports problems from every source together, one per line of the message', () => {
    const file = writeConfig('mixed.json', { wsPort: 'x', unknownKey: 1 });
    let caught: unknown;
    try {
      load(['--config', file, '--api-port', 'y', '--nope', '--log-level', 'loud', 'stray'], {
        HERALD_MAX_PUSH_BYTES: '1TB',
        HERALD_JWT_ISSUER: 'me',
      });
    } catch (error) {
      caught = error;
    }
    assert.ok(caught instanceof ConfigError);
    assert.ok(caught instanceof Error);
    assert.equal(caught.name, 'ConfigError');
    assert.deepEqual(caught.problems, [
      'unknown option --nope',
      'unexpected argument "stray"',
      'config file mixed.json: wsPort: "x" is not an integer',
      'config file mixed.json: unknown key "unknownKey"',
      'HERALD_MAX_PUSH_BYTES: "1TB" is not a size (e.g. 65536, 64KiB, 1MiB)',
      '--api-port: "y" is not an integer',
      '--log-level: "loud" is not one of fatal, error, warn, info, debug, trace, silent',
      'HERALD_JWT_ISSUER: requires a JWT key source (jwtSecret, jwtPublicKeyFile or jwtJwksFile)',
    ]);
    assert.equal(caught.message, caught.problems.join('\n'));
  });
  it('rejects empty values given with =', () => {
    assert.deepEqual(problems(() => load(['--jwt-secret=', '--jwt-algorithms='])), [
      '--jwt-secret: the empty string is not allowed',
      '--jwt-algorithms: the empty list is not allowed',
    ]);
  });
  it('never shows a secret value', () => {
    const all = problems(() => load(['--jwt-secret', 'hunter2', '--auth-url', 'https://auth.example/login']));
    assert.ok(all.every((line) => !line.includes('hunter2')), all.join('\n'));
  });
});
