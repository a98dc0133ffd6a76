import assert from 'node:assert/strict';
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CompactSign, SignJWT, base64url, type JWTPayload } from 'jose';
import { AuthError, AuthFailure, JwtVerifier } from '../../src/auth/index.js';
import { MAX_EXP_SECONDS } from '../../src/auth/jwt-verifier.js';

const SECRET = 'a-shared-secret-of-at-least-32-bytes!!';
const secretKey = new TextEncoder().encode(SECRET);
const nowSec = (): number => Math.floor(Date.now() / 1000);

function sign(payload: JWTPayload, key: KeyObject | Uint8Array, header: { alg: string; kid?: string }): Promise<string> {
  return new SignJWT(payload).setProtectedHeader(header).sign(key);
}

function hs256(payload: JWTPayload, key: Uint8Array = secretKey): Promise<string> {
  return sign(payload, key, { alg: 'HS256' });
}

/** An HS256 token over `payload` exactly as written (e.g. numbers JSON.stringify cannot produce). */
function rawHs256(payload: string): Promise<string> {
  return new CompactSign(new TextEncoder().encode(payload)).setProtectedHeader({ alg: 'HS256' }).sign(secretKey);
}

/** Await a rejection with AuthError of `reason`; returns it for further checks. */
async function rejectsWith(promise: Promise<unknown>, reason: AuthFailure): Promise<AuthError> {
  const err = await promise.then(
    () => assert.fail(`expected an AuthError '${reason}', got a resolution`),
    (e: unknown) => e,
  );
  assert.ok(err instanceof AuthError, `expected AuthError, got ${String(err)}`);
  assert.equal(err.reason, reason, err.message);
  return err;
}

/** An unsigned token as an attacker would write it (RFC 7519 §6). */
function unsecuredToken(payload: object): string {
  const part = (v: object) => base64url.encode(JSON.stringify(v));
  return `${part({ alg: 'none', typ: 'JWT' })}.${part(payload)}.`;
}

const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const rsaPem = rsa.publicKey.export({ type: 'spki', format: 'pem' }).toString();
const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });

describe('JwtVerifier with a shared secret', () => {
  const verifier = new JwtVerifier({ secret: SECRET });

  it('accepts an HS256 token and returns sub as uid', async () => {
    assert.deepEqual(await verifier.verify(await hs256({ sub: 'user-1' })), { uid: 'user-1' });
  });

  it('returns expiresAt as exp in epoch milliseconds', async () => {
    const exp = nowSec() + 3600;
    const identity = await verifier.verify(await hs256({ sub: 'u', exp }));
    assert.deepEqual(identity, { uid: 'u', expiresAt: exp * 1000 });
  });

  it('rejects a token signed with another secret as invalid', async () => {
    const token = await hs256({ sub: 'u' }, new TextEncoder().encode('another-secret-of-at-least-32-bytes!!'));
    await rejectsWith(verifier.verify(token), AuthFailure.Invalid);
  });

  it('rejects an expired token as expired', async () => {
    await rejectsWith(verifier.verify(await hs256({ sub: 'u', exp: nowSec() - 60 })), AuthFailure.Expired);
  });

  it('accepts a token expired by less than clockToleranceSec', async () => {
    const lenient = new JwtVerifier({ secret: SECRET, clockToleranceSec: 600 });
    const exp = nowSec() - 60;
    assert.deepEqual(await lenient.verify(await hs256({ sub: 'u', exp })), { uid: 'u', expiresAt: exp * 1000 });
  });

  it('rejects a token whose nbf is in the future as invalid', async () => {
    await rejectsWith(verifier.verify(await hs256({ sub: 'u', nbf: nowSec() + 3600 })), AuthFailure.Invalid);
  });

  it('rejects a token without sub, or with a non-string or empty sub, as invalid', async () => {
    for (const payload of [{}, { sub: 42 }, { sub: '' }, { sub: null }, { sub: ['a'] }]) {
      const token = await new SignJWT(payload as JWTPayload).setProtectedHeader({ alg: 'HS256' }).sign(secretKey);
      await rejectsWith(verifier.verify(token), AuthFailure.Invalid);
    }
  });

  it('rejects an alg "none" token as invalid', async () => {
    const err = await rejectsWith(verifier.verify(unsecuredToken({ sub: 'admin' })), AuthFailure.Invalid);
    assert.match(err.message, /"alg" .* not allowed/);
  });

  it('rejects an HS512 token when only HS256 is allowed', async () => {
    const token = await sign({ sub: 'u' }, secretKey, { alg: 'HS512' });
    await rejectsWith(verifier.verify(token), AuthFailure.Invalid);
    const both = new JwtVerifier({ secret: SECRET, algorithms: ['HS256', 'HS512'] });
    assert.equal((await both.verify(token)).uid, 'u');
  });

  it('rejects non-string, empty and garbage credentials as invalid', async () => {
    for (const credential of [42, { token: 'x' }, null, undefined, '', ['a.b.c'], true, 'not.a.jwt', 'abc']) {
      await rejectsWith(verifier.verify(credential), AuthFailure.Invalid);
    }
  });

  it('rejects a credential longer than maxTokenLength before decoding it', async () => {
    const small = new JwtVerifier({ secret: SECRET, maxTokenLength: 16 });
    const err = await rejectsWith(small.verify(await hs256({ sub: 'u' })), AuthFailure.Invalid);
    assert.match(err.message, /longer than 16/);
  });

  it('checks issuer and audience when configured', async () => {
    const strict = new JwtVerifier({ secret: SECRET, issuer: 'https://issuer', audience: ['herald', 'other'] });
    assert.equal((await strict.verify(await hs256({ sub: 'u', iss: 'https://issuer', aud: 'herald' }))).uid, 'u');
    await rejectsWith(strict.verify(await hs256({ sub: 'u', iss: 'https://evil', aud: 'herald' })), AuthFailure.Invalid);
    await rejectsWith(strict.verify(await hs256({ sub: 'u', iss: 'https://issuer', aud: 'nope' })), AuthFailure.Invalid);
    await rejectsWith(strict.verify(await hs256({ sub: 'u' })), AuthFailure.Invalid);
  });

  it('rejects a token without exp when requireExpiration is set', async () => {
    const strict = new JwtVerifier({ secret: SECRET, requireExpiration: true });
    await rejectsWith(strict.verify(await hs256({ sub: 'u' })), AuthFailure.Invalid);
    assert.equal((await strict.verify(await hs256({ sub: 'u', exp: nowSec() + 60 }))).uid, 'u');
  });

  it('takes an exp after year 9999 (1e308, Number.MAX_VALUE, 1e309 = Infinity) as "no expiry", never as a non-finite time', async () => {
    for (const exp of [1e308, Number.MAX_VALUE, MAX_EXP_SECONDS + 1]) {
      assert.deepEqual(await verifier.verify(await hs256({ sub: 'u', exp })), { uid: 'u' }, `exp ${exp}`);
    }
    // JSON.parse reads 1e309 as Infinity: sign the payload text as written.
    const infinite = await rawHs256('{"sub":"u","exp":1e309}');
    assert.deepEqual(await verifier.verify(infinite), { uid: 'u' });
    // The last second of year 9999 is still a date.
    assert.deepEqual(await verifier.verify(await hs256({ sub: 'u', exp: MAX_EXP_SECONDS })), { uid: 'u', expiresAt: MAX_EXP_SECONDS * 1000 });
    const strict = new JwtVerifier({ secret: SECRET, requireExpiration: true });
    await rejectsWith(strict.verify(await hs256({ sub: 'u', exp: 1e308 })), AuthFailure.Invalid);
    await rejectsWith(strict.verify(infinite), AuthFailure.Invalid);
  });
});

describe('JwtVerifier with an RSA public key (PEM)', () => {
  const verifier = new JwtVerifier({ publicKeyPem: rsaPem });

  it('accepts an RS256 token', async () => {
    const token = await sign({ sub: 'rsa-user' }, rsa.privateKey, { alg: 'RS256' });
    assert.deepEqual(await verifier.verify(token), { uid: 'rsa-user' });
  });

  it('narrows the default algorithms to what the key can verify', () => {
    assert.deepEqual(verifier.algorithms, ['RS256']);
  });

  it('rejects an HS256 token keyed with the public key PEM (algorithm confusion) as invalid', async () => {
    const token = await hs256({ sub: 'admin' }, new TextEncoder().encode(rsaPem));
    const err = await rejectsWith(verifier.verify(token), AuthFailure.Invalid);
    assert.match(err.message, /"alg" .* not allowed/);
  });

  it('rejects an alg "none" token as invalid', async () => {
    await rejectsWith(verifier.verify(unsecuredToken({ sub: 'admin' })), AuthFailure.Invalid);
  });

  it('rejects a token signed by another RSA key as invalid', async () => {
    const other = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const token = await sign({ sub: 'u' }, other.privateKey, { alg: 'RS256' });
    await rejectsWith(verifier.verify(token), AuthFailure.Invalid);
  });

  it('refuses HS* or none in the algorithm list of a public key at construction', () => {
    assert.throws(() => new JwtVerifier({ publicKeyPem: rsaPem, algorithms: ['RS256', 'HS256'] }), TypeError);
    assert.throws(() => new JwtVerifier({ publicKeyPem: rsaPem, algorithms: ['none'] }), TypeError);
    assert.throws(() => new JwtVerifier({ secret: SECRET, algorithms: ['none'] }), TypeError);
    assert.throws(() => new JwtVerifier({ secret: SECRET, algorithms: ['RS256'] }), TypeError);
  });

  it('refuses an algorithm list the key cannot verify at construction', () => {
    assert.throws(() => new JwtVerifier({ publicKeyPem: rsaPem, algorithms: ['ES256'] }), /verifies only RS256/);
  });

  it('refuses a bad PEM, a private key PEM, or no/several key sources at construction', () => {
    const privatePem = rsa.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    assert.throws(() => new JwtVerifier({ publicKeyPem: 'not a pem' }), TypeError);
    assert.throws(() => new JwtVerifier({ publicKeyPem: '-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n' }), TypeError);
    assert.throws(() => new JwtVerifier({ publicKeyPem: privatePem }), /private key/);
    assert.throws(() => new JwtVerifier({}), TypeError);
    assert.throws(() => new JwtVerifier({ secret: SECRET, publicKeyPem: rsaPem }), TypeError);
    assert.throws(() => new JwtVerifier({ jwksFile: '/x.json' }), /JwtVerifier\.create/);
    assert.throws(() => new JwtVerifier({ secret: SECRET, clockToleranceSec: -1 }), RangeError);
  });
});

describe('JwtVerifier with key files', () => {
  let dir: string;
  const kid = 'ec-key-1';
  let jwksFile: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'herald-auth-'));
    const jwk = { ...ec.publicKey.export({ format: 'jwk' }), kid, alg: 'ES256', use: 'sig' };
    jwksFile = join(dir, 'jwks.json');
    await writeFile(jwksFile, JSON.stringify({ keys: [jwk] }));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('accepts an ES256 token whose kid is in the JWKS file', async () => {
    const verifier = await JwtVerifier.create({ jwksFile });
    const exp = nowSec() + 120;
    const token = await sign({ sub: 'ec-user', exp }, ec.privateKey, { alg: 'ES256', kid });
    assert.deepEqual(await verifier.verify(token), { uid: 'ec-user', expiresAt: exp * 1000 });
  });

  it('rejects a token with an unknown kid as invalid', async () => {
    const verifier = await JwtVerifier.create({ jwksFile });
    const token = await sign({ sub: 'u' }, ec.privateKey, { alg: 'ES256', kid: 'unknown' });
    await rejectsWith(verifier.verify(token), AuthFailure.Invalid);
  });

  it('rejects HS256 and none tokens against a JWKS as invalid', async () => {
    const verifier = await JwtVerifier.create({ jwksFile });
    await rejectsWith(verifier.verify(await hs256({ sub: 'u' })), AuthFailure.Invalid);
    await rejectsWith(verifier.verify(unsecuredToken({ sub: 'u' })), AuthFailure.Invalid);
  });

  it('loads a PEM public key file', async () => {
    const file = join(dir, 'rsa.pem');
    await writeFile(file, rsaPem);
    const verifier = await JwtVerifier.create({ publicKeyFile: file });
    const token = await sign({ sub: 'from-file' }, rsa.privateKey, { alg: 'RS256' });
    assert.equal((await verifier.verify(token)).uid, 'from-file');
  });

  it('refuses a file source combined with another key source', async () => {
    await assert.rejects(JwtVerifier.create({ secret: SECRET, jwksFile }), /exactly one of .* \(got secret, jwksFile\)/);
  });

  it('fails at startup with an Error naming a missing file', async () => {
    const missing = join(dir, 'missing.pem');
    await assert.rejects(JwtVerifier.create({ publicKeyFile: missing }), (err: Error) => {
      assert.ok(err.message.includes(missing), err.message);
      assert.match(err.message, /not found/);
      return true;
    });
    await assert.rejects(JwtVerifier.create({ jwksFile: join(dir, 'missing.json') }), /missing\.json: file not found/);
  });

  it('fails at startup with an Error naming a file that is not a public key PEM', async () => {
    const garbage = join(dir, 'garbage.pem');
    await writeFile(garbage, 'hello');
    await assert.rejects(JwtVerifier.create({ publicKeyFile: garbage }), (err: Error) => err.message.includes(garbage));
    const broken = join(dir, 'broken.pem');
    await writeFile(broken, '-----BEGIN PUBLIC KEY-----\nnot base64 der\n-----END PUBLIC KEY-----\n');
    await assert.rejects(JwtVerifier.create({ publicKeyFile: broken }), (err: Error) => err.message.includes(broken));
    const privateFile = join(dir, 'private.pem');
    await writeFile(privateFile, rsa.privateKey.export({ type: 'pkcs8', format: 'pem' }));
    await assert.rejects(JwtVerifier.create({ publicKeyFile: privateFile }), /private\.pem: holds a private key/);
  });

  it('fails at startup with an Error naming a JWKS file that is not JSON, not a JWKS, or holds private keys', async () => {
    const cases: Array<[string, string]> = [
      ['bad.json', '{nope'],
      ['empty.json', '{"keys":[]}'],
      ['array.json', '[1,2]'],
      ['private.json', JSON.stringify({ keys: [ec.privateKey.export({ format: 'jwk' })] })],
    ];
    for (const [name, text] of cases) {
      const file = join(dir, name);
      await writeFile(file, text);
      await assert.rejects(JwtVerifier.create({ jwksFile: file }), (err: Error) => {
        assert.ok(err.message.startsWith(`JWT JWKS file ${file}: `), err.message);
        return true;
      });
    }
  });
});
