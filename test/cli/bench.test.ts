/**
 * `herald bench`: delegates to dist/bench/run.js with the arguments unchanged
 * and exits with its status. Only `--list` and usage errors run here: a real
 * benchmark takes minutes and would load the machine.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SCENARIOS } from '../../bench/scenarios.js';
import { lines, runCli } from './run-cli.js';

describe('herald bench', () => {
  it('--list exits 0 and lists every scenario', async () => {
    const result = await runCli(['bench', '--list']);
    assert.equal(result.code, 0, result.stderr);
    const names = lines(result.stdout).map((line) => line.split('\t')[0]);
    assert.deepEqual(names, SCENARIOS.map((s) => s.name));
    assert.ok(names.length > 0);
  });

  it('an unknown scenario → the harness\'s usage error, exit 2', async () => {
    const result = await runCli(['bench', 'no-such-scenario']);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /unknown scenario no-such-scenario/);
  });

  it('an unknown option → exit 2', async () => {
    const result = await runCli(['bench', '--no-such-option']);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /unknown option --no-such-option/);
  });
});
