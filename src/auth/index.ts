/**
 * Login verification for op 3: a local JWT check or gpush's auth-URL webhook.
 *
 * @module
 */
import { AuthUrlVerifier, type AuthUrlVerifierOptions } from './auth-url-verifier.js';
import { JwtVerifier, type JwtVerifierOptions } from './jwt-verifier.js';
import type { LoginVerifier } from './login-verifier.js';

export { AuthError, AuthFailure, type LoginIdentity, type LoginVerifier } from './login-verifier.js';
export { JwtVerifier, type JwtVerifierOptions } from './jwt-verifier.js';
export { AuthUrlVerifier, type AuthUrlVerifierOptions } from './auth-url-verifier.js';

/** Options of {@link createLoginVerifier}: at most one login method. */
export interface LoginVerifierOptions {
  /** Verify logins as JWTs locally. */
  jwt?: JwtVerifierOptions;
  /** Verify logins with gpush's auth-URL webhook. */
  authUrl?: AuthUrlVerifierOptions;
}

/**
 * Build the configured login verifier, reading key files if needed.
 *
 * Resolves to `undefined` when no method is configured (the gateway then
 * refuses logins with `not_configured`). Configuring both rejects with an
 * Error: guessing which method a credential was meant for (e.g. "looks like a
 * JWT, else ask the URL") would let a forged JWT-shaped string reach the
 * webhook or a webhook token be parsed as a JWT, and would make a failure's
 * reason ambiguous. Rejects with the verifier's own error on misconfiguration
 * (bad URL, missing key file, ...).
 */
export async function createLoginVerifier(options: LoginVerifierOptions): Promise<LoginVerifier | undefined> {
  const { jwt, authUrl } = options;
  if (jwt !== undefined && authUrl !== undefined) {
    throw new Error('configure one login method: jwt or authUrl, not both');
  }
  if (jwt !== undefined) return JwtVerifier.create(jwt);
  if (authUrl !== undefined) return new AuthUrlVerifier(authUrl);
  return undefined;
}
