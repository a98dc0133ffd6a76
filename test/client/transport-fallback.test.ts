/**
 * The fallback's pure parts: the `fallback` option's checks and defaults, the
 * stream URL derived from the WebSocket URL, and when to fall back and to
 * try WebSocket again (transport-fallback.ts).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FALLBACK_DEFAULTS, TransportFallback, resolveFallbackOptions, streamUrlOf } from '../../src/client/transport-fallback.js';
import type { FetchLike } from '../../src/client/types.js';

const fakeFetch: FetchLike = () => Promise.reject(new Error('unused'));

describe('fallback options', () => {
  it('derives the stream URL from the WebSocket URL: same host and port, http(s), /v1/stream', () => {
    assert.equal(streamUrlOf('ws://127.0.0.1:9992/ws'), 'http://127.0.0.1:9992/v1/stream');
    assert.equal(streamUrlOf('WSS://push.example.com/deep/path?x=1'), 'https://push.example.com/v1/stream');
    assert.equal(streamUrlOf('wss://[::1]:443'), 'https://[::1]:443/v1/stream');
    assert.equal(streamUrlOf('http://example.com/ws'), undefined);
  });

  it('applies the defaults, and is off for false, for gpush, and without any fetch', () => {
    const resolved = resolveFallbackOptions({ fetch: fakeFetch }, 'ws://h/ws', true);
    assert.deepEqual({ ...resolved, fetch: undefined }, {
      afterFailures: FALLBACK_DEFAULTS.afterFailures,
      url: 'http://h/v1/stream',
      retryWebSocketMs: 60_000,
      retryWebSocketMaxMs: 600_000,
      fetch: undefined,
    });
    assert.equal(FALLBACK_DEFAULTS.afterFailures, 3);
    assert.equal(resolveFallbackOptions(false, 'ws://h/ws', true), undefined);
    assert.equal(resolveFallbackOptions({ fetch: fakeFetch }, 'ws://h/ws', false), undefined);
    assert.equal(resolveFallbackOptions({ url: 'https://other/v1/stream', fetch: fakeFetch }, 'ws://h/ws', true)?.url, 'https://other/v1/stream');
  });

  it('refuses misuse with TypeError/RangeError', () => {
    assert.throws(() => resolveFallbackOptions('yes' as never, 'ws://h/ws', true), TypeError);
    assert.throws(() => resolveFallbackOptions({ afterFailures: 0 }, 'ws://h/ws', true), RangeError);
    assert.throws(() => resolveFallbackOptions({ retryWebSocketMs: Infinity }, 'ws://h/ws', true), TypeError);
    assert.throws(() => resolveFallbackOptions({ url: 'ws://h/v1/stream' }, 'ws://h/ws', true), TypeError);
    assert.throws(() => resolveFallbackOptions({ fetch: 'x' as never }, 'ws://h/ws', true), TypeError);
    // afterFailures: Infinity never falls back.
    assert.equal(resolveFallbackOptions({ afterFailures: Infinity, fetch: fakeFetch }, 'ws://h/ws', true)?.afterFailures, Infinity);
  });
});

describe('TransportFallback', () => {
  const options = (afterFailures: number) => resolveFallbackOptions({ afterFailures, retryWebSocketMs: 100, retryWebSocketMaxMs: 350, fetch: fakeFetch }, 'ws://h/ws', true);

  it('falls back at the Nth failed upgrade in a row; an upgrade that opens restarts the count', () => {
    const fallback = new TransportFallback(options(3));
    assert.equal(fallback.upgradeFailed(), false);
    assert.equal(fallback.upgradeFailed(), false);
    fallback.restartCounts();
    assert.equal(fallback.upgradeFailed(), false);
    assert.equal(fallback.upgradeFailed(), false);
    assert.equal(fallback.upgradeFailed(), true);
  });

  it('never falls back when off', () => {
    const fallback = new TransportFallback(undefined);
    for (let i = 0; i < 10; i++) assert.equal(fallback.upgradeFailed(), false);
  });

  it('waits longer after each failed WebSocket try, up to the maximum, and afresh after an upgrade', () => {
    const fallback = new TransportFallback(options(1));
    const delays: number[] = [];
    for (let i = 0; i < 4; i++) {
      delays.push(fallback.nextTryDelay());
      fallback.tryFailed();
    }
    assert.deepEqual(delays, [100, 200, 350, 350]);
    fallback.restartCounts();
    assert.equal(fallback.nextTryDelay(), 100);
  });
});
