import { checkRules, CONFIG_RULES } from './config-rules.js';
import { OPTION_DEFINITIONS, type ConfigKey, type HeraldConfig } from './option-definitions.js';
import { loadOptions } from './option-loader.js';

/**
 * The configuration could not be loaded. `problems` holds every problem found
 * across all sources, one line each, naming the source and the offending value
 * (`--ws-port: "abc" is not an integer`); `message` is those lines joined by
 * newlines.
 */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  /** One line per problem: command-line syntax, config file, environment, flag values, then cross-field rules. */
  readonly problems: readonly string[];
  /** Warnings gathered before the failure (see {@link LoadedConfig.warnings}). */
  readonly warnings: readonly string[];

  constructor(problems: readonly string[], warnings: readonly string[] = []) {
    super(problems.join('\n'));
    this.problems = problems;
    this.warnings = warnings;
  }
}

/** Inputs of {@link loadConfig}; an omitted field falls back to the running process. */
export interface LoadConfigOptions {
  /** Command-line arguments without the node and script paths; default `process.argv.slice(2)`. */
  readonly argv?: readonly string[];
  /** Environment variables; default `process.env`. */
  readonly env?: NodeJS.ProcessEnv | Readonly<Record<string, string | undefined>>;
  /** Base of a relative config-file path and of relative paths in flags and env; default `process.cwd()`. */
  readonly cwd?: string;
  /**
   * Return non-option arguments in `positionals` instead of rejecting them;
   * default false (a caller that handles subcommands strips them first, or
   * sets this). Arguments after `--` are always positionals.
   */
  readonly allowPositionals?: boolean;
}

/**
 * A {@link HeraldConfig} plus what loading it noticed. It is assignable to
 * `HeraldConfig`; frozen, like its arrays.
 */
export interface LoadedConfig extends HeraldConfig {
  /**
   * Non-fatal findings, one line each: `HERALD_*` environment variables that
   * name no option (with a suggestion), which a newer or older Herald may
   * define, so they do not stop startup. Callers should log them.
   */
  readonly warnings: readonly string[];
  /** Non-option arguments, when `allowPositionals` is set; otherwise empty. */
  readonly positionals: readonly string[];
  /** Absolute path of the config file that was read, if any. */
  readonly configFile: string | undefined;
}

/**
 * Loads Herald's configuration from, in increasing precedence: the defaults
 * in {@link OPTION_DEFINITIONS}, the JSON config file named by `--config` or
 * `HERALD_CONFIG`, `HERALD_*` environment variables, and command-line flags.
 *
 * Every source is read and every problem collected before anything is thrown:
 * unparsable or out-of-range values, unknown flags and config-file keys (with
 * a "did you mean"), a missing or malformed config file, unexpected positional
 * arguments, and the cross-field rules of `CONFIG_RULES`. Environment
 * variables set to the empty string count as unset. `--help` is not handled
 * here: see `formatHelp`. The only I/O is reading the config file.
 *
 * @throws {ConfigError} listing every problem.
 */
export function loadConfig(input: LoadConfigOptions = {}): LoadedConfig {
  const loaded = loadOptions(OPTION_DEFINITIONS, {
    argv: input.argv ?? process.argv.slice(2),
    env: input.env ?? process.env,
    cwd: input.cwd ?? process.cwd(),
    allowPositionals: input.allowPositionals,
  });
  const config = loaded.values as unknown as HeraldConfig;
  const context = { origin: (key: ConfigKey) => loaded.origins.get(key)?.name ?? key };
  const problems = [...loaded.problems, ...checkRules(CONFIG_RULES, config, context, loaded.failed)];
  if (problems.length > 0) throw new ConfigError(problems, loaded.warnings);
  for (const value of Object.values(config)) if (Array.isArray(value)) Object.freeze(value);
  return Object.freeze({
    ...config,
    warnings: Object.freeze(loaded.warnings),
    positionals: Object.freeze(loaded.positionals),
    configFile: loaded.configFile,
  });
}
