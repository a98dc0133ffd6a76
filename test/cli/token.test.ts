/**
 * `herald token`: the printed JWT verifies with jose and with Herald's own
 * JwtVerifier under the same secret; claims; refusals of short secrets and
 * bad usage (exit 2).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeProtectedHeader, jwtVerify } from 'jose';
import { JwtVerifier } from '../../src/auth/jwt-verifier.js';
import { startNode } from '../helpers/herald-node.js';
import { assertUsageError, runCli } from './run-cli.js';

const SECRET = 'a-development-secret-of-32-bytes!';
const key = new TextEncoder().encode(SECRET);

async function mint(args: string[], env: Record<string, string> = {}): Promise<string> {
  const result = await runCli(['token', ...args], { env });
  assert.equal(result.code, 0, result.stderr);
  assert.equal(result.stderr, '');
  assert.match(result.stdout, /^[\w-]+\.[\w-]+\.[\w-]+\n$/);
  return result.stdout.trim();
}

describe('herald token', () => {
  it('prints an HS256 JWT with sub = uid, iat and exp = iat + 1h by default', async () => {
    const token = await mint(['--uid', 'alice', '--secret', SECRET]);
    assert.deepEqual(decodeProtectedHeader(token), { alg: 'HS256', typ: 'JWT' });
    const { payload } = await jwtVerify(token, key, { algorithms: ['HS256'] });
    assert.equal(payload.sub, 'alice');
    assert.equal(typeof payload.iat, 'number');
    assert.equal(payload.exp, (payload.iat as number) + 3600);
    assert.equal(payload.iss, undefined);
    assert.equal(payload.aud, undefined);
  });

  it('--ttl, --issuer and --audience; the secret from HERALD_JWT_SECRET', async () => {
    const token = await mint(['--uid', 'bob', '--ttl', '15m', '--issuer', 'my-backend', '--audience', 'herald'], {
      HERALD_JWT_SECRET: SECRET,
    });
    const { payload } = await jwtVerify(token, key, { issuer: 'my-backend', audience: 'herald' });
    assert.equal(payload.sub, 'bob');
    assert.equal(payload.exp, (payload.iat as number) + 900);
  });

  it('a wrong secret does not verify it', async () => {
    const token = await mint(['--uid', 'alice', '--secret', SECRET]);
    await assert.rejects(jwtVerify(token, new TextEncoder().encode(`${SECRET}x`)));
  });

  it('Herald\'s JwtVerifier with the same secret (and claims) logs it in as the uid', async () => {
    const token = await mint(['--uid', 'carol', '--secret', SECRET, '--issuer', 'iss', '--audience', 'aud']);
    const verifier = new JwtVerifier({ secret: SECRET, issuer: 'iss', audience: 'aud' });
    const identity = await verifier.verify(token);
    assert.equal(identity.uid, 'carol');
    assert.equal(typeof identity.expiresAt, 'number');
  });

  it('a node started with the secret accepts it at login', async () => {
    const h = await startNode({ verifier: new JwtVerifier({ secret: SECRET }) });
    try {
      const token = await mint(['--uid', 'dave', '--secret', SECRET]);
      const client = await h.connect();
      await client.login(token, 'dave');
    } finally {
      await h.stop();
    }
  });

  it('a secret shorter than 32 bytes → 2, saying so', async () => {
    assertUsageError(await runCli(['token', '--uid', 'alice', '--secret', 'short']), 'herald token', /5 bytes; HS256 needs at least 32 \(256 bits\)/);
    assertUsageError(
      await runCli(['token', '--uid', 'alice'], { env: { HERALD_JWT_SECRET: 'x'.repeat(31) } }),
      'herald token',
      /31 bytes/,
    );
  });

  it('missing --uid or secret, a bad --ttl, an extra argument or an unknown option → 2', async () => {
    assertUsageError(await runCli(['token', '--secret', SECRET]), 'herald token', /missing --uid/);
    assertUsageError(await runCli(['token', '--uid', 'alice']), 'herald token', /missing secret/);
    assertUsageError(await runCli(['token', '--uid', 'alice', '--secret', SECRET, '--ttl', 'forever']), 'herald token', /--ttl: "forever"/);
    assertUsageError(await runCli(['token', '--uid', 'alice', '--secret', SECRET, '--ttl', '500ms']), 'herald token', /at least 1s/);
    assertUsageError(await runCli(['token', 'alice', '--secret', SECRET]), 'herald token', /unexpected argument "alice"/);
    assertUsageError(await runCli(['token', '--uid', 'alice', '--secret', SECRET, '--alg', 'HS512']), 'herald token', /unknown option --alg/);
    assertUsageError(await runCli(['token', '--uid']), 'herald token', /--uid needs a value/);
  });
});
