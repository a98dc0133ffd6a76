/**
 * What every `herald` subcommand shares: exit codes, the two error classes the
 * dispatcher turns into them, a small option parser (`--name value`,
 * `--name=value`, boolean flags, `--` ends the options, `-` is a positional)
 * and the option list of a command's `--help`.
 */
import { didYouMean } from '../config/suggest.js';

/** Exit statuses scripts can rely on; listed in `herald --help`. */
export const EXIT_OK = 0;
/** The operation failed: push refused, server unreachable, benchmark failed, gateway did not start. */
export const EXIT_FAILED = 1;
/** Usage error: unknown command or option, missing argument, bad value. */
export const EXIT_USAGE = 2;

/** Bad usage: the dispatcher prints `herald <cmd>: <message>` and `see herald <cmd> --help`, exits 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** The operation failed: the dispatcher prints `herald <cmd>: <message>`, exits 1. */
export class CommandFailure extends Error {
  override readonly name = 'CommandFailure';
}

/** Streams and environment of one command run (the process's own, or a test's). */
export interface CommandIo {
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WritableStream;
  readonly env: NodeJS.ProcessEnv;
}

/** What `herald.ts` loads for each subcommand. */
export interface CommandModule {
  /** The `--help` text, ending with a newline. */
  help(): string;
  /** Run with the arguments after the command name; resolves with the exit status or throws UsageError/CommandFailure. */
  run(argv: readonly string[], io: CommandIo): Promise<number>;
}

/** One option of a command. */
export interface OptionSpec {
  /** Long name without dashes: `topic` → `--topic`. */
  readonly name: string;
  /** `string` takes a value; `boolean` is a flag (`--json`). */
  readonly type: 'string' | 'boolean';
  /** Shown after the flag in help: `--topic <topic>`; default `value`. */
  readonly placeholder?: string;
  /** Environment variable read when the flag is absent (shown in help). */
  readonly env?: string;
  readonly description: string;
}

/** Parsed command line: option values by name, then the positional arguments in order. */
export interface ParsedArgs {
  readonly options: ReadonlyMap<string, string | true>;
  readonly positionals: readonly string[];
}

/** True when the arguments ask for help (`--help` or `-h` before any `--`). */
export function wantsHelp(argv: readonly string[]): boolean {
  for (const arg of argv) {
    if (arg === '--') return false;
    if (arg === '--help' || arg === '-h') return true;
  }
  return false;
}

/**
 * Parse `argv` against `specs`. Throws {@link UsageError} for an unknown
 * option (with a "did you mean"), a string option without a value (missing,
 * empty, or followed by another `--option`), a value given to a flag, or an
 * option given twice.
 */
export function parseArgs(argv: readonly string[], specs: readonly OptionSpec[]): ParsedArgs {
  const byName = new Map(specs.map((spec) => [spec.name, spec]));
  const options = new Map<string, string | true>();
  const positionals: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (arg === '-' || !arg.startsWith('-')) {
      positionals.push(arg);
      continue;
    }
    if (!arg.startsWith('--')) {
      throw new UsageError(`unknown option ${arg}${didYouMean(arg, specs.map((s) => `--${s.name}`))}`);
    }
    const equals = arg.indexOf('=');
    const name = arg.slice(2, equals === -1 ? undefined : equals);
    const spec = byName.get(name);
    if (spec === undefined) {
      throw new UsageError(`unknown option --${name}${didYouMean(`--${name}`, specs.map((s) => `--${s.name}`))}`);
    }
    if (options.has(name)) throw new UsageError(`--${name} given more than once`);
    if (spec.type === 'boolean') {
      if (equals !== -1) throw new UsageError(`--${name} takes no value`);
      options.set(name, true);
      continue;
    }
    let value: string | undefined;
    if (equals !== -1) value = arg.slice(equals + 1);
    else {
      value = argv[i + 1];
      // `--topic --uid u` is a forgotten value, not the topic "--uid"; `--topic=--x` says it on purpose.
      if (value !== undefined && value.startsWith('--')) value = undefined;
      else i++;
    }
    if (value === undefined) throw new UsageError(`--${name} needs a value (--${name} <${spec.placeholder ?? 'value'}>)`);
    if (value === '') throw new UsageError(`--${name} needs a non-empty value`);
    options.set(name, value);
  }
  return { options, positionals };
}

/** The value of string option `name`, else its environment variable when set and non-empty. */
export function stringOption(args: ParsedArgs, specs: readonly OptionSpec[], name: string, env: NodeJS.ProcessEnv): string | undefined {
  const value = args.options.get(name);
  if (typeof value === 'string') return value;
  const variable = specs.find((spec) => spec.name === name)?.env;
  const fromEnv = variable === undefined ? undefined : env[variable];
  return fromEnv === undefined || fromEnv === '' ? undefined : fromEnv;
}

const WIDTH = 80;

/** Help lines for `specs`: the flag on its own line, then the wrapped description (and env variable) indented. */
export function describeOptions(specs: readonly OptionSpec[]): string[] {
  const lines: string[] = [];
  for (const spec of specs) {
    lines.push(`  --${spec.name}${spec.type === 'string' ? ` <${spec.placeholder ?? 'value'}>` : ''}`);
    const text = spec.env === undefined ? spec.description : `${spec.description} Env ${spec.env}.`;
    lines.push(...wrap(text, '      '));
  }
  return lines;
}

/** Word-wrap `text` to {@link WIDTH} columns, each line starting with `indent`. */
export function wrap(text: string, indent: string): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (line !== '' && indent.length + line.length + 1 + word.length > WIDTH) {
      lines.push(indent + line);
      line = word;
    } else line = line === '' ? word : `${line} ${word}`;
  }
  if (line !== '') lines.push(indent + line);
  return lines;
}

/** An `Exit status:` entry: `  1  text…` with continuation lines aligned under the text. */
export function describeExit(code: number, text: string): string[] {
  return wrap(text, '     ').map((line, i) => (i === 0 ? `  ${code}  ${line.slice(5)}` : line));
}
