/**
 * Units of the SDK's token timing (refresh-schedule.ts) and the subscription
 * token helpers (token-source.ts): pure functions, times passed in.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SignJWT } from 'jose';
import { HeraldError } from '../../src/client/index.js';
import { expiredNotice } from '../../src/client/decode-inbound.js';
import {
  MAX_TIMER_MS,
  MIN_REFRESH_DELAY_MS,
  REFRESH_LEAD_MS,
  refreshAt,
  refreshDelay,
  tokenRefreshAt,
  tokenTimes,
} from '../../src/client/refresh-schedule.js';
import { isTokenRetry, subscriptionToken } from '../../src/client/token-source.js';

const T0 = 1_800_000_000_000;
const SECRET = new TextEncoder().encode('a-test-secret-of-at-least-32-bytes!!');

describe('client units: refresh schedule', () => {
  it('refreshes at 85 % of a long lifetime', () => {
    assert.equal(refreshAt(T0 + 3_600_000, T0), T0 + 3_060_000);
    assert.equal(refreshDelay(T0 + 3_600_000, T0), 3_060_000);
    assert.equal(refreshDelay(T0 + 3_600_000, T0 + 60_000, T0), 3_000_000, 'counted from iat, not from now');
  });

  it('keeps at least 5 s before expiry when 15 % of the lifetime is shorter', () => {
    assert.equal(refreshAt(T0 + 20_000, T0), T0 + 20_000 - REFRESH_LEAD_MS);
    assert.equal(refreshDelay(T0 + 20_000, T0), 15_000);
  });

  it('never schedules sooner than 1 s from now, even for a token past its refresh point or expired', () => {
    assert.equal(refreshDelay(T0 + 3_000, T0), MIN_REFRESH_DELAY_MS, 'lifetime shorter than the lead');
    assert.equal(refreshDelay(T0 + 10_000, T0 + 9_000, T0), MIN_REFRESH_DELAY_MS, 'past 85 %');
    assert.equal(refreshDelay(T0 - 1_000, T0), MIN_REFRESH_DELAY_MS, 'already expired');
  });

  it('has no refresh for a token that never expires', () => {
    assert.equal(refreshDelay(Infinity, T0), undefined);
    assert.equal(refreshDelay(Number.NaN, T0), undefined);
    assert.equal(refreshDelay(1e308 * 1000, T0), undefined, 'exp 1e308, read as no expiry like the server does');
    assert.equal(refreshDelay(253_402_300_800_000, T0), undefined, 'after 9999-12-31');
  });

  it('treats an iat after now (clock skew) as now, and an iat after exp as none', () => {
    assert.equal(refreshDelay(T0 + 100_000, T0, T0 + 50_000), 85_000);
    assert.equal(refreshAt(T0 + 100_000, T0 + 200_000), T0 + 100_000 - REFRESH_LEAD_MS);
  });

  it('exports the setTimeout limit the login timer is clamped to', () => {
    assert.equal(MAX_TIMER_MS, 2 ** 31 - 1);
  });
});

describe('client units: token claims', () => {
  it("reads a real JWT's iat and exp in ms without verifying it", async () => {
    const token = await new SignJWT({ sub: 'alice' }).setProtectedHeader({ alg: 'HS256' }).setIssuedAt(1_800_000_000).setExpirationTime(1_800_000_600).sign(SECRET);
    assert.deepEqual(tokenTimes(token), { issuedAt: 1_800_000_000_000, expiresAt: 1_800_000_600_000 });
    assert.equal(tokenRefreshAt(token, T0 + 1), T0 + 510_000, 'due at 85 % of iat→exp');
  });

  it('reads a JWT whose payload is not ASCII (base64url, UTF-8)', async () => {
    const token = await new SignJWT({ sub: 'zoë-日本', channel: 'room:ü' }).setProtectedHeader({ alg: 'HS256' }).setExpirationTime(1_800_000_100).sign(SECRET);
    assert.deepEqual(tokenTimes(token), { expiresAt: 1_800_000_100_000 });
    assert.equal(tokenRefreshAt(token, T0), T0 + 85_000, 'no iat: the lifetime counts from when the client got it');
  });

  it('gives no times for credentials that are not JWTs, or have no such claims', () => {
    for (const credential of ['user:alice', 'a.b.c', 'a.%%%.c', `x.${btoa('[1,2]')}.y`, `x.${btoa('{"exp":"soon"}')}.y`, '']) {
      assert.deepEqual(tokenTimes(credential), {}, credential);
    }
    assert.equal(tokenRefreshAt('user:alice', T0), Infinity);
  });
});

describe('client units: subscription tokens', () => {
  it('retries only a refusal for a missing or expired token', () => {
    assert.equal(isTokenRetry(new HeraldError(30003, 'subscription token missing')), true);
    assert.equal(isTokenRetry(new HeraldError(30003, 'subscription token expired')), true);
    for (const detail of ['subscription token invalid', 'subscription token is for another channel', 'subscription token is for another user', 'expired']) {
      assert.equal(isTokenRetry(new HeraldError(30003, detail)), false, detail);
    }
    assert.equal(isTokenRetry(new HeraldError(30008, 'subscription token missing')), false);
    assert.equal(isTokenRetry(new Error('subscription token missing')), false);
  });

  it('wraps the callback: sync values, promises, throws, rejections and non-strings', async () => {
    const stream = { topic: 'order:1', isPrivate: false };
    const seen: unknown[] = [];
    assert.equal(await subscriptionToken((topic, info) => (seen.push([topic, info]), 'tok'), stream), 'tok');
    assert.deepEqual(seen, [['order:1', { private: false }]]);
    assert.equal(await subscriptionToken(async () => 'tok2', stream), 'tok2');
    const cases: [string, () => string | Promise<string>][] = [
      ['threw', () => { throw new Error('boom'); }],
      ['rejected', () => Promise.reject(new Error('down'))],
      ['did not give a non-empty string', () => 42 as unknown as string],
      ['did not give a non-empty string', () => ''],
    ];
    for (const [why, callback] of cases) {
      await assert.rejects(subscriptionToken(callback, stream), (error: Error) => error.message === `getSubscriptionToken("order:1") ${why}`);
    }
  });

  it('reads an unprompted 30009 with topic and private at the top level or in detail', () => {
    assert.deepEqual(expiredNotice({ code: 30009, topic: 'a', private: true }), { topic: 'a', private: true });
    assert.deepEqual(expiredNotice({ code: 30009, detail: { topic: 'b', private: false } }), { topic: 'b', private: false });
    assert.equal(expiredNotice({ code: 30009, id: 3, topic: 'a' }), undefined, 'a reply to a command is not the notice');
    assert.equal(expiredNotice({ code: 30009 }), undefined);
    assert.equal(expiredNotice({ code: 20005, topic: 'a' }), undefined);
  });
});
