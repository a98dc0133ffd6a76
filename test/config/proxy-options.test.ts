import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, loadConfig } from '../../src/config/index.js';

function problems(argv: string[]): string[] {
  try {
    loadConfig({ argv, env: {} });
  } catch (error) {
    assert.ok(error instanceof ConfigError, String(error));
    return [...error.problems];
  }
  assert.fail('expected a ConfigError');
}

describe('proxy options', () => {
  it('read URLs, durations, limits and header names from flags and the environment', () => {
    const config = loadConfig({
      argv: [
        '--subscribe-proxy-url', 'grpc://backend:9000',
        '--subscribe-proxy-timeout', '500ms',
        '--subscribe-proxy-concurrency', '8',
        '--subscribe-proxy-queue', '0',
        '--subscribe-proxy-cache', '30s',
        '--connect-proxy-headers', 'cookie,X-Tenant',
      ],
      env: { HERALD_CONNECT_PROXY_URL: 'https://backend/herald/connect', HERALD_CONNECT_PROXY_TIMEOUT: '1s' },
    });
    assert.equal(config.subscribeProxyUrl, 'grpc://backend:9000');
    assert.equal(config.subscribeProxyTimeoutMs, 500);
    assert.equal(config.subscribeProxyConcurrency, 8);
    assert.equal(config.subscribeProxyQueue, 0);
    assert.equal(config.subscribeProxyCacheMs, 30_000);
    assert.equal(config.connectProxyUrl, 'https://backend/herald/connect');
    assert.equal(config.connectProxyTimeoutMs, 1000);
    assert.deepEqual(config.connectProxyHeaders, ['cookie', 'X-Tenant']);
  });

  it('refuse a URL of another scheme, a gRPC URL without a port and a bad header name, naming the option', () => {
    assert.deepEqual(
      problems(['--subscribe-proxy-url', 'ftp://x/', '--connect-proxy-url', 'grpc://backend', '--connect-proxy-headers', 'cookie,bad header']),
      [
        '--subscribe-proxy-url: "ftp://x/" must be an http:, https:, grpc: or grpcs: URL',
        '--connect-proxy-url: "grpc://backend" must name host and port: grpc://host:port',
        '--connect-proxy-headers: cookie,bad header has "bad header", not an HTTP header name',
      ],
    );
    assert.deepEqual(problems(['--subscribe-proxy-concurrency', '0']), ['--subscribe-proxy-concurrency: 0 is below the minimum 1']);
  });

  it('refuse a "proxy" namespace without --subscribe-proxy-url, and accept it with one', () => {
    const namespaces = JSON.stringify([{ topics: 'news:*' }, { topics: 'order:*', subscribe: 'proxy' }]);
    assert.deepEqual(problems(['--namespaces', namespaces]), [
      '--namespaces: namespaces[1] ("order:*") has "subscribe": "proxy" but --subscribe-proxy-url is not set',
    ]);
    const config = loadConfig({ argv: ['--namespaces', namespaces, '--subscribe-proxy-url', 'http://backend/check'], env: {} });
    assert.equal(config.subscribeProxyUrl, 'http://backend/check');
  });
});
