import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { OptionDefinition } from '../../src/config/option-definitions.js';
import {
  checkValue,
  formatBytes,
  formatDuration,
  MAX_DURATION_MS,
  parseBytes,
  parseDuration,
  parseJson,
  parseText,
  type ParseResult,
} from '../../src/config/value-parsers.js';

const base = { scope: 'process', key: 'x', flag: '--x', env: 'HERALD_X', description: 'test option' } as const;
const int: OptionDefinition = { ...base, type: 'int', min: 0, max: 65535 };
const number: OptionDefinition = { ...base, type: 'number', min: 0.5 };
const bool: OptionDefinition = { ...base, type: 'boolean' };
const bytes: OptionDefinition = { ...base, type: 'bytes', min: 1024 };
const duration: OptionDefinition = { ...base, type: 'duration', min: 1000 };
const text: OptionDefinition = { ...base, type: 'string' };
const level: OptionDefinition = { ...base, type: 'enum', values: ['info', 'debug'] };
const list: OptionDefinition = { ...base, type: 'string[]' };
const algs: OptionDefinition = { ...base, type: 'string[]', values: ['HS256', 'RS256'] };
const secret: OptionDefinition = { ...base, type: 'string', secret: true, validate: (v) => (v.length < 4 ? 'is too short' : undefined) };
const path: OptionDefinition = { ...base, type: 'string', validate: (v) => (v.startsWith('/') ? undefined : 'must start with "/"') };

function ok(result: ParseResult): unknown {
  assert.equal(result.ok, true, result.ok ? '' : result.problem);
  return (result as { value: unknown }).value;
}

function problem(result: ParseResult): string {
  assert.equal(result.ok, false, 'expected a problem');
  return (result as { problem: string }).problem;
}

describe('parseBytes', () => {
  it('reads a bare number as bytes', () => assert.equal(parseBytes('65536'), 65536));
  it('reads binary units as powers of 1024', () => {
    assert.equal(parseBytes('64KiB'), 65536);
    assert.equal(parseBytes('1MiB'), 1048576);
    assert.equal(parseBytes('2GiB'), 2 * 2 ** 30);
  });
  it('reads decimal units as powers of 1000', () => {
    assert.equal(parseBytes('1MB'), 1_000_000);
    assert.equal(parseBytes('8KB'), 8000);
    assert.equal(parseBytes('1GB'), 1e9);
    assert.equal(parseBytes('512B'), 512);
  });
  it('accepts any case, one space, and fractions that come to whole bytes', () => {
    assert.equal(parseBytes('64kib'), 65536);
    assert.equal(parseBytes('1 MiB'), 1048576);
    assert.equal(parseBytes('1.5KiB'), 1536);
    assert.equal(parseBytes('1.1MB'), 1_100_000);
  });
  it('rejects negatives, fractions of a byte, unknown units and junk', () => {
    for (const bad of ['-1', '1.5', '0.3KiB', '10kbit', '1TB', 'KiB', '', ' 1KiB', '1e3', '1,000']) {
      assert.equal(parseBytes(bad), undefined, bad);
    }
  });
});

describe('parseDuration', () => {
  it('reads a bare number as milliseconds', () => assert.equal(parseDuration('5000'), 5000));
  it('reads ms, s, m and h', () => {
    assert.equal(parseDuration('5000ms'), 5000);
    assert.equal(parseDuration('5s'), 5000);
    assert.equal(parseDuration('1m'), 60_000);
    assert.equal(parseDuration('2h'), 7_200_000);
    assert.equal(parseDuration('1.5s'), 1500);
    assert.equal(parseDuration('60S'), 60_000);
  });
  it('rejects negatives, fractions of a millisecond, unknown units and junk', () => {
    for (const bad of ['-5s', '0.5ms', '1.0005s', '5sec', '1d', 's', '', '1m30s', 'Infinity']) {
      assert.equal(parseDuration(bad), undefined, bad);
    }
  });
});

describe('formatBytes and formatDuration', () => {
  it('use the largest unit that divides exactly', () => {
    assert.equal(formatBytes(1048576), '1MiB');
    assert.equal(formatBytes(8192), '8KiB');
    assert.equal(formatBytes(1_000_000), '1MB');
    assert.equal(formatBytes(1536), '1536B');
    assert.equal(formatBytes(0), '0B');
    assert.equal(formatDuration(60_000), '1m');
    assert.equal(formatDuration(90_000), '90s');
    assert.equal(formatDuration(3_600_000), '1h');
    assert.equal(formatDuration(1500), '1500ms');
    assert.equal(formatDuration(0), '0ms');
  });
  it('round-trip through the parsers', () => {
    for (const n of [1, 1000, 1024, 1536, 65536, 1_000_000, 3 * 2 ** 30]) assert.equal(parseBytes(formatBytes(n)), n);
    for (const n of [0, 1, 999, 1000, 90_000, 3_600_000]) assert.equal(parseDuration(formatDuration(n)), n);
  });
});

describe('parseText', () => {
  it('parses integers and rejects non-integers', () => {
    assert.equal(ok(parseText(int, '9992')), 9992);
    assert.equal(ok(parseText(int, '+80')), 80);
    assert.equal(problem(parseText(int, 'abc')), '"abc" is not an integer');
    assert.equal(problem(parseText(int, '1.5')), '"1.5" is not an integer');
    assert.equal(problem(parseText(int, '0x10')), '"0x10" is not an integer');
    assert.equal(problem(parseText(int, '99999999999999999999')), '"99999999999999999999" is not an integer');
  });
  it('checks integer bounds, naming the parsed value and the bound', () => {
    assert.equal(problem(parseText(int, '70000')), '70000 is above the maximum 65535');
    assert.equal(problem(parseText(int, '-1')), '-1 is below the minimum 0');
    assert.equal(ok(parseText(int, '65535')), 65535);
  });
  it('parses numbers with fractions and exponents', () => {
    assert.equal(ok(parseText(number, '1.25')), 1.25);
    assert.equal(ok(parseText(number, '.5')), 0.5);
    assert.equal(ok(parseText(number, '1e3')), 1000);
    assert.equal(problem(parseText(number, '0.25')), '0.25 is below the minimum 0.5');
    assert.equal(problem(parseText(number, 'NaN')), '"NaN" is not a number');
    assert.equal(problem(parseText(number, '')), '"" is not a number');
  });
  it('parses booleans as true, false, 1 or 0', () => {
    assert.equal(ok(parseText(bool, 'true')), true);
    assert.equal(ok(parseText(bool, 'TRUE')), true);
    assert.equal(ok(parseText(bool, '1')), true);
    assert.equal(ok(parseText(bool, 'false')), false);
    assert.equal(ok(parseText(bool, '0')), false);
    assert.equal(problem(parseText(bool, 'yes')), '"yes" is not true, false, 1 or 0');
    assert.equal(problem(parseText(bool, 'constructor')), '"constructor" is not true, false, 1 or 0');
  });
  it('parses sizes and durations, reporting bounds with units', () => {
    assert.equal(ok(parseText(bytes, '64KiB')), 65536);
    assert.equal(problem(parseText(bytes, '100')), '100B is below the minimum 1KiB');
    assert.match(problem(parseText(bytes, '64 kilobytes')), /^"64 kilobytes" is not a size/);
    assert.equal(ok(parseText(duration, '60s')), 60_000);
    assert.equal(problem(parseText(duration, '500ms')), '500ms is below the minimum 1s');
    assert.match(problem(parseText(duration, 'soon')), /^"soon" is not a duration/);
  });
  it('caps durations at the Node timer limit', () => {
    assert.equal(ok(parseText(duration, String(MAX_DURATION_MS))), MAX_DURATION_MS);
    assert.equal(problem(parseText(duration, '600h')), '600h is above the maximum 2147483647ms');
  });
  it('rejects the empty string', () => {
    assert.equal(ok(parseText(text, 'x')), 'x');
    assert.equal(problem(parseText(text, '')), 'the empty string is not allowed');
  });
  it('matches enum values case-insensitively and suggests near misses', () => {
    assert.equal(ok(parseText(level, 'DEBUG')), 'debug');
    assert.equal(problem(parseText(level, 'inf')), '"inf" is not one of info, debug (did you mean "info"?)');
    assert.equal(problem(parseText(level, 'verbose')), '"verbose" is not one of info, debug');
  });
  it('splits lists on commas, trims items and rejects empty items', () => {
    assert.deepEqual(ok(parseText(list, 'a, b ,c')), ['a', 'b', 'c']);
    assert.match(problem(parseText(list, 'a,,b')), /has an empty item/);
    assert.match(problem(parseText(list, 'a,')), /has an empty item/);
    assert.equal(problem(parseText(list, '')), 'the empty list is not allowed');
  });
  it('checks list items against the allowed values', () => {
    assert.deepEqual(ok(parseText(algs, 'hs256,RS256')), ['HS256', 'RS256']);
    assert.equal(problem(parseText(algs, 'RS256,RS257')), '"RS257" is not one of HS256, RS256 (did you mean "RS256"?)');
  });
  it('runs the row\'s validate after the type checks', () => {
    assert.equal(problem(parseText(path, 'ws')), '"ws" must start with "/"');
    assert.equal(ok(parseText(path, '/ws')), '/ws');
  });
  it('never echoes a secret', () => {
    assert.equal(problem(parseText(secret, 'abc')), '(secret) is too short');
  });
});

describe('parseJson', () => {
  it('takes JSON numbers for integers, not strings or fractions', () => {
    assert.equal(ok(parseJson(int, 9992)), 9992);
    assert.equal(problem(parseJson(int, '9992')), '"9992" is not an integer');
    assert.equal(problem(parseJson(int, 1.5)), '1.5 is not an integer');
    assert.equal(problem(parseJson(int, 70000)), '70000 is above the maximum 65535');
  });
  it('takes JSON numbers for numbers and booleans for booleans', () => {
    assert.equal(ok(parseJson(number, 2.5)), 2.5);
    assert.equal(problem(parseJson(number, '2.5')), '"2.5" is not a number');
    assert.equal(ok(parseJson(bool, false)), false);
    assert.equal(problem(parseJson(bool, 'false')), '"false" is not a boolean');
  });
  it('takes sizes and durations as numbers in the stored unit or strings with units', () => {
    assert.equal(ok(parseJson(bytes, 2048)), 2048);
    assert.equal(ok(parseJson(bytes, '64KiB')), 65536);
    assert.equal(ok(parseJson(duration, 1500)), 1500);
    assert.equal(ok(parseJson(duration, '60s')), 60_000);
    assert.match(problem(parseJson(duration, -5)), /^-5 is not a duration/);
    assert.match(problem(parseJson(duration, 1.5)), /^1.5 is not a duration/);
    assert.match(problem(parseJson(bytes, true)), /^true is not a size/);
  });
  it('takes strings for strings and enums', () => {
    assert.equal(ok(parseJson(text, 'x')), 'x');
    assert.equal(problem(parseJson(text, 5)), '5 is not a string');
    assert.equal(ok(parseJson(level, 'Info')), 'info');
    assert.equal(problem(parseJson(level, null)), 'null is not a string');
  });
  it('takes arrays of strings for lists', () => {
    assert.deepEqual(ok(parseJson(algs, ['RS256'])), ['RS256']);
    assert.equal(problem(parseJson(algs, 'RS256')), '"RS256" is not an array of strings');
    assert.equal(problem(parseJson(algs, ['RS256', 1])), '["RS256",1] is not an array of strings');
    assert.equal(problem(parseJson(algs, [])), 'the empty list is not allowed');
    assert.match(problem(parseJson(algs, ['none'])), /"none" is not one of HS256, RS256/);
  });
  it('shortens long values in messages', () => {
    const message = problem(parseJson(int, 'x'.repeat(200)));
    assert.ok(message.length < 100, message);
  });
});

describe('checkValue', () => {
  it('accepts values already in the stored unit', () => {
    assert.equal(ok(checkValue(bytes, 1024)), 1024);
    assert.equal(problem(checkValue(bytes, 1023)), '1023B is below the minimum 1KiB');
  });
});
