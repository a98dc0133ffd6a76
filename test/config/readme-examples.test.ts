/**
 * The README's config-file examples (`herald serve --config herald.json`), each
 * loaded as written, and the flags it names checked against the option
 * definitions: the README is what a new user copies, so it must stay loadable.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../../src/config/load-config.js';
import { OPTION_DEFINITIONS } from '../../src/config/option-definitions.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const readme = readFileSync(join(root, 'README.md'), 'utf8');
const jsonBlocks = [...readme.matchAll(/```json\n([\s\S]*?)```/g)].map((m) => m[1]);

describe('README examples', () => {
  const dir = mkdtempSync(join(tmpdir(), 'herald-readme-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('has config-file examples', () => {
    assert.ok(jsonBlocks.length >= 3, `found ${jsonBlocks.length} json blocks`);
  });

  jsonBlocks.forEach((block, i) => {
    it(`loads config example ${i + 1} (${block.trim().split('\n')[1]?.trim() ?? block.trim().slice(0, 40)})`, () => {
      const file = join(dir, `example-${i}.json`);
      writeFileSync(file, block);
      const config = loadConfig({ argv: ['--config', file], env: {}, cwd: dir });
      assert.deepEqual(config.warnings, []);
    });
  });

  it('names only flags the server or the herald command has', () => {
    const flags = new Set<string>(OPTION_DEFINITIONS.map((d) => d.flag));
    const named = [...readme.matchAll(/`(--[a-z][a-z0-9-]*)/g)].map((m) => m[1]);
    const unknown = named.filter((f) => !flags.has(f) && !f.startsWith('--no-') && !['--config', '--help', '--max-semi-space-size', '--quick', '--topic', '--uid', '--all', '--file', '--batch', '--secret', '--timings', '--unit'].includes(f));
    assert.deepEqual([...new Set(unknown)], []);
  });
});
