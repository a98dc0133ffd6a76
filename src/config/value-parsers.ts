/**
 * Parsing and checking of one option value, from text (flags, environment) or
 * from JSON (config file). Problems are returned as phrases that start with
 * the offending value — `"abc" is not an integer`, `70000 is above the maximum
 * 65535` — and the loader prefixes the source.
 */
import type { NumericOption, OptionDefinition } from './option-definitions.js';
import { didYouMean } from './suggest.js';

/** A parsed value, or the problem with it. */
export type ParseResult = { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly problem: string };

/**
 * Node timers fire at once for delays above 2^31 − 1 ms (about 24.8 days), so
 * no duration may exceed it.
 */
export const MAX_DURATION_MS = 2 ** 31 - 1;

const BYTE_UNITS: Readonly<Record<string, number>> = {
  b: 1, kb: 1e3, mb: 1e6, gb: 1e9, kib: 2 ** 10, mib: 2 ** 20, gib: 2 ** 30,
};
const BOOLEANS: ReadonlyMap<string, boolean> = new Map([['true', true], ['1', true], ['false', false], ['0', false]]);
const DURATION_UNITS: Readonly<Record<string, number>> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 };

/**
 * Bytes from `65536`, `64KiB`, `1MiB`, `1MB` (= 1,000,000), `1.5 KiB`; units
 * are case-insensitive (B, KB, KiB, MB, MiB, GB, GiB). Undefined when the text
 * is not a whole, non-negative number of bytes.
 */
export function parseBytes(text: string): number | undefined {
  return parseWithUnit(text, /^(\d+(?:\.\d+)?) ?([kmg]i?b|b)?$/i, BYTE_UNITS);
}

/**
 * Milliseconds from `5000ms`, `5s`, `1.5s`, `1m`, `1h`, or a bare number of
 * milliseconds. Undefined when the text is not a whole, non-negative number of
 * milliseconds.
 */
export function parseDuration(text: string): number | undefined {
  return parseWithUnit(text, /^(\d+(?:\.\d+)?) ?(ms|s|m|h)?$/i, DURATION_UNITS);
}

function parseWithUnit(text: string, pattern: RegExp, units: Readonly<Record<string, number>>): number | undefined {
  const match = pattern.exec(text);
  if (match === null) return undefined;
  const scaled = Number(match[1]) * (match[2] === undefined ? 1 : units[match[2].toLowerCase()]);
  const whole = Math.round(scaled);
  // Decimal fractions are inexact (1.1 * 1e6 = 1100000.0000000002): accept values within rounding error.
  if (Math.abs(scaled - whole) > 1e-6 || !Number.isSafeInteger(whole)) return undefined;
  return whole;
}

/** `1MiB`, `64KiB`, `1MB` or `1000B`: the largest unit that divides `bytes` exactly, binary preferred. */
export function formatBytes(bytes: number): string {
  for (const unit of ['GiB', 'MiB', 'KiB', 'GB', 'MB', 'KB']) {
    const size = BYTE_UNITS[unit.toLowerCase()];
    if (bytes >= size && bytes % size === 0) return `${bytes / size}${unit}`;
  }
  return `${bytes}B`;
}

/** `1h`, `1m`, `90s` or `500ms`: the largest unit that divides `ms` exactly. */
export function formatDuration(ms: number): string {
  for (const unit of ['h', 'm', 's']) {
    const size = DURATION_UNITS[unit];
    if (ms >= size && ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}

/** A parsed value as messages and `--help` show it: sizes and durations with units, strings quoted. */
export function formatValue(definition: OptionDefinition, value: unknown): string {
  if (definition.secret === true) return '(secret)';
  if (definition.type === 'bytes') return formatBytes(value as number);
  if (definition.type === 'duration') return formatDuration(value as number);
  if (definition.type === 'string[]') return (value as readonly string[]).join(',');
  return typeof value === 'string' ? JSON.stringify(value) : String(value);
}

/** A raw input (text or JSON) as messages quote it; secrets are never shown. */
export function quoteInput(definition: OptionDefinition, raw: unknown): string {
  if (definition.secret === true) return '(secret)';
  const text = JSON.stringify(raw) ?? String(raw);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

const TYPE_NOUNS: Readonly<Record<OptionDefinition['type'], string>> = {
  string: 'a string', int: 'an integer', number: 'a number', boolean: 'a boolean',
  bytes: 'a size (e.g. 65536, 64KiB, 1MiB)', duration: 'a duration (e.g. 500ms, 5s, 1m)',
  enum: 'a string', 'string[]': 'a list', json: 'JSON',
};

function invalid(definition: OptionDefinition, raw: unknown): ParseResult {
  return { ok: false, problem: `${quoteInput(definition, raw)} is not ${TYPE_NOUNS[definition.type]}` };
}

/** Parses `text` from a flag or environment variable, then {@link checkValue}s it. */
export function parseText(definition: OptionDefinition, text: string): ParseResult {
  let value: unknown;
  switch (definition.type) {
    case 'string':
      value = text;
      break;
    case 'int':
      value = /^[+-]?\d+$/.test(text) ? Number(text) : undefined;
      if (!Number.isSafeInteger(value)) return invalid(definition, text);
      break;
    case 'number':
      value = /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i.test(text) ? Number(text) : undefined;
      if (!Number.isFinite(value)) return invalid(definition, text);
      break;
    case 'boolean':
      value = BOOLEANS.get(text.toLowerCase());
      if (value === undefined) return { ok: false, problem: `${quoteInput(definition, text)} is not true, false, 1 or 0` };
      break;
    case 'bytes':
      value = parseBytes(text);
      if (value === undefined) return invalid(definition, text);
      break;
    case 'duration':
      value = parseDuration(text);
      if (value === undefined) return invalid(definition, text);
      break;
    case 'enum':
      return checkValue(definition, canonicalCase(definition.values, text));
    case 'string[]':
      value = text === '' ? [] : text.split(',').map((item) => canonicalCase(definition.values, item.trim()));
      break;
    case 'json':
      try {
        value = JSON.parse(text);
      } catch {
        return invalid(definition, text);
      }
      return parseJson(definition, value);
  }
  return checkValue(definition, value);
}

/**
 * Parses a config-file value, which has its JSON type (numbers, booleans,
 * arrays of strings); sizes and durations may also be strings with units
 * (`"64KiB"`, `"60s"`). Then {@link checkValue}s it.
 */
export function parseJson(definition: OptionDefinition, json: unknown): ParseResult {
  switch (definition.type) {
    case 'string':
      return typeof json === 'string' ? checkValue(definition, json) : invalid(definition, json);
    case 'enum':
      return typeof json === 'string' ? parseText(definition, json) : invalid(definition, json);
    case 'int':
      return Number.isSafeInteger(json) ? checkValue(definition, json) : invalid(definition, json);
    case 'number':
      return typeof json === 'number' && Number.isFinite(json) ? checkValue(definition, json) : invalid(definition, json);
    case 'boolean':
      return typeof json === 'boolean' ? checkValue(definition, json) : invalid(definition, json);
    case 'bytes':
    case 'duration':
      if (typeof json === 'string') return parseText(definition, json);
      return Number.isSafeInteger(json) && (json as number) >= 0 ? checkValue(definition, json) : invalid(definition, json);
    case 'string[]':
      if (!Array.isArray(json) || !json.every((item) => typeof item === 'string')) {
        return { ok: false, problem: `${quoteInput(definition, json)} is not an array of strings` };
      }
      return checkValue(definition, json.map((item: string) => canonicalCase(definition.values, item)));
    case 'json':
      try {
        return checkValue(definition, definition.parse(json));
      } catch (error) {
        return { ok: false, problem: (error as Error).message };
      }
  }
}

/**
 * Checks a parsed value against the row: non-empty strings and lists, enum
 * and list `values`, `min`/`max` (durations at most {@link MAX_DURATION_MS}),
 * then the row's `validate`.
 */
export function checkValue(definition: OptionDefinition, value: unknown): ParseResult {
  const problem = findProblem(definition, value);
  if (problem !== undefined) return { ok: false, problem };
  const custom = (definition.validate as ((v: unknown) => string | undefined) | undefined)?.(value);
  if (custom !== undefined) return { ok: false, problem: `${formatValue(definition, value)} ${custom}` };
  return { ok: true, value };
}

function findProblem(definition: OptionDefinition, value: unknown): string | undefined {
  switch (definition.type) {
    case 'string':
      return value === '' ? 'the empty string is not allowed' : undefined;
    case 'enum':
      return notOneOf(definition.values, value as string);
    case 'string[]': {
      const items = value as readonly string[];
      if (items.length === 0) return 'the empty list is not allowed';
      if (items.includes('')) return `${quoteInput(definition, items)} has an empty item`;
      if (definition.values === undefined) return undefined;
      for (const item of items) {
        const problem = notOneOf(definition.values, item);
        if (problem !== undefined) return problem;
      }
      return undefined;
    }
    case 'boolean':
    case 'json':
      return undefined;
    default:
      return outOfRange(definition, value as number);
  }
}

function outOfRange(definition: NumericOption, value: number): string | undefined {
  const max = definition.max ?? (definition.type === 'duration' ? MAX_DURATION_MS : undefined);
  if (definition.min !== undefined && value < definition.min) {
    return `${formatValue(definition, value)} is below the minimum ${formatValue(definition, definition.min)}`;
  }
  if (max !== undefined && value > max) {
    return `${formatValue(definition, value)} is above the maximum ${formatValue(definition, max)}`;
  }
  return undefined;
}

function notOneOf(values: readonly string[], value: string): string | undefined {
  if (values.includes(value)) return undefined;
  return `${JSON.stringify(value)} is not one of ${values.join(', ')}${didYouMean(value, values)}`;
}

/** `value` spelt as in `values` when it matches one case-insensitively (`INFO` → `info`), else unchanged. */
function canonicalCase(values: readonly string[] | undefined, value: string): string {
  return values?.find((candidate) => candidate.toLowerCase() === value.toLowerCase()) ?? value;
}
