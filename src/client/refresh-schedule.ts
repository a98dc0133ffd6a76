import { decodeBase64 } from './decode-inbound.js';

/**
 * When to fetch a new token (a login's, or a subscription token) before the
 * one held expires. Pure: times are ms since the epoch, passed in.
 *
 * The refresh is due at 85 % of the token's lifetime, but at least
 * {@link REFRESH_LEAD_MS} before it expires (a short-lived token still leaves
 * time for the round trip), and a timer is never set sooner than
 * {@link MIN_REFRESH_DELAY_MS} from now (a token already past its refresh
 * point must not make the client spin). Expiries are compared with the
 * client's clock: a clock more than that margin off the issuer's makes the
 * refresh late (the server's 30006/30009 then still recovers).
 */
export const REFRESH_FRACTION = 0.85;
export const REFRESH_LEAD_MS = 5_000;
export const MIN_REFRESH_DELAY_MS = 1_000;
/** setTimeout's limit (2^31 − 1 ms, ~24.8 days): a longer delay fires at once in browsers and Node. */
export const MAX_TIMER_MS = 2_147_483_647;
/**
 * Expiries after 9999-12-31T23:59:59Z mean "never", as the server reads
 * them (PROTOCOL.md 30006: an `exp` of 1e308 is no expiry).
 */
const NEVER_AFTER_MS = 253_402_300_799_000;

/**
 * The moment a token valid from `issuedAt` until `expiresAt` is due for a
 * refresh; undefined when it never expires (or the expiry is no number).
 * `issuedAt` is the JWT's `iat`, or when the client obtained the token.
 */
export function refreshAt(expiresAt: number, issuedAt: number): number | undefined {
  if (!Number.isFinite(expiresAt) || expiresAt > NEVER_AFTER_MS) return undefined;
  // An `iat` ahead of the expiry (nonsense) or not a number: measure the lifetime from nothing, refresh by the lead.
  const start = Number.isFinite(issuedAt) && issuedAt < expiresAt ? issuedAt : expiresAt;
  return Math.min(start + REFRESH_FRACTION * (expiresAt - start), expiresAt - REFRESH_LEAD_MS);
}

/**
 * How long from `now` to wait before refreshing a token that expires at
 * `expiresAt` (see {@link refreshAt}); at least {@link MIN_REFRESH_DELAY_MS},
 * undefined when the token never expires. `issuedAt` defaults to `now`.
 */
export function refreshDelay(expiresAt: number, now: number, issuedAt: number = now): number | undefined {
  const due = refreshAt(expiresAt, Math.min(issuedAt, now));
  if (due === undefined) return undefined;
  return Math.max(Math.round(due - now), MIN_REFRESH_DELAY_MS);
}

/** A JWT's `iat` and `exp` in ms, read without verifying anything (the server verifies). */
export interface TokenTimes {
  issuedAt?: number;
  expiresAt?: number;
}

/**
 * Decode a compact JWT's payload and read its `iat`/`exp` (seconds → ms).
 * Anything that is not a JWT with such numeric claims gives `{}`: an opaque
 * credential (gpush's auth URL takes anything) simply has no known expiry.
 */
export function tokenTimes(token: string): TokenTimes {
  const parts = token.split('.');
  if (parts.length !== 3) return {};
  const base64 = parts[1].replace(/-/g, '+').replace(/_/g, '/');
  const bytes = decodeBase64(base64 + '='.repeat((4 - (base64.length % 4)) % 4));
  if (bytes === undefined) return {};
  let claims: unknown;
  try {
    claims = JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    return {};
  }
  if (typeof claims !== 'object' || claims === null) return {};
  const { iat, exp } = claims as { iat?: unknown; exp?: unknown };
  const times: TokenTimes = {};
  if (typeof iat === 'number' && Number.isFinite(iat)) times.issuedAt = iat * 1000;
  if (typeof exp === 'number' && Number.isFinite(exp)) times.expiresAt = exp * 1000;
  return times;
}

/**
 * When a token obtained at `obtainedAt` is due for a refresh (absolute ms),
 * from its own claims; Infinity when it has no known expiry.
 */
export function tokenRefreshAt(token: string, obtainedAt: number): number {
  const { issuedAt, expiresAt } = tokenTimes(token);
  if (expiresAt === undefined) return Infinity;
  return refreshAt(expiresAt, Math.min(issuedAt ?? obtainedAt, obtainedAt)) ?? Infinity;
}
