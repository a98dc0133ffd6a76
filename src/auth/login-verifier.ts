/**
 * The contract between the gateway's login command (op 3) and whatever
 * decides who a client is. Implementations: {@link JwtVerifier} (local JWT
 * check) and {@link AuthUrlVerifier} (gpush's auth-URL webhook).
 *
 * @module
 */

/** Who a client is once its login credential has been accepted. */
export interface LoginIdentity {
  /** The user id private pushes are addressed to; never empty. */
  uid: string;
  /**
   * Epoch milliseconds at which the session must end (a JWT's `exp` × 1000),
   * if the credential carries one. It may already lie up to the verifier's
   * clock tolerance in the past; the gateway should end such a session at once.
   * A finite number: a credential that never expires leaves it unset (the
   * gateway also takes a non-finite value as "never" rather than trust it).
   */
  expiresAt?: number;
}

/**
 * Turns a client's login credential into a {@link LoginIdentity}.
 *
 * Guarantees every implementation gives:
 * - `verify` never throws synchronously and rejects only with {@link AuthError};
 *   the gateway can map `reason` to a reply without inspecting anything else.
 * - `verify` may be called concurrently and from many connections at once.
 * - After `close()`, `verify` rejects with reason `unavailable`.
 */
export interface LoginVerifier {
  /**
   * Resolve the identity for a client's login credential (the `data` field of
   * op 3, any JSON value), or reject with AuthError. Never rejects with anything else.
   */
  verify(credential: unknown): Promise<LoginIdentity>;
  /**
   * Verify a JWT with the same key configuration as logins and return its claims (subscription
   * tokens); only verifiers that check JWTs locally have it. Rejects with AuthError.
   */
  verifyClaims?(token: unknown): Promise<Record<string, unknown>>;
  /** Release timers, sockets and pending calls (pending calls reject with `unavailable`). */
  close?(): Promise<void> | void;
}

/**
 * Why a login was refused. `invalid` and `expired` are the client's fault
 * (reply 30003, do not retry with the same credential); `unavailable` and
 * `timeout` are the auth backend's (the client may retry later);
 * `not_configured` is for the gateway to use when no login method is set up.
 */
export const AuthFailure = {
  /** The credential is wrong, malformed, refused, or the backend's answer is unusable. */
  Invalid: 'invalid',
  /** The credential was valid but its lifetime (JWT `exp`) has passed. */
  Expired: 'expired',
  /** The backend could not be reached, is overloaded, failed (5xx), or the verifier is closed/saturated. */
  Unavailable: 'unavailable',
  /** The backend did not answer within the configured time. */
  Timeout: 'timeout',
  /** No login method is configured on this gateway. */
  NotConfigured: 'not_configured',
} as const;
/** One of the {@link AuthFailure} values. */
export type AuthFailure = (typeof AuthFailure)[keyof typeof AuthFailure];

/**
 * A refused login. `message` is for logs (it may name the backend's reason);
 * clients should only ever see the reply code derived from `reason`.
 */
export class AuthError extends Error {
  override readonly name = 'AuthError';
  constructor(
    readonly reason: AuthFailure,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
