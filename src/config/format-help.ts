import { CONFIG_FILE_OPTION, OPTION_DEFINITIONS, type OptionDefinition } from './option-definitions.js';
import { formatValue } from './value-parsers.js';

const WIDTH = 80;
const INDENT = '      ';

/**
 * `--help` text generated from {@link OPTION_DEFINITIONS}: for each option its
 * flag, description, accepted range or values, environment variable,
 * config-file key and default, then how sizes, durations and lists are
 * written. Ends with a newline.
 *
 * @param program - name shown in the usage line; default `herald`.
 */
export function formatHelp(program = 'herald'): string {
  const lines = [
    `Usage: ${program} [options]`,
    '',
    'Each option is read from, in increasing precedence: its default, the config',
    'file, its HERALD_* environment variable, its command-line flag.',
    '',
    'Options:',
    ...describe(`${CONFIG_FILE_OPTION.flag} <${CONFIG_FILE_OPTION.placeholder}>`, CONFIG_FILE_OPTION.description, [
      `env ${CONFIG_FILE_OPTION.env}`,
    ]),
  ];
  for (const definition of OPTION_DEFINITIONS as readonly OptionDefinition[]) lines.push(...describeOption(definition));
  lines.push(
    '',
    'Values:',
    ...wrap('Sizes: bytes, or a number with a unit: 65536, 64KiB, 1MiB, 1MB (= 1,000,000 bytes); '
      + 'units B, KB, KiB, MB, MiB, GB, GiB. In the config file, a number of bytes or a string with a unit.', '  '),
    ...wrap('Durations: milliseconds, or a number with a unit: 5000, 5000ms, 5s, 1.5s, 1m, 1h. '
      + 'In the config file, a number of milliseconds or a string with a unit ("60s").', '  '),
    ...wrap('Lists: comma-separated in flags and the environment ("RS256,ES256"), '
      + 'a JSON array in the config file.', '  '),
    ...wrap('Booleans: --name or --no-name; true, false, 1 or 0 in the environment.', '  '),
  );
  return `${lines.join('\n')}\n`;
}

function describeOption(definition: OptionDefinition): string[] {
  const usage = definition.type === 'boolean'
    ? `${definition.flag}, --no-${definition.flag.slice(2)}`
    : `${definition.flag} <${definition.placeholder ?? definition.type}>`;
  const details = [`env ${definition.env}`, `key ${definition.key}`];
  if (definition.default !== undefined) details.push(`default ${plainValue(definition, definition.default)}`);
  return describe(usage, `${definition.description} ${accepted(definition)}`.trim(), details);
}

function describe(usage: string, description: string, details: readonly string[]): string[] {
  // Each detail wraps as a unit: non-breaking spaces inside, restored after wrapping.
  const unbroken = details.map((detail) => detail.replaceAll(' ', '\u00a0')).join(' | ');
  return ['', `  ${usage}`, ...wrap(description, INDENT), ...wrap(unbroken, INDENT).map((l) => l.replaceAll('\u00a0', ' '))];
}

/** The accepted form and range, e.g. `Integer from 0 to 65535.` or `Duration of at least 1s.` */
function accepted(definition: OptionDefinition): string {
  switch (definition.type) {
    case 'enum':
      return `One of: ${definition.values.join(', ')}.`;
    case 'string[]':
      return definition.values === undefined
        ? 'Comma-separated list.'
        : `Comma-separated list of: ${definition.values.join(', ')}.`;
    case 'string':
      return definition.path === true ? 'A relative path is resolved against the config file\'s folder, or the working directory.' : '';
    case 'boolean':
      return '';
    case 'json':
      return 'JSON (in the config file: the value itself).';
    default: {
      const noun = { int: 'Integer', number: 'Number', bytes: 'Size', duration: 'Duration' }[definition.type];
      const { min, max } = definition;
      if (min !== undefined && max !== undefined) {
        return `${noun} from ${formatValue(definition, min)} to ${formatValue(definition, max)}.`;
      }
      if (min !== undefined && min > 0) return `${noun}, at least ${formatValue(definition, min)}.`;
      if (max !== undefined) return `${noun}, at most ${formatValue(definition, max)}.`;
      return `${noun}.`;
    }
  }
}

/** A default as a user would type it: no quotes around strings. */
function plainValue(definition: OptionDefinition, value: unknown): string {
  return typeof value === 'string' && definition.secret !== true ? value : formatValue(definition, value);
}

/** Greedy word wrap to {@link WIDTH} columns; a word longer than a line stands alone. */
function wrap(text: string, indent: string): string[] {
  if (text === '') return [];
  const lines: string[] = [];
  let line = indent;
  for (const word of text.split(' ')) {
    if (line !== indent && line.length + 1 + word.length > WIDTH) {
      lines.push(line);
      line = indent;
    }
    line += line === indent ? word : ` ${word}`;
  }
  lines.push(line);
  return lines;
}
