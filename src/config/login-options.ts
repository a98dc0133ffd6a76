/**
 * Option table rows: client login by JWT or an auth URL.
 * Assembled, in `--help` order, by `option-definitions.ts` (see its header).
 */
import type { OptionDefinition } from './option-types.js';

/** `alg` values a JWT may be verified with (those `jose` supports on Node 20). */
export const JWT_ALGORITHMS = [
  'HS256', 'HS384', 'HS512',
  'RS256', 'RS384', 'RS512',
  'PS256', 'PS384', 'PS512',
  'ES256', 'ES384', 'ES512',
  'EdDSA', 'Ed25519',
] as const;

function httpUrl(value: string): string | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return 'is not a URL';
  }
  return url.protocol === 'http:' || url.protocol === 'https:' ? undefined : 'must be an http: or https: URL';
}

export const LOGIN_OPTIONS = [
  // Login: JWT (one key source) or an auth URL
  {
    scope: 'process',
    key: 'jwtSecret', flag: '--jwt-secret', env: 'HERALD_JWT_SECRET', type: 'string', secret: true, placeholder: 'secret',
    description: 'Shared secret verifying client JWTs signed with HS256, HS384 or HS512. '
      + 'Prefer the environment or the config file: flags show up in process lists.',
  },
  {
    scope: 'process',
    key: 'jwtPublicKeyFile', flag: '--jwt-public-key-file', env: 'HERALD_JWT_PUBLIC_KEY_FILE', type: 'string', path: true,
    placeholder: 'file', description: 'PEM public key (SPKI) verifying client JWTs signed with RS*, PS*, ES* or EdDSA.',
  },
  {
    scope: 'process',
    key: 'jwtJwksFile', flag: '--jwt-jwks-file', env: 'HERALD_JWT_JWKS_FILE', type: 'string', path: true,
    placeholder: 'file', description: 'JSON Web Key Set verifying client JWTs; the token\'s "kid" selects the key.',
  },
  {
    scope: 'process',
    key: 'jwtAlgorithms', flag: '--jwt-algorithms', env: 'HERALD_JWT_ALGORITHMS', type: 'string[]',
    values: JWT_ALGORITHMS, placeholder: 'algs',
    description: 'JWT "alg" values accepted; unset: every algorithm the configured key supports.',
  },
  {
    scope: 'process',
    key: 'jwtIssuer', flag: '--jwt-issuer', env: 'HERALD_JWT_ISSUER', type: 'string', placeholder: 'iss',
    description: 'Required "iss" claim of client JWTs; unset: not checked.',
  },
  {
    scope: 'process',
    key: 'jwtAudience', flag: '--jwt-audience', env: 'HERALD_JWT_AUDIENCE', type: 'string', placeholder: 'aud',
    description: 'Required "aud" claim of client JWTs; unset: not checked.',
  },
  {
    scope: 'process',
    key: 'authUrl', flag: '--auth-url', env: 'HERALD_AUTH_URL', type: 'string', placeholder: 'url', validate: httpUrl,
    description: 'URL (http or https) of your backend endpoint that authenticates each client login, instead of a JWT.',
  },
  {
    scope: 'process',
    key: 'authTimeoutMs', flag: '--auth-timeout', env: 'HERALD_AUTH_TIMEOUT', type: 'duration', default: 3_000, min: 1,
    description: 'Time a call to the auth URL may take; a slower login fails.',
  },
] as const satisfies readonly OptionDefinition[];
