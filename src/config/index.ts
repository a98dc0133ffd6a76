/**
 * Configuration: one table of option definitions drives flags, `HERALD_*`
 * environment variables, config-file keys, validation and `--help`.
 */
export {
  CONFIG_FILE_OPTION,
  JWT_ALGORITHMS,
  LOG_LEVELS,
  OPTION_DEFINITIONS,
  type BooleanOption,
  type ConfigKey,
  type ConfigOf,
  type EnumOption,
  type HeraldConfig,
  type NumericOption,
  type OptionDefinition,
  type OptionScope,
  type OptionType,
  type StringListOption,
  type StringOption,
} from './option-definitions.js';
export { ConfigError, loadConfig, type LoadConfigOptions, type LoadedConfig } from './load-config.js';
export { formatHelp } from './format-help.js';
export { CONFIG_RULES, type ConfigRule, type RuleContext } from './config-rules.js';
export { formatBytes, formatDuration, parseBytes, parseDuration, MAX_DURATION_MS } from './value-parsers.js';
