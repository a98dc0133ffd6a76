import { createPublicKey, type KeyObject } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import {
  createLocalJWKSet,
  errors as joseErrors,
  jwtVerify,
  type JSONWebKeySet,
  type JWTVerifyGetKey,
  type JWTVerifyOptions,
} from 'jose';
import { AuthError, AuthFailure, type LoginIdentity, type LoginVerifier } from './login-verifier.js';

/** HMAC algorithms, usable only with a shared {@link JwtVerifierOptions.secret}. */
const HMAC_ALGORITHMS: readonly string[] = ['HS256', 'HS384', 'HS512'];

/**
 * Signature algorithms usable with a public key or a JWKS, by the Node
 * `KeyObject.asymmetricKeyType` (and EC curve) that can verify them.
 * RFC 7518 §3.3-3.5, RFC 8037 §3.1.
 */
const ASYMMETRIC_ALGORITHMS: Readonly<Record<string, readonly string[]>> = {
  rsa: ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512'],
  'rsa-pss': ['PS256', 'PS384', 'PS512'],
  'ec:prime256v1': ['ES256'],
  'ec:secp384r1': ['ES384'],
  'ec:secp521r1': ['ES512'],
  ed25519: ['EdDSA', 'Ed25519'],
};
const ALL_ASYMMETRIC = new Set(Object.values(ASYMMETRIC_ALGORITHMS).flat());

/**
 * Latest `exp` (RFC 7519 §4.1.4, NumericDate seconds) taken as an expiry: 9999-12-31T23:59:59Z.
 * Later ones mean "never" (refused with `requireExpiration`).
 */
export const MAX_EXP_SECONDS = 253_402_300_799;

/** The options that name a key; exactly one must be given. */
const KEY_SOURCES = ['secret', 'publicKeyPem', 'publicKeyFile', 'jwks', 'jwksFile'] as const;

/** Defaults when {@link JwtVerifierOptions.algorithms} is not given. */
const DEFAULT_SECRET_ALGORITHMS = ['HS256'];
const DEFAULT_PUBLIC_ALGORITHMS = ['RS256', 'ES256'];

/**
 * Options of a {@link JwtVerifier}. Give exactly one key source: `secret`,
 * `publicKeyPem`, `publicKeyFile`, `jwks` or `jwksFile`. The `*File` sources
 * need {@link JwtVerifier.create} (they are read asynchronously at startup).
 */
export interface JwtVerifierOptions {
  /**
   * Shared secret for HS256/384/512, used as its UTF-8 bytes. RFC 7518 §3.2
   * asks for at least as many bytes as the hash output (32 for HS256).
   */
  secret?: string;
  /** SPKI PEM text (`-----BEGIN PUBLIC KEY-----`) of an RSA, EC (P-256/384/521) or Ed25519 key. */
  publicKeyPem?: string;
  /** Path to a file holding {@link publicKeyPem}; read by {@link JwtVerifier.create}. */
  publicKeyFile?: string;
  /** A JSON Web Key Set (RFC 7517 §5) of public keys; a token's `kid` and `alg` select the key. */
  jwks?: JSONWebKeySet;
  /** Path to a JSON file holding {@link jwks}; read by {@link JwtVerifier.create}. */
  jwksFile?: string;
  /**
   * Accepted `alg` header values. Default `['HS256']` for a secret and
   * `['RS256', 'ES256']` for a public key or JWKS (narrowed to what the public
   * key can verify). `none` is never accepted, and HS* never with a public
   * key or JWKS (that is the RS/HS "algorithm confusion" attack).
   */
  algorithms?: readonly string[];
  /** Required `iss` claim (one of, if an array); default: not checked. */
  issuer?: string | readonly string[];
  /** Required `aud` claim (one of, if an array); default: not checked. */
  audience?: string | readonly string[];
  /** Allowed clock skew for `exp` and `nbf`, in seconds; default 5. */
  clockToleranceSec?: number;
  /**
   * Refuse tokens without an `exp` claim, or with one after year 9999 (they
   * would never end the session); default false.
   */
  requireExpiration?: boolean;
  /**
   * Longest credential accepted, in UTF-16 code units; default 8192. Longer
   * ones are refused before any decoding, so a client cannot make the
   * gateway base64-decode and parse megabytes per login.
   */
  maxTokenLength?: number;
}

type VerifyKey = Uint8Array | KeyObject | JWTVerifyGetKey;

/**
 * Verifies a login credential as a compact JWS JWT (RFC 7519) locally with
 * `jose`: signature, `alg` allow-list, `exp`/`nbf` (with clock tolerance),
 * and optionally `iss`/`aud`. The identity is the `sub` claim; `exp` becomes
 * {@link LoginIdentity.expiresAt}, unless it lies after year 9999
 * ({@link MAX_EXP_SECONDS}): such a token does not expire.
 *
 * A token that is past its `exp` rejects with reason `expired`; every other
 * failure, including a credential that is not a non-empty string, rejects
 * with `invalid`.
 */
export class JwtVerifier implements LoginVerifier {
  readonly #key: VerifyKey;
  readonly #verifyOptions: JWTVerifyOptions;
  readonly #maxTokenLength: number;
  readonly #requireExpiration: boolean;
  /** The `alg` values actually accepted, after narrowing to the key. */
  readonly algorithms: readonly string[];

  /**
   * Build a verifier from in-memory key material. Throws a TypeError or
   * RangeError on misconfiguration (no key source or several, a file source —
   * use {@link JwtVerifier.create} — a bad PEM or JWKS, an unusable
   * algorithm list).
   */
  constructor(options: JwtVerifierOptions) {
    if (options.publicKeyFile !== undefined || options.jwksFile !== undefined) {
      throw new TypeError('JwtVerifier: publicKeyFile and jwksFile are loaded by JwtVerifier.create()');
    }
    const given = KEY_SOURCES.filter((k) => options[k] !== undefined);
    if (given.length !== 1) {
      throw new TypeError(`JwtVerifier: give exactly one of secret, publicKeyPem, jwks (got ${given.join(', ') || 'none'})`);
    }
    const { key, algorithms } = resolveKey(options);
    this.#key = key;
    this.algorithms = algorithms;
    this.#verifyOptions = {
      algorithms: [...algorithms],
      clockTolerance: checkTolerance(options.clockToleranceSec),
      ...(options.issuer !== undefined && { issuer: toMutable(options.issuer) }),
      ...(options.audience !== undefined && { audience: toMutable(options.audience) }),
    };
    this.#requireExpiration = options.requireExpiration ?? false;
    this.#maxTokenLength = checkPositiveInt('maxTokenLength', options.maxTokenLength, 8192);
  }

  /**
   * Build a verifier, first reading `publicKeyFile` or `jwksFile` if given.
   * Rejects with an Error naming the file when it is missing, unreadable, not
   * a public-key PEM or not a public JWKS; other misconfiguration rejects as
   * the constructor throws.
   */
  static async create(options: JwtVerifierOptions): Promise<JwtVerifier> {
    const given = KEY_SOURCES.filter((k) => options[k] !== undefined);
    if (given.length !== 1) {
      throw new TypeError(`JwtVerifier: give exactly one of ${KEY_SOURCES.join(', ')} (got ${given.join(', ') || 'none'})`);
    }
    const { publicKeyFile, jwksFile, ...rest } = options;
    if (publicKeyFile !== undefined) {
      const pem = await readKeyFile(publicKeyFile, 'public key');
      atFile(publicKeyFile, 'public key', () => parsePublicKey(pem, 'the file'));
      return new JwtVerifier({ ...rest, publicKeyPem: pem });
    }
    if (jwksFile !== undefined) {
      const text = await readKeyFile(jwksFile, 'JWKS');
      const jwks = atFile(jwksFile, 'JWKS', () => {
        let parsed: JSONWebKeySet;
        try {
          parsed = JSON.parse(text) as JSONWebKeySet;
        } catch {
          throw new Error('not valid JSON');
        }
        loadJwks(parsed, 'the file');
        return parsed;
      });
      return new JwtVerifier({ ...rest, jwks });
    }
    return new JwtVerifier(rest);
  }

  /** Verify `credential` as a JWT; see the class description for the outcomes. */
  async verify(credential: unknown): Promise<LoginIdentity> {
    const payload = await this.verifyClaims(credential);
    const { sub, exp } = payload;
    if (typeof sub !== 'string' || sub.length === 0) {
      throw new AuthError(AuthFailure.Invalid, 'JWT "sub" claim must be a non-empty string');
    }
    // An `exp` past year 9999 (1e308, Number.MAX_VALUE: some issuers write that for "never") is
    // "no expiry": as milliseconds it would not even be a finite number, let alone a date.
    if (typeof exp === 'number' && exp <= MAX_EXP_SECONDS) return { uid: sub, expiresAt: exp * 1000 };
    if (this.#requireExpiration) {
      throw new AuthError(AuthFailure.Invalid, typeof exp === 'number' ? 'JWT "exp" claim lies after year 9999' : 'JWT has no "exp" claim');
    }
    return { uid: sub };
  }

  /**
   * Verify `token` as a JWT with the login key configuration (key, `alg`
   * allow-list, `exp`/`nbf`, `iss`/`aud`) and return its claims, checking
   * nothing else: subscription tokens (PROTOCOL.md, Namespaces) carry their
   * own claims, which the session reads. Rejects with AuthError `expired`
   * past `exp`, `invalid` otherwise.
   */
  async verifyClaims(token: unknown): Promise<Record<string, unknown>> {
    if (typeof token !== 'string' || token.length === 0) {
      throw new AuthError(AuthFailure.Invalid, 'JWT credential must be a non-empty string');
    }
    if (token.length > this.#maxTokenLength) {
      throw new AuthError(AuthFailure.Invalid, `JWT credential longer than ${this.#maxTokenLength} characters`);
    }
    try {
      return (await jwtVerify(token, this.#key, this.#verifyOptions)).payload as Record<string, unknown>;
    } catch (err) {
      throw toAuthError(err);
    }
  }
}

/** Map a jose (or any) verification failure to an AuthError. */
function toAuthError(err: unknown): AuthError {
  if (err instanceof joseErrors.JWTExpired) {
    return new AuthError(AuthFailure.Expired, `JWT expired: ${err.message}`, { cause: err });
  }
  const detail = err instanceof Error ? err.message : String(err);
  return new AuthError(AuthFailure.Invalid, `JWT rejected: ${detail}`, { cause: err });
}

/** Turn the one configured key source into a jose key and the accepted algorithms. */
function resolveKey(options: JwtVerifierOptions): { key: VerifyKey; algorithms: string[] } {
  if (options.secret !== undefined) {
    if (typeof options.secret !== 'string' || options.secret.length === 0) {
      throw new TypeError('JwtVerifier: secret must be a non-empty string');
    }
    const algorithms = checkAlgorithms(options.algorithms ?? DEFAULT_SECRET_ALGORITHMS, new Set(HMAC_ALGORITHMS), 'a secret');
    return { key: new TextEncoder().encode(options.secret), algorithms };
  }
  if (options.publicKeyPem !== undefined) {
    const key = parsePublicKey(options.publicKeyPem, 'publicKeyPem');
    const usable = usableAlgorithms(key);
    const wanted = checkAlgorithms(options.algorithms ?? DEFAULT_PUBLIC_ALGORITHMS, ALL_ASYMMETRIC, 'a public key');
    const algorithms = wanted.filter((alg) => usable.includes(alg));
    if (algorithms.length === 0) {
      throw new TypeError(
        `JwtVerifier: the ${describeKey(key)} public key verifies only ${usable.join(', ')}, none of the algorithms ${wanted.join(', ')}`,
      );
    }
    return { key, algorithms };
  }
  const algorithms = checkAlgorithms(options.algorithms ?? DEFAULT_PUBLIC_ALGORITHMS, ALL_ASYMMETRIC, 'a JWKS');
  return { key: loadJwks(options.jwks, 'jwks'), algorithms };
}

/** Validate an `alg` allow-list against the algorithms a key source permits. */
function checkAlgorithms(list: readonly string[], permitted: ReadonlySet<string>, source: string): string[] {
  if (!Array.isArray(list) || list.length === 0) {
    throw new TypeError('JwtVerifier: algorithms must be a non-empty array');
  }
  for (const alg of list) {
    if (!permitted.has(alg)) {
      // RFC 8725 §3.1: never accept "none"; never let a public key act as an HMAC secret.
      throw new TypeError(`JwtVerifier: algorithm ${JSON.stringify(alg)} cannot be used with ${source} (allowed: ${[...permitted].join(', ')})`);
    }
  }
  return [...new Set(list)];
}

/**
 * Parse SPKI PEM into a public KeyObject. `what` names the source in the
 * TypeError thrown when it is not a public-key PEM (private keys are refused:
 * they do not belong on a gateway).
 */
function parsePublicKey(pem: string, what: string): KeyObject {
  if (typeof pem !== 'string') throw new TypeError(`JwtVerifier: ${what} must be a string`);
  if (/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(pem)) {
    throw new TypeError(`JwtVerifier: ${what} holds a private key; configure the public key (SPKI PEM) only`);
  }
  if (!/-----BEGIN (PUBLIC KEY|RSA PUBLIC KEY)-----/.test(pem)) {
    throw new TypeError(`JwtVerifier: ${what} is not a PEM public key (expected "-----BEGIN PUBLIC KEY-----")`);
  }
  try {
    return createPublicKey({ key: pem, format: 'pem' });
  } catch (cause) {
    throw new TypeError(`JwtVerifier: ${what} is not a valid public key PEM (${(cause as Error).message})`, { cause });
  }
}

/** The `alg` values a public key can verify. */
function usableAlgorithms(key: KeyObject): readonly string[] {
  return ASYMMETRIC_ALGORITHMS[describeKey(key)] ?? [];
}

/** `rsa`, `rsa-pss`, `ec:<curve>`, `ed25519`, ... */
function describeKey(key: KeyObject): string {
  const type = key.asymmetricKeyType ?? 'unknown';
  return type === 'ec' ? `ec:${key.asymmetricKeyDetails?.namedCurve ?? 'unknown'}` : type;
}

/** Validate a public JWKS and build jose's local key resolver; `what` names the source in errors. */
function loadJwks(jwks: JSONWebKeySet | undefined, what: string): JWTVerifyGetKey {
  const keys: unknown = (jwks as { keys?: unknown } | null | undefined)?.keys;
  if (!Array.isArray(keys) || keys.length === 0) {
    throw new TypeError(`JwtVerifier: ${what} must be a JWKS, an object with a non-empty "keys" array`);
  }
  for (const [i, jwk] of keys.entries()) {
    if (typeof jwk !== 'object' || jwk === null) throw new TypeError(`JwtVerifier: ${what} key ${i} is not an object`);
    if ('d' in jwk || 'k' in jwk) {
      throw new TypeError(`JwtVerifier: ${what} key ${i} holds private or symmetric key material; publish public keys only`);
    }
  }
  try {
    return createLocalJWKSet(jwks as JSONWebKeySet);
  } catch (cause) {
    throw new TypeError(`JwtVerifier: ${what} is not a valid JWKS (${(cause as Error).message})`, { cause });
  }
}

async function readKeyFile(path: string, what: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code;
    const reason = code === 'ENOENT' ? 'file not found' : `cannot read (${code ?? (cause as Error).message})`;
    throw new Error(`JWT ${what} file ${path}: ${reason}`, { cause });
  }
}

/** Run a check on a key file's contents; its failure becomes an Error naming the file. */
function atFile<T>(path: string, what: string, check: () => T): T {
  try {
    return check();
  } catch (cause) {
    const reason = (cause as Error).message.replace(/^JwtVerifier: (the file )?/, '');
    throw new Error(`JWT ${what} file ${path}: ${reason}`, { cause });
  }
}

function checkTolerance(sec: number | undefined): number {
  const value = sec ?? 5;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new RangeError('JwtVerifier: clockToleranceSec must be a finite number >= 0');
  }
  return value;
}

function checkPositiveInt(name: string, value: number | undefined, fallback: number): number {
  const v = value ?? fallback;
  if (!Number.isSafeInteger(v) || v <= 0) throw new RangeError(`JwtVerifier: ${name} must be a positive integer`);
  return v;
}

function toMutable(value: string | readonly string[]): string | string[] {
  return typeof value === 'string' ? value : [...value];
}
