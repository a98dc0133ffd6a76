/**
 * Option table rows: the process: workers, shutdown, logging.
 * Assembled, in `--help` order, by `option-definitions.ts` (see its header).
 */
import type { OptionDefinition } from './option-types.js';

/** Levels accepted by `logLevel`, most to least severe (pino's names). */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

export const PROCESS_OPTIONS = [
  // Process
  {
    scope: 'process',
    key: 'workers', flag: '--workers', env: 'HERALD_WORKERS', type: 'int', default: 1, min: 1, max: 64,
    description: 'Gateway processes sharing the WebSocket port (node:cluster). 1 runs everything in one process; '
      + 'N > 1 adds a primary that serves the push APIs and forwards each push to every worker once.',
  },
  {
    scope: 'node',
    key: 'shutdownTimeoutMs', flag: '--shutdown-timeout', env: 'HERALD_SHUTDOWN_TIMEOUT', type: 'duration',
    default: 10_000, min: 0,
    description: 'On SIGTERM or SIGINT, time connections have to close gracefully before the process exits.',
  },
  {
    scope: 'process',
    key: 'logLevel', flag: '--log-level', env: 'HERALD_LOG_LEVEL', type: 'enum', default: 'info', values: LOG_LEVELS,
    placeholder: 'level', description: 'Least severe level logged; silent logs nothing.',
  },
  {
    scope: 'process',
    key: 'logFormat', flag: '--log-format', env: 'HERALD_LOG_FORMAT', type: 'enum', values: ['json', 'pretty'],
    placeholder: 'format',
    description: 'How log lines are written: json (one JSON object per line, for log collectors) or pretty (time, level, '
      + 'message and key=value fields, for a person at a terminal). Default: pretty when stdout is a terminal, json otherwise.',
  },
] as const satisfies readonly OptionDefinition[];
