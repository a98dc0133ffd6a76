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
    if (this.digests.length === 0) return true;
    if (token === undefined || token === '') return false;
    const presented = digest(token);
    let ok = false;
    for (const d of this.digests) ok = timingSafeEqual(d, presented) || ok;
    return ok;
  }

  /** Check an `Authorization` header value (`Bearer <token>`, scheme case-insensitive, RFC 6750 §2.1). */
  verifyAuthorization(header: string | undefined): boolean {
    if (this.digests.length === 0) return true;
    if (header === undefined) return false;
    const match = /^Bearer +(\S+) *$/i.exec(header);
    return match !== null && this.verifyToken(match[1]);
  }
}

function digest(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}
