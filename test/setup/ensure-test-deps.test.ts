/**
 * scripts/ensure-test-deps.sh, run by `npm test` before the build: it names
 * every missing Debian package the suite needs, and changes nothing when all
 * are present. Installing is not exercised here (HERALD_TEST_NO_INSTALL=1).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const script = join(root, 'scripts', 'ensure-test-deps.sh');

function run(env: Record<string, string>): { status: number | null; stderr: string } {
  const result = spawnSync('bash', [script], { env: { ...process.env, HERALD_TEST_NO_INSTALL: '1', ...env }, encoding: 'utf8' });
  return { status: result.status, stderr: result.stderr };
}

describe('test setup: ensure-test-deps.sh', () => {
  it('is what npm test runs first', () => {
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    assert.match(pkg.scripts.pretest, /scripts\/ensure-test-deps\.sh/);
    const ci = readFileSync(join(root, '.ci', 'run'), 'utf8');
    assert.match(ci, /^npm ci && npm test$/m, '.ci/run runs exactly the README command');
  });

  it('says nothing when everything is present (as on this machine after setup)', () => {
    const { status, stderr } = run({});
    assert.equal(status, 0);
    assert.equal(stderr, '');
  });

  it('names the missing packages: chromium and python3-websockets faked missing', () => {
    const { status, stderr } = run({ HERALD_TEST_CHROMIUM: '/nonexistent/chromium', HERALD_TEST_PYTHON: '/nonexistent/python3' });
    assert.equal(status, 0);
    assert.match(stderr, /missing Debian packages: chromium python3-websockets/);
  });
});
