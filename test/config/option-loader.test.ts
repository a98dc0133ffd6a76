import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { OptionDefinition } from '../../src/config/option-definitions.js';
import { loadOptions } from '../../src/config/option-loader.js';

// A table with the types Herald's own table does not use yet.
const TABLE: readonly OptionDefinition[] = [
  { scope: 'process', key: 'verbose', flag: '--verbose', env: 'HERALD_VERBOSE', type: 'boolean', default: false, description: 'Talk more.' },
  { scope: 'process', key: 'ratio', flag: '--ratio', env: 'HERALD_RATIO', type: 'number', default: 0.5, max: 1, description: 'A fraction.' },
];

function run(argv: string[], env: Record<string, string> = {}, allowPositionals = false) {
  return loadOptions(TABLE, { argv, env, cwd: '/', allowPositionals });
}

describe('loadOptions with booleans and numbers', () => {
  it('reads --name as true, --no-name as false and --name=value', () => {
    assert.equal(run(['--verbose']).values.verbose, true);
    assert.equal(run(['--no-verbose'], { HERALD_VERBOSE: 'true' }).values.verbose, false);
    assert.equal(run(['--verbose=false']).values.verbose, false);
    assert.equal(run(['--verbose=1']).values.verbose, true);
  });
  it('does not take the next argument as a boolean\'s value', () => {
    const loaded = run(['--verbose', 'serve'], {}, true);
    assert.equal(loaded.values.verbose, true);
    assert.deepEqual(loaded.positionals, ['serve']);
  });
  it('reads booleans from the environment as true, false, 1 or 0', () => {
    assert.equal(run([], { HERALD_VERBOSE: '1' }).values.verbose, true);
    assert.equal(run([], { HERALD_VERBOSE: 'FALSE' }).values.verbose, false);
    assert.deepEqual(run([], { HERALD_VERBOSE: 'yes' }).problems, ['HERALD_VERBOSE: "yes" is not true, false, 1 or 0']);
  });
  it('rejects a value on --no-name and suggests boolean spellings', () => {
    assert.deepEqual(run(['--no-verbose=true']).problems, ['--no-verbose: takes no value, got "true"']);
    assert.deepEqual(run(['--no-verbos']).problems, ['unknown option --no-verbos (did you mean "--no-verbose"?)']);
  });
  it('parses numbers and checks their bounds', () => {
    assert.equal(run(['--ratio', '0.25']).values.ratio, 0.25);
    assert.deepEqual(run(['--ratio', '1.5']).problems, ['--ratio: 1.5 is above the maximum 1']);
  });
  it('records where each value came from and which keys failed', () => {
    const loaded = run(['--ratio', 'x'], { HERALD_VERBOSE: '1' });
    assert.deepEqual(loaded.origins.get('verbose'), { kind: 'env', name: 'HERALD_VERBOSE' });
    assert.deepEqual(loaded.origins.get('ratio'), { kind: 'default', name: 'ratio (default)' });
    assert.deepEqual([...loaded.failed], ['ratio']);
    assert.equal(loaded.values.ratio, 0.5);
  });
});
