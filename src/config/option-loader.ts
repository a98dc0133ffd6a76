/**
 * The table-driven engine under `loadConfig`: reads defaults, the config file,
 * the environment and the command line for any table of option definitions,
 * and collects every problem instead of stopping at the first. It knows no
 * particular option; cross-field rules live in `config-rules.ts`.
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { CONFIG_FILE_OPTION, type OptionDefinition } from './option-definitions.js';
import { didYouMean } from './suggest.js';
import { parseJson, parseText, type ParseResult } from './value-parsers.js';

/** Where an option's value came from, in increasing precedence. */
export type OriginKind = 'default' | 'file' | 'env' | 'flag';

/** The source of one value, for messages. */
export interface Origin {
  readonly kind: OriginKind;
  /** `--ws-port`, `HERALD_WS_PORT`, `wsPort in config file ./herald.json` or `wsPort (default)`. */
  readonly name: string;
}

/** Inputs of {@link loadOptions}; nothing is read from `process`. */
export interface OptionInputs {
  readonly argv: readonly string[];
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Base of relative paths given by flags and the environment, and of the config file path. */
  readonly cwd: string;
  /** Return arguments that are not options in `positionals` instead of reporting them; default false. */
  readonly allowPositionals?: boolean;
}

/** What {@link loadOptions} read. `values` is complete only when `problems` is empty. */
export interface LoadedOptions {
  /** One entry per definition key: the value of the highest-precedence valid source. */
  readonly values: Record<string, unknown>;
  readonly origins: ReadonlyMap<string, Origin>;
  /** Keys with at least one invalid value; rules over them are skipped to avoid follow-on noise. */
  readonly failed: ReadonlySet<string>;
  /** One line each, naming the source and the offending value. */
  readonly problems: string[];
  /** Unknown `HERALD_*` environment variables: reported, not fatal (they may belong to a newer version). */
  readonly warnings: string[];
  readonly positionals: string[];
  /** Absolute path of the config file read, if any. */
  readonly configFile: string | undefined;
}

/** {@link LoadedOptions} while it is being filled. */
interface LoadState extends Omit<LoadedOptions, 'origins' | 'failed' | 'configFile'> {
  readonly origins: Map<string, Origin>;
  readonly failed: Set<string>;
}

interface FlagAssignment {
  readonly definition: OptionDefinition;
  readonly flag: string;
  readonly text: string;
}

interface ParsedArgv {
  readonly assignments: FlagAssignment[];
  configPath: string | undefined;
  readonly positionals: string[];
}

/** Reads every source, lowest precedence first: defaults < config file < environment < flags. */
export function loadOptions(definitions: readonly OptionDefinition[], inputs: OptionInputs): LoadedOptions {
  const values: Record<string, unknown> = {};
  const origins = new Map<string, Origin>();
  for (const definition of definitions) {
    values[definition.key] = definition.default;
    origins.set(definition.key, { kind: 'default', name: `${definition.key} (default)` });
  }
  const result: LoadState = { values, origins, failed: new Set(), problems: [], warnings: [], positionals: [] };
  const argv = parseArgv(definitions, inputs, result.problems);
  result.positionals.push(...argv.positionals);
  const configPath = argv.configPath ?? nonEmpty(inputs.env[CONFIG_FILE_OPTION.env]);
  const configFile = configPath === undefined ? undefined : readConfigFile(definitions, configPath, inputs.cwd, result);
  readEnvironment(definitions, inputs, result);
  for (const { definition, flag, text } of argv.assignments) {
    assign(result, definition, { kind: 'flag', name: flag }, flag, parseText(definition, text), inputs.cwd);
  }
  return { ...result, configFile };
}

/** Records a parsed value and its origin, or the problem; path options are resolved against `pathBase`. */
function assign(
  result: LoadState,
  definition: OptionDefinition,
  origin: Origin,
  label: string,
  parsed: ParseResult,
  pathBase: string,
): void {
  if (!parsed.ok) {
    result.problems.push(`${label}: ${parsed.problem}`);
    result.failed.add(definition.key);
    return;
  }
  const isPath = definition.type === 'string' && definition.path === true;
  result.values[definition.key] = isPath ? resolve(pathBase, parsed.value as string) : parsed.value;
  result.origins.set(definition.key, origin);
}

/**
 * `--name=value` and `--name value`; booleans as `--name`, `--no-name` or
 * `--name=false`; `--` ends options. A separate value may not start with `--`
 * (write `--name=--value`). Repeated flags: the last wins.
 */
function parseArgv(definitions: readonly OptionDefinition[], inputs: OptionInputs, problems: string[]): ParsedArgv {
  const byFlag = new Map(definitions.map((definition) => [definition.flag as string, definition]));
  const parsed: ParsedArgv = { assignments: [], configPath: undefined, positionals: [] };
  const { argv } = inputs;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--') {
      parsed.positionals.push(...argv.slice(i + 1));
      break;
    }
    if (!arg.startsWith('-') || arg === '-') parsed.positionals.push(arg);
    else if (parseOption(byFlag, arg, argv[i + 1], parsed, problems)) i++;
  }
  if (inputs.allowPositionals !== true) {
    for (const positional of parsed.positionals) problems.push(`unexpected argument ${JSON.stringify(positional)}`);
  }
  return parsed;
}

/**
 * Handles one `--flag[=value]`, taking `next` as its value when it needs one;
 * returns whether it did. An unknown flag also takes `next` when it looks
 * like a value, so `--ws-prot 80` reports one problem, not two.
 */
function parseOption(
  byFlag: ReadonlyMap<string, OptionDefinition>,
  arg: string,
  next: string | undefined,
  parsed: ParsedArgv,
  problems: string[],
): boolean {
  const equals = arg.indexOf('=');
  const flag = equals < 0 ? arg : arg.slice(0, equals);
  const inline = equals < 0 ? undefined : arg.slice(equals + 1);
  const negated = flag.startsWith('--no-') ? byFlag.get(`--${flag.slice(5)}`) : undefined;
  const definition = byFlag.get(flag) ?? (negated?.type === 'boolean' ? negated : undefined);
  if (definition?.type === 'boolean') {
    if (definition !== negated) parsed.assignments.push({ definition, flag, text: inline ?? 'true' });
    else if (inline === undefined) parsed.assignments.push({ definition, flag, text: 'false' });
    else problems.push(`${flag}: takes no value, got ${JSON.stringify(inline)}`);
    return false;
  }
  const nextIsValue = inline === undefined && next !== undefined && !next.startsWith('--');
  const value = inline ?? (nextIsValue ? next : undefined);
  if (definition === undefined && flag !== CONFIG_FILE_OPTION.flag) {
    problems.push(`unknown option ${flag}${didYouMean(flag, knownFlags([...byFlag.values()]))}`);
  } else if (value === undefined) {
    problems.push(`${flag}: missing value`);
  } else if (definition === undefined) {
    parsed.configPath = value;
  } else {
    parsed.assignments.push({ definition, flag, text: value });
  }
  return nextIsValue;
}

function knownFlags(definitions: readonly OptionDefinition[]): string[] {
  const flags: string[] = [CONFIG_FILE_OPTION.flag];
  for (const { flag, type } of definitions) flags.push(flag, ...(type === 'boolean' ? [`--no-${flag.slice(2)}`] : []));
  return flags;
}

/** Environment variables set to the empty string count as unset (as `FOO=` in a compose file usually means). */
function readEnvironment(definitions: readonly OptionDefinition[], inputs: OptionInputs, result: LoadState): void {
  const known = new Set<string>([CONFIG_FILE_OPTION.env]);
  for (const definition of definitions) {
    known.add(definition.env);
    const text = nonEmpty(inputs.env[definition.env]);
    if (text === undefined) continue;
    const origin: Origin = { kind: 'env', name: definition.env };
    assign(result, definition, origin, definition.env, parseText(definition, text), inputs.cwd);
  }
  for (const name of Object.keys(inputs.env)) {
    if (!name.startsWith('HERALD_') || known.has(name)) continue;
    result.warnings.push(`${name} is not a Herald option and was ignored${didYouMean(name, known)}`);
  }
}

/**
 * Reads the JSON object at `path` (relative to `cwd`) into `result`. Messages
 * name the file as the user wrote it; relative path options in it are
 * resolved against its folder. Returns the absolute path.
 */
function readConfigFile(
  definitions: readonly OptionDefinition[],
  path: string,
  cwd: string,
  result: LoadState,
): string {
  const absolute = resolve(cwd, path);
  const label = `config file ${path}`;
  const json = readJsonObject(absolute, label, result.problems);
  if (json === undefined) return absolute;
  const byKey = new Map(definitions.map((definition) => [definition.key, definition]));
  for (const [key, value] of Object.entries(json)) {
    const definition = byKey.get(key);
    if (definition === undefined) {
      result.problems.push(`${label}: unknown key ${JSON.stringify(key)}${didYouMean(key, byKey.keys())}`);
      continue;
    }
    const origin: Origin = { kind: 'file', name: `${key} in ${label}` };
    assign(result, definition, origin, `${label}: ${key}`, parseJson(definition, value), dirname(absolute));
  }
  return absolute;
}

function readJsonObject(absolute: string, label: string, problems: string[]): Record<string, unknown> | undefined {
  let text: string;
  try {
    text = readFileSync(absolute, 'utf8');
  } catch (error) {
    problems.push(`${label}: ${describeReadError(error, absolute)}`);
    return undefined;
  }
  let json: unknown;
  try {
    json = JSON.parse(text.startsWith('\uFEFF') ? text.slice(1) : text);
  } catch (error) {
    problems.push(`${label}: invalid JSON: ${(error as Error).message}`);
    return undefined;
  }
  if (json === null || typeof json !== 'object' || Array.isArray(json)) {
    problems.push(`${label}: must hold a JSON object of options, e.g. {"wsPort": 9992}`);
    return undefined;
  }
  return json as Record<string, unknown>;
}

function describeReadError(error: unknown, absolute: string): string {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return `not found (looked for ${absolute})`;
  if (code === 'EISDIR') return `is a directory (${absolute})`;
  if (code === 'EACCES') return `permission denied (${absolute})`;
  return `cannot be read: ${(error as Error).message}`;
}

function nonEmpty(text: string | undefined): string | undefined {
  return text === '' ? undefined : text;
}
