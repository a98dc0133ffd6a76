import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, loadConfig } from '../../src/config/index.js';

function load(argv: string[], env: Record<string, string> = {}) {
  return loadConfig({ argv, env, cwd: '/srv' });
}

function problems(argv: string[], env: Record<string, string> = {}): string[] {
  try {
    load(argv, env);
  } catch (error) {
    assert.ok(error instanceof ConfigError, String(error));
    return [...error.problems];
  }
  return [];
}

const KEY_SOURCES = '(jwtSecret, jwtPublicKeyFile or jwtJwksFile)';

describe('JWT key sources', () => {
  it('accepts each key source alone', () => {
    assert.deepEqual(problems(['--jwt-secret', 's']), []);
    assert.deepEqual(problems(['--jwt-public-key-file', 'k.pem']), []);
    assert.deepEqual(problems(['--jwt-jwks-file', 'jwks.json', '--jwt-issuer', 'i', '--jwt-audience', 'a']), []);
  });
  it('rejects two or three key sources, naming where each was set', () => {
    assert.deepEqual(problems(['--jwt-public-key-file', 'k.pem'], { HERALD_JWT_SECRET: 's' }), [
      `HERALD_JWT_SECRET and --jwt-public-key-file: configure at most one JWT key source ${KEY_SOURCES}`,
    ]);
    assert.deepEqual(problems(['--jwt-secret=s', '--jwt-public-key-file=k', '--jwt-jwks-file=j']), [
      `--jwt-secret, --jwt-public-key-file and --jwt-jwks-file: configure at most one JWT key source ${KEY_SOURCES}`,
    ]);
  });
});

describe('login method', () => {
  it('accepts an auth URL alone', () => {
    const config = load(['--auth-url', 'https://backend.example/login', '--auth-timeout', '1s']);
    assert.equal(config.authUrl, 'https://backend.example/login');
    assert.equal(config.authTimeoutMs, 1000);
  });
  it('requires an http or https URL', () => {
    assert.deepEqual(problems(['--auth-url', 'backend/login']), ['--auth-url: "backend/login" is not a URL']);
    assert.deepEqual(problems(['--auth-url', 'ftp://backend']), ['--auth-url: "ftp://backend" must be an http: or https: URL']);
  });
  it('rejects JWT options together with an auth URL', () => {
    assert.deepEqual(problems(['--jwt-secret', 's', '--auth-url', 'http://a.example']), [
      '--jwt-secret and --auth-url: configure one login method: JWT or auth URL',
    ]);
  });
  it('reports JWT claim options beside an auth URL as a login-method conflict only', () => {
    assert.deepEqual(problems(['--jwt-issuer', 'i'], { HERALD_AUTH_URL: 'http://a.example' }), [
      '--jwt-issuer and HERALD_AUTH_URL: configure one login method: JWT or auth URL',
    ]);
  });
});

describe('JWT claim options', () => {
  it('rejects algorithms, issuer or audience without a key source', () => {
    assert.deepEqual(problems(['--jwt-issuer', 'i']), [`--jwt-issuer: requires a JWT key source ${KEY_SOURCES}`]);
    assert.deepEqual(problems(['--jwt-audience', 'a'], { HERALD_JWT_ALGORITHMS: 'RS256' }), [
      `HERALD_JWT_ALGORITHMS and --jwt-audience: requires a JWT key source ${KEY_SOURCES}`,
    ]);
  });
  it('rejects algorithms the key cannot verify', () => {
    assert.deepEqual(problems(['--jwt-secret', 's', '--jwt-algorithms', 'HS256,RS256,ES256']), [
      '--jwt-algorithms and --jwt-secret: RS256, ES256 cannot be verified with jwtSecret; '
        + 'they need a public key (jwtPublicKeyFile or jwtJwksFile)',
    ]);
    assert.deepEqual(problems(['--jwt-public-key-file', 'k.pem', '--jwt-algorithms', 'HS256']), [
      '--jwt-algorithms and --jwt-public-key-file: HS256 cannot be verified with jwtPublicKeyFile; '
        + 'it needs a shared secret (jwtSecret)',
    ]);
  });
  it('accepts algorithms matching the key', () => {
    assert.deepEqual(problems(['--jwt-secret', 's', '--jwt-algorithms', 'HS256,HS512']), []);
    assert.deepEqual(problems(['--jwt-public-key-file', 'k.pem', '--jwt-algorithms', 'RS256,PS256,ES256,EdDSA']), []);
    assert.deepEqual(problems(['--jwt-jwks-file', 'j.json', '--jwt-algorithms', 'HS256,RS256']), []);
  });
});

describe('push API exposure', () => {
  it('refuses a non-loopback push API without a token', () => {
    const found = problems(['--api-host', '0.0.0.0']);
    assert.equal(found.length, 1);
    assert.match(found[0], /^--api-host: the push API would listen on a non-loopback address without a token/);
    assert.match(problems(['--grpc-host', '10.1.2.3'])[0], /^--grpc-host: /);
  });
  it('allows it with a token or with --insecure-push-api, and always on loopback', () => {
    assert.deepEqual(problems(['--api-host', '0.0.0.0', '--push-tokens', 'abcdefghijklmnopqrstuvwxyz']), []);
    assert.deepEqual(problems(['--api-host', '0.0.0.0', '--grpc-host', '::', '--insecure-push-api']), []);
    assert.deepEqual(problems(['--api-host', '127.0.0.5', '--grpc-host', 'localhost']), []);
    assert.deepEqual(problems(['--api-host', '::1']), []);
  });
  it('rejects push tokens shorter than 16 characters', () => {
    assert.equal(problems(['--push-tokens', 'short,abcdefghijklmnopqrstuvwxyz']).length, 1);
  });
});

describe('listener ports', () => {
  it('rejects the gRPC port colliding with another listener', () => {
    assert.equal(problems(['--grpc-port', '10068']).length, 1);
  });
  it('rejects the same non-zero port on the same host', () => {
    assert.deepEqual(problems(['--ws-host', '127.0.0.1', '--ws-port', '8080', '--api-port', '8080']), [
      '--ws-port and --api-port: the WebSocket and HTTP listeners cannot share port 8080 '
        + '(hosts 127.0.0.1 and 127.0.0.1 overlap)',
    ]);
  });
  it('rejects the same port when either host is a wildcard, naming defaults as such', () => {
    assert.deepEqual(problems(['--api-port', '9992']), [
      'wsPort (default) and --api-port: the WebSocket and HTTP listeners cannot share port 9992 '
        + '(hosts 0.0.0.0 and 127.0.0.1 overlap)',
    ]);
    assert.equal(problems(['--ws-host', '::1', '--api-host', '::', '--api-port', '9992', '--insecure-push-api']).length, 1);
  });
  it('accepts port 0 on both, and the same port on distinct specific hosts', () => {
    assert.deepEqual(problems(['--ws-port', '0', '--api-port', '0']), []);
    assert.deepEqual(problems(['--ws-host', '10.0.0.1', '--api-host', '127.0.0.1', '--api-port', '9992']), []);
  });
  it('skips the rule when a port was invalid, instead of reporting a follow-on conflict', () => {
    assert.deepEqual(problems(['--ws-port', 'abc', '--api-port', '9992']), ['--ws-port: "abc" is not an integer']);
  });
});

describe('transport', () => {
  it('accepts auto, raw and net, and rejects raw with TLS (TLS runs on tls sockets)', () => {
    for (const mode of ['auto', 'raw', 'net']) assert.equal(load(['--transport', mode]).transport, mode);
    assert.deepEqual(problems(['--transport', 'net', '--tls-cert-file', 'c.pem', '--tls-key-file', 'k.pem']), []);
    assert.deepEqual(problems(['--transport', 'raw', '--tls-cert-file', 'c.pem', '--tls-key-file', 'k.pem']), [
      '--tls-cert-file and --transport: TLS connections run on tls sockets, not raw TCP handles; use --transport auto or net with TLS',
    ]);
  });
});
