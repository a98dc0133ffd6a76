import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CONFIG_FILE_OPTION, formatHelp, OPTION_DEFINITIONS } from '../../src/config/index.js';

describe('formatHelp', () => {
  const help = formatHelp();
  const flat = help.replace(/\s+/g, ' ');

  it('lists every flag, environment variable and config-file key', () => {
    for (const { flag, env, key, type } of OPTION_DEFINITIONS) {
      assert.ok(help.includes(type === 'boolean' ? `  ${flag}, --no-${flag.slice(2)}\n` : `  ${flag} <`), flag);
      assert.ok(help.includes(`env ${env}`), env);
      assert.ok(help.includes(`key ${key}`), key);
    }
    assert.ok(help.includes(`${CONFIG_FILE_OPTION.flag} <file>`));
    assert.ok(help.includes(`env ${CONFIG_FILE_OPTION.env}`));
  });
  it('shows defaults in the units a user would type', () => {
    assert.match(help, /key heartbeatTimeoutMs \| default 1m\n/);
    assert.match(help, /key maxRequestBytes \| default 8KiB\n/);
    assert.match(help, /key maxPushBytes \| default 1MiB\n/);
    assert.match(help, /key wsHost \| default 0\.0\.0\.0\n/);
    assert.match(help, /key jwtSecret\n/);
  });
  it('states ranges and allowed values', () => {
    assert.ok(flat.includes('Integer from 0 to 65535.'));
    assert.ok(flat.includes('Duration, at least 1s.'));
    assert.ok(flat.includes('One of: fatal, error, warn, info, debug, trace, silent.'));
    assert.ok(flat.includes('Comma-separated list of: HS256,'));
  });
  it('explains how sizes, durations and lists are written', () => {
    assert.ok(flat.includes('64KiB, 1MiB, 1MB (= 1,000,000'));
    assert.ok(flat.includes('5000ms, 5s, 1.5s, 1m, 1h'));
  });
  it('fits 80 columns, ends with a newline and takes the program name', () => {
    for (const line of help.split('\n')) assert.ok(line.length <= 80, line);
    assert.ok(help.endsWith('\n'));
    assert.ok(formatHelp('herald serve').startsWith('Usage: herald serve [options]\n'));
  });
});
