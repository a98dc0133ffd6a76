/**
 * Unit tests of the admission rules in src/gateway/connection-limits.ts, with
 * an injected clock (`admit(ip, current, now)`): the total cap (503), the
 * per-IP cap and release (429), the per-IP token bucket (refill, burst cap),
 * the sweep that forgets quiet addresses, and the Origin allow-list.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConnectionLimiter, OriginPolicy } from '../../src/gateway/connection-limits.js';
import { HandshakeError } from '../../src/protocol/errors.js';

/** The refusal's status and code, or 'ok' when admitted. */
function outcome(refusal: HandshakeError | undefined): string {
  return refusal === undefined ? 'ok' : `${refusal.status} ${refusal.code}`;
}

describe('ConnectionLimiter: total connections', () => {
  it('admits while current < maxConnections; at the limit → 503 TOO_MANY_CONNECTIONS with Retry-After', () => {
    const limiter = new ConnectionLimiter({ maxConnections: 3 });
    assert.equal(limiter.admit('10.0.0.1', 0, 0), undefined);
    assert.equal(limiter.admit('10.0.0.1', 2, 0), undefined);
    const refusal = limiter.admit('10.0.0.1', 3, 0);
    assert.ok(refusal instanceof HandshakeError);
    assert.equal(outcome(refusal), '503 TOO_MANY_CONNECTIONS');
    assert.ok(Number(refusal.headers['Retry-After']) >= 1);
    assert.equal(outcome(limiter.admit(undefined, 4, 0)), '503 TOO_MANY_CONNECTIONS');
  });

  it('without per-IP options nothing is tracked per address', () => {
    const limiter = new ConnectionLimiter({ maxConnections: 10 });
    assert.equal(limiter.tracksIps, false);
    for (let i = 0; i < 5; i++) assert.equal(limiter.admit('10.0.0.1', i, 0), undefined);
    assert.equal(limiter.trackedIps, 0);
  });

  it('no options: everything is admitted', () => {
    const limiter = new ConnectionLimiter({});
    for (let i = 0; i < 1000; i++) assert.equal(limiter.admit('10.0.0.1', i, 0), undefined);
  });

  it('a 503 takes no per-IP slot and no token from the address', () => {
    const limiter = new ConnectionLimiter({ maxConnections: 1, maxConnectionsPerIp: 1, newConnectionsPerSecondPerIp: 1 });
    for (let i = 0; i < 5; i++) assert.equal(outcome(limiter.admit('10.0.0.1', 1, 0)), '503 TOO_MANY_CONNECTIONS');
    assert.equal(limiter.admit('10.0.0.1', 0, 0), undefined);
  });
});

describe('ConnectionLimiter: connections per IP', () => {
  it('the third from one address → 429 TOO_MANY_CONNECTIONS_FROM_IP; another address is unaffected', () => {
    const limiter = new ConnectionLimiter({ maxConnectionsPerIp: 2 });
    assert.equal(limiter.tracksIps, true);
    assert.equal(limiter.admit('10.0.0.2', 0, 0), undefined);
    assert.equal(limiter.admit('10.0.0.2', 1, 0), undefined);
    assert.equal(outcome(limiter.admit('10.0.0.2', 2, 0)), '429 TOO_MANY_CONNECTIONS_FROM_IP');
    assert.equal(limiter.admit('10.0.0.3', 2, 0), undefined);
  });

  it('release frees a slot for that address only', () => {
    const limiter = new ConnectionLimiter({ maxConnectionsPerIp: 2 });
    limiter.admit('a', 0, 0);
    limiter.admit('a', 1, 0);
    limiter.admit('b', 2, 0);
    limiter.admit('b', 3, 0);
    limiter.release('a');
    assert.equal(limiter.admit('a', 3, 0), undefined);
    assert.equal(outcome(limiter.admit('a', 4, 0)), '429 TOO_MANY_CONNECTIONS_FROM_IP');
    assert.equal(outcome(limiter.admit('b', 4, 0)), '429 TOO_MANY_CONNECTIONS_FROM_IP');
  });

  it('extra releases, unknown addresses and undefined are harmless (the count never goes below zero)', () => {
    const limiter = new ConnectionLimiter({ maxConnectionsPerIp: 2 });
    limiter.release(undefined);
    limiter.release('never-seen');
    limiter.admit('a', 0, 0);
    limiter.release('a');
    limiter.release('a');
    limiter.release('a');
    assert.equal(limiter.admit('a', 0, 0), undefined);
    assert.equal(limiter.admit('a', 1, 0), undefined);
    assert.equal(outcome(limiter.admit('a', 2, 0)), '429 TOO_MANY_CONNECTIONS_FROM_IP');
  });

  it('a connection without a known address (undefined) is only subject to the total cap', () => {
    const limiter = new ConnectionLimiter({ maxConnectionsPerIp: 1, newConnectionsPerSecondPerIp: 1 });
    for (let i = 0; i < 5; i++) assert.equal(limiter.admit(undefined, i, 0), undefined);
    assert.equal(limiter.trackedIps, 0);
  });
});

describe('ConnectionLimiter: new connections per second per IP (token bucket)', () => {
  it('a full bucket admits a burst of `rate`, then 429 CONNECTING_TOO_FAST with Retry-After', () => {
    const limiter = new ConnectionLimiter({ newConnectionsPerSecondPerIp: 3 });
    const results = Array.from({ length: 6 }, () => outcome(limiter.admit('10.0.0.4', 0, 1000)));
    assert.deepEqual(results, ['ok', 'ok', 'ok', '429 CONNECTING_TOO_FAST', '429 CONNECTING_TOO_FAST', '429 CONNECTING_TOO_FAST']);
    const refusal = limiter.admit('10.0.0.4', 0, 1000);
    assert.ok(Number(refusal?.headers['Retry-After']) >= 1);
    assert.equal(limiter.admit('10.0.0.5', 0, 1000), undefined, 'another address has its own bucket');
  });

  it('tokens refill at `rate` per second: one more after 1/rate s, not before', () => {
    const limiter = new ConnectionLimiter({ newConnectionsPerSecondPerIp: 4 });
    for (let i = 0; i < 4; i++) assert.equal(limiter.admit('ip', 0, 0), undefined);
    assert.equal(outcome(limiter.admit('ip', 0, 0)), '429 CONNECTING_TOO_FAST');
    assert.equal(outcome(limiter.admit('ip', 0, 200)), '429 CONNECTING_TOO_FAST'); // 0.8 token
    assert.equal(limiter.admit('ip', 0, 250), undefined); // 1.0 token
    assert.equal(outcome(limiter.admit('ip', 0, 250)), '429 CONNECTING_TOO_FAST');
    assert.equal(limiter.admit('ip', 0, 750), undefined); // 2 tokens
    assert.equal(limiter.admit('ip', 0, 750), undefined);
    assert.equal(outcome(limiter.admit('ip', 0, 750)), '429 CONNECTING_TOO_FAST');
  });

  it('refused attempts do not push the refill back (a client hammering still gets a token on schedule)', () => {
    const limiter = new ConnectionLimiter({ newConnectionsPerSecondPerIp: 2 });
    limiter.admit('ip', 0, 0);
    limiter.admit('ip', 0, 0);
    for (let t = 10; t <= 490; t += 10) assert.equal(outcome(limiter.admit('ip', 0, t)), '429 CONNECTING_TOO_FAST', `at ${t} ms`);
    assert.equal(limiter.admit('ip', 0, 510), undefined);
  });

  it('the bucket holds at most `rate` tokens however long the address was quiet', () => {
    const limiter = new ConnectionLimiter({ newConnectionsPerSecondPerIp: 3 });
    limiter.admit('ip', 0, 0);
    const later = 3_600_000;
    const results = Array.from({ length: 4 }, () => outcome(limiter.admit('ip', 0, later)));
    assert.deepEqual(results, ['ok', 'ok', 'ok', '429 CONNECTING_TOO_FAST']);
  });

  it('a per-IP cap refusal takes no token; a rate refusal takes no slot', () => {
    const limiter = new ConnectionLimiter({ maxConnectionsPerIp: 1, newConnectionsPerSecondPerIp: 2 });
    assert.equal(limiter.admit('ip', 0, 0), undefined); // 1 token left, 1 open
    for (let i = 0; i < 5; i++) assert.equal(outcome(limiter.admit('ip', 1, 0)), '429 TOO_MANY_CONNECTIONS_FROM_IP');
    limiter.release('ip');
    assert.equal(limiter.admit('ip', 0, 0), undefined, 'the cap refusals must not have used the last token');
    limiter.release('ip');
    assert.equal(outcome(limiter.admit('ip', 0, 0)), '429 CONNECTING_TOO_FAST');
    assert.equal(limiter.admit('ip', 0, 500), undefined, 'the rate refusal must not have kept a slot');
  });
});

describe('ConnectionLimiter: sweep of quiet addresses', () => {
  it('forgets addresses with no open connection (per-IP cap only), keeps those with one', () => {
    const limiter = new ConnectionLimiter({ maxConnectionsPerIp: 5 });
    limiter.admit('gone', 0, 0); // first admit sweeps (nothing) and schedules the next sweep at 10 s
    limiter.release('gone');
    limiter.admit('open', 0, 1000);
    assert.equal(limiter.trackedIps, 2);
    limiter.admit('open', 1, 9999);
    assert.equal(limiter.trackedIps, 2, 'no sweep before 10 s');
    limiter.admit('new', 2, 10_000);
    assert.equal(limiter.trackedIps, 2, '"gone" forgotten, "open" and "new" kept');
    limiter.release('open');
    limiter.release('open');
    limiter.release('new');
    limiter.admit('last', 0, 20_000);
    assert.equal(limiter.trackedIps, 1);
  });

  it('with a rate, an address is forgotten only once its bucket has refilled', () => {
    const limiter = new ConnectionLimiter({ newConnectionsPerSecondPerIp: 1 });
    limiter.admit('a', 0, 0);
    limiter.release('a');
    // Drain "b" right before the sweep: its bucket is not full at 10 s.
    limiter.admit('b', 0, 9_800);
    limiter.release('b');
    limiter.admit('c', 0, 10_000);
    assert.equal(limiter.trackedIps, 2, '"a" (refilled) forgotten; "b" (0.2 token) and "c" kept');
    // Forgetting "a" gives it a fresh, full bucket — never more than `rate`.
    assert.equal(limiter.admit('a', 0, 10_000), undefined);
    assert.equal(outcome(limiter.admit('a', 0, 10_000)), '429 CONNECTING_TOO_FAST');
    // "b" was kept with its partial bucket: still refused at 10 s.
    assert.equal(outcome(limiter.admit('b', 0, 10_000)), '429 CONNECTING_TOO_FAST');
  });

  it('many one-off addresses do not accumulate past a sweep', () => {
    const limiter = new ConnectionLimiter({ maxConnectionsPerIp: 1, newConnectionsPerSecondPerIp: 10 });
    for (let i = 0; i < 1000; i++) {
      limiter.admit(`10.1.${i >> 8}.${i & 255}`, 0, i);
      limiter.release(`10.1.${i >> 8}.${i & 255}`);
    }
    assert.equal(limiter.trackedIps, 1000);
    limiter.admit('10.9.9.9', 0, 20_000);
    assert.equal(limiter.trackedIps, 1);
  });
});

describe('OriginPolicy', () => {
  const policy = new OriginPolicy(['https://app.example.com', 'https://*.example.org']);

  it('no Origin header (non-browser clients) is always allowed', () => {
    assert.equal(policy.allows(undefined), true);
    assert.equal(new OriginPolicy([]).allows(undefined), true);
  });

  it('exact origins match exactly (scheme, host and port), case-insensitively', () => {
    assert.equal(policy.allows('https://app.example.com'), true);
    assert.equal(policy.allows('HTTPS://App.Example.COM'), true);
    assert.equal(policy.allows('http://app.example.com'), false, 'scheme must match');
    assert.equal(policy.allows('https://app.example.com:8443'), false, 'port is part of the origin');
    assert.equal(policy.allows('https://evil.example.com'), false);
    assert.equal(policy.allows('https://x.app.example.com'), false, 'an exact entry does not cover subdomains');
    assert.equal(policy.allows('https://app.example.com.evil.net'), false);
  });

  it('*.domain matches any subdomain depth, with the same scheme, case-insensitively', () => {
    assert.equal(policy.allows('https://x.example.org'), true);
    assert.equal(policy.allows('https://a.b.c.example.org'), true);
    assert.equal(policy.allows('https://X.Example.ORG'), true);
    assert.equal(policy.allows('http://x.example.org'), false, 'scheme must match');
    assert.equal(policy.allows('wss://x.example.org'), false);
  });

  it('*.domain does not match the bare parent domain, look-alikes or suffix tricks', () => {
    assert.equal(policy.allows('https://example.org'), false);
    assert.equal(policy.allows('https://.example.org'), false);
    assert.equal(policy.allows('https://evilexample.org'), false);
    assert.equal(policy.allows('https://x.example.org.evil.net'), false);
    assert.equal(policy.allows('https://x.example.org:8443'), false, 'a wildcard without a port means the default port');
  });

  it('malformed and opaque origins are refused', () => {
    for (const origin of ['null', '', 'example.org', '*', 'https://', '://x.example.org']) {
      assert.equal(policy.allows(origin), false, origin);
    }
  });

  it('configured entries are case-insensitive and may end with a slash', () => {
    const p = new OriginPolicy(['HTTPS://App.Example.COM/', 'https://*.Example.Net/']);
    assert.equal(p.allows('https://app.example.com'), true);
    assert.equal(p.allows('https://x.example.net'), true);
    assert.equal(p.allows('https://example.net'), false);
  });

  it('a wildcard with a port matches only that port', () => {
    const p = new OriginPolicy(['https://*.example.org:8443']);
    assert.equal(p.allows('https://x.example.org:8443'), true);
    assert.equal(p.allows('https://x.example.org'), false);
  });

  it('"*" allows any origin; an empty list refuses every origin', () => {
    const any = new OriginPolicy(['*']);
    assert.equal(any.allows('https://anything.test'), true);
    assert.equal(any.allows('null'), true);
    const none = new OriginPolicy([]);
    assert.equal(none.allows('https://app.example.com'), false);
  });
});
