/**
 * The one table of Herald's options. Each row drives the CLI flag, the
 * environment variable, the config-file key, validation, `--help` text and the
 * type of the field in {@link HeraldConfig}; a new option is one new row.
 *
 * The rows live in group files (`listener-options.ts`, `connection-options.ts`,
 * ...); this file assembles them in `--help` order. To add a group, write a
 * new group file exporting a readonly array of rows (`[...] as const satisfies
 * readonly OptionDefinition[]`), imported here and spread into the list below:
 * one import line and one spread line. Every row states its `scope`: `node`
 * for a setting `HeraldNode` takes (a `HeraldNodeOptions` field of the same
 * name, defaulting from this table), `process` for what only `main.ts`, the
 * cluster or the config rules read (see `OptionBase.scope` in option-types.ts;
 * `test/config/node-defaults.test.ts` checks each row has a scope and each
 * node row reaches HeraldNode with this default).
 *
 * Naming convention (checked by `test/config/option-definitions.test.ts`):
 * - `key` is camelCase and is also the config-file key;
 * - `flag` is `--` + kebab-case `key`, `env` is `HERALD_` + SCREAMING_SNAKE `key`;
 * - a `duration` key ends in `Ms` and stores milliseconds; its flag and env
 *   drop the suffix because they accept units (`--heartbeat-timeout 60s`);
 * - a `bytes` key ends in `Bytes` and stores bytes; its flag and env keep the
 *   suffix (`--max-message-bytes 64KiB`), since a bare number means bytes.
 */
import { ADMISSION_OPTIONS } from './admission-options.js';
import { CONNECTION_OPTIONS } from './connection-options.js';
import { ENGINE_OPTIONS } from './engine-options.js';
import { LISTENER_OPTIONS } from './listener-options.js';
import { LOGIN_OPTIONS } from './login-options.js';
import { NAMESPACE_OPTIONS } from './namespace-options.js';
import type { ConfigOf, NodeKeyOf, OptionDefinition } from './option-types.js';
import { PROCESS_OPTIONS } from './process-options.js';
import { PROXY_OPTIONS } from './proxy-options.js';
import { TLS_OPTIONS } from './tls-options.js';
import { TOPIC_OPTIONS } from './topic-options.js';
import { WEBHOOK_OPTIONS } from './webhook-options.js';

export type {
  BooleanOption,
  ConfigOf,
  EnumOption,
  JsonOption,
  NodeKeyOf,
  NumericOption,
  OptionDefinition,
  OptionScope,
  OptionType,
  StringListOption,
  StringOption,
} from './option-types.js';
export { JWT_ALGORITHMS } from './login-options.js';
export { LOG_LEVELS } from './process-options.js';

/**
 * Every option Herald reads, in `--help` order. See the module comment for the
 * naming convention and {@link loadConfig} for sources and precedence.
 */
export const OPTION_DEFINITIONS = [
  ...LISTENER_OPTIONS,
  ...CONNECTION_OPTIONS,
  ...TLS_OPTIONS,
  ...ADMISSION_OPTIONS,
  ...LOGIN_OPTIONS,
  ...TOPIC_OPTIONS,
  ...NAMESPACE_OPTIONS,
  ...ENGINE_OPTIONS,
  ...PROXY_OPTIONS,
  ...WEBHOOK_OPTIONS,
  ...PROCESS_OPTIONS,
] as const satisfies readonly OptionDefinition[];

/**
 * Herald's validated configuration: one readonly field per row of
 * {@link OPTION_DEFINITIONS} (see each row's description). Durations are
 * milliseconds (`...Ms`), sizes are bytes (`...Bytes`); fields of options
 * without a default are `undefined` when unset.
 */
export interface HeraldConfig extends ConfigOf<typeof OPTION_DEFINITIONS> {}

/** A field of {@link HeraldConfig}. */
export type ConfigKey = keyof HeraldConfig;

/** The defaults of the table: one field per row that has a default. */
export type OptionDefaults = {
  readonly [K in ConfigKey as undefined extends HeraldConfig[K] ? never : K]: HeraldConfig[K];
};

/**
 * Every row's default, by key (rows without a default are absent). The one
 * place defaults live: `HeraldNode` fills what an embedder leaves out from it,
 * and layers below the node take those values from the node.
 */
export const OPTION_DEFAULTS: OptionDefaults = Object.freeze(
  Object.fromEntries(
    (OPTION_DEFINITIONS as readonly OptionDefinition[])
      .filter((definition) => definition.default !== undefined)
      .map((definition) => [definition.key, definition.default]),
  ),
) as OptionDefaults;

/** A field of {@link HeraldConfig} that is a setting of `HeraldNode` (a row of scope `node`). */
export type NodeSettingKey = NodeKeyOf<typeof OPTION_DEFINITIONS>;

/** The keys of the rows of scope `node`, in table order. */
export const NODE_SETTING_KEYS: readonly NodeSettingKey[] = (OPTION_DEFINITIONS as readonly OptionDefinition[])
  .filter((definition) => definition.scope === 'node')
  .map((definition) => definition.key as NodeSettingKey);

/**
 * The option naming the config file. It is not a row of the table: it is read
 * before the others and is not itself a configuration value.
 */
export const CONFIG_FILE_OPTION = {
  flag: '--config',
  env: 'HERALD_CONFIG',
  placeholder: 'file',
  description: 'JSON file of options, keyed by the camelCase names shown as "key" below, '
    + 'e.g. {"wsPort": 9992, "heartbeatTimeoutMs": "60s"}. Relative paths inside it are relative to the file.',
} as const;
