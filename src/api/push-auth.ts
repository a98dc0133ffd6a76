import { createHash, timingSafeEqual } from 'node:crypto';

/**
 * Bearer-token check for the push APIs. Several tokens may be valid at once
 * (rotation). Tokens are compared as SHA-256 digests with `timingSafeEqual`,
 * against every configured token without an early exit, so neither the
 * position of a mismatch nor which token matched shows in the timing.
 */
export class PushAuthenticator {
  private readonly digests: Buffer[];

  constructor(tokens: readonly string[]) {
    for (const token of tokens) {
      if (token.length < 16) throw new RangeError('push API tokens must be at least 16 characters');
    }
    this.digests = tokens.map(digest);
  }

  /** True when no token is configured: every request is allowed. */
  get open(): boolean {
    return this.digests.length === 0;
  }

  /** Check a presented token (without the `Bearer ` prefix). */
  verifyToken(token: string | undefined): boolean {
    return this.identify(token) !== undefined;
  }

  /** Check an `Authorization` header value (`Bearer <token>`, scheme case-insensitive, RFC 6750 §2.1). */
  verifyAuthorization(header: string | undefined): boolean {
    return this.identifyAuthorization(header) !== undefined;
  }

  /**
   * Which configured token an `Authorization` header carries: its index (the
   * key for per-token rate limits), -1 when the API is open, undefined when refused.
   */
  identifyAuthorization(header: string | undefined): number | undefined {
    if (this.digests.length === 0) return -1;
    if (header === undefined) return undefined;
    const match = /^Bearer +(\S+) *$/i.exec(header);
    return match === null ? undefined : this.identify(match[1]);
  }

  private identify(token: string | undefined): number | undefined {
    if (this.digests.length === 0) return -1;
    if (token === undefined || token === '') return undefined;
    const presented = digest(token);
    let found = -1;
    for (let i = 0; i < this.digests.length; i++) if (timingSafeEqual(this.digests[i], presented)) found = i;
    return found === -1 ? undefined : found;
  }
}

function digest(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}

/**
 * Requests per second allowed per push token (token bucket; bursts up to one
 * second's worth). Key -1 stands for "no token" when the API is open.
 */
export class PushRateLimiter {
  private readonly buckets = new Map<number, { tokens: number; refilled: number }>();
  constructor(private readonly perSecond: number | undefined) {}

  /** Take one request for `key`; false when over the rate (answer 429 / RESOURCE_EXHAUSTED). */
  take(key: number, now = Date.now()): boolean {
    const rate = this.perSecond;
    if (rate === undefined) return true;
    let bucket = this.buckets.get(key);
    if (bucket === undefined) {
      bucket = { tokens: rate, refilled: now };
      this.buckets.set(key, bucket);
    }
    bucket.tokens = Math.min(rate, bucket.tokens + ((now - bucket.refilled) / 1000) * rate);
    bucket.refilled = now;
    if (bucket.tokens < 1) return false;
    bucket.tokens -= 1;
    return true;
  }
}
