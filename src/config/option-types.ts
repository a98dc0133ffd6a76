/**
 * The types of the option table's rows ({@link OptionDefinition}) and of the
 * configuration a table produces ({@link ConfigOf}).
 */

/** How an option's text is parsed; see `value-parsers.ts` for accepted forms. */
export type OptionType = 'string' | 'int' | 'number' | 'boolean' | 'bytes' | 'duration' | 'enum' | 'string[]' | 'json';

/** See {@link OptionBase.scope}. */
export type OptionScope = 'node' | 'process';

interface OptionBase<T> {
  /**
   * Who reads the option. `node`: a setting of `HeraldNode`, passed as the
   * `HeraldNodeOptions` field of the same name; an embedder who leaves it out
   * gets this row's default (`OPTION_DEFAULTS`). `process`: read only around the
   * node, by `main.ts`, the cluster or the config rules (logging, workers, key
   * files, the engine's connection...). A unit test checks every row has one.
   */
  readonly scope: OptionScope;
  /** camelCase field of {@link HeraldConfig}; also the config-file key. */
  readonly key: string;
  /** Long CLI flag, e.g. `--ws-port`. Booleans also accept `--no-<name>`. */
  readonly flag: `--${string}`;
  /** Environment variable, e.g. `HERALD_WS_PORT`. */
  readonly env: `HERALD_${string}`;
  /** One or two sentences for `--help`, stating the unit of plain numbers. */
  readonly description: string;
  /** Value when no source sets the option (already in the stored unit); absent: `undefined`. */
  readonly default?: T;
  /** Word in `--help` after the flag, e.g. `port` → `--ws-port <port>`; default: the type. */
  readonly placeholder?: string;
  /** Never echo the value in errors or help (secrets). */
  readonly secret?: boolean;
  /** Extra check after parsing; returns the problem (e.g. `must start with "/"`) or undefined. */
  readonly validate?: (value: T) => string | undefined;
}

/** A text option; the empty string is rejected. */
export interface StringOption extends OptionBase<string> {
  readonly type: 'string';
  /** A file path: resolved to absolute, relative to the config file's folder or to `cwd`. */
  readonly path?: boolean;
}

/** `int`, `number`, `bytes` (stored in bytes) or `duration` (stored in milliseconds). */
export interface NumericOption extends OptionBase<number> {
  readonly type: 'int' | 'number' | 'bytes' | 'duration';
  /** Smallest value accepted (inclusive), in the stored unit. */
  readonly min?: number;
  /** Largest value accepted (inclusive), in the stored unit; durations are capped at 2^31 − 1 ms regardless. */
  readonly max?: number;
}

/** A flag `--x` / `--no-x`; env and flag values `true`, `false`, `1`, `0`. */
export interface BooleanOption extends OptionBase<boolean> {
  readonly type: 'boolean';
}

/** One of a fixed set of strings. */
export interface EnumOption extends OptionBase<string> {
  readonly type: 'enum';
  readonly values: readonly string[];
}

/** A non-empty list; comma-separated in flags and env, a JSON array in the config file. */
export interface StringListOption extends OptionBase<readonly string[]> {
  readonly type: 'string[]';
  /** When present, every item must be one of these. */
  readonly values?: readonly string[];
}

/**
 * A structured value: any JSON in the config file, JSON text in a flag or
 * environment variable, turned into its stored form by `parse`, which throws
 * an Error naming the bad field (`namespaces[1].subscribe: …`) when invalid.
 */
export interface JsonOption<T = unknown> extends OptionBase<T> {
  readonly type: 'json';
  readonly parse: (json: unknown) => T;
}

/** One row of {@link OPTION_DEFINITIONS}. */
export type OptionDefinition = StringOption | NumericOption | BooleanOption | EnumOption | StringListOption | JsonOption;

type ValueOf<D> = D extends { readonly type: 'json'; readonly parse: (json: unknown) => infer T }
  ? T
  : D extends { readonly type: 'enum'; readonly values: readonly (infer V)[] }
  ? V
  : D extends { readonly type: 'string[]'; readonly values: readonly (infer V)[] }
    ? readonly V[]
    : D extends { readonly type: 'string[]' }
      ? readonly string[]
      : D extends { readonly type: 'boolean' }
        ? boolean
        : D extends { readonly type: 'string' }
          ? string
          : number;

/**
 * The configuration object a table of definitions produces: one readonly field
 * per row, typed by the row's `type` (enum and list values narrowed to their
 * literals), `| undefined` when the row has no default.
 */
export type ConfigOf<Defs extends readonly OptionDefinition[]> = {
  readonly [D in Defs[number] as D['key']]: ValueOf<D> | (D extends { readonly default: unknown } ? never : undefined);
};
