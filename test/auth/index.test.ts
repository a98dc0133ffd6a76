import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AuthUrlVerifier, JwtVerifier, createLoginVerifier } from '../../src/auth/index.js';

describe('createLoginVerifier', () => {
  it('resolves to undefined when no login method is configured', async () => {
    assert.equal(await createLoginVerifier({}), undefined);
  });

  it('builds a JwtVerifier for jwt options', async () => {
    const verifier = await createLoginVerifier({ jwt: { secret: 'a-shared-secret-of-at-least-32-bytes!!' } });
    assert.ok(verifier instanceof JwtVerifier);
  });

  it('builds an AuthUrlVerifier for authUrl options', async () => {
    const verifier = await createLoginVerifier({ authUrl: { url: 'http://127.0.0.1:1/validate_token' } });
    assert.ok(verifier instanceof AuthUrlVerifier);
    await verifier.close?.();
  });

  it('rejects a configuration with both methods', async () => {
    await assert.rejects(
      createLoginVerifier({ jwt: { secret: 's' }, authUrl: { url: 'http://127.0.0.1:1/' } }),
      /configure one login method/,
    );
  });

  it('rejects with the verifier\'s own error on misconfiguration', async () => {
    await assert.rejects(createLoginVerifier({ jwt: { jwksFile: '/nonexistent/herald-jwks.json' } }), /herald-jwks\.json: file not found/);
    await assert.rejects(createLoginVerifier({ authUrl: { url: 'nope' } }), TypeError);
  });
});
