/**
 * Option table rows: limits on connections and origins, answered before the upgrade.
 * Assembled, in `--help` order, by `option-definitions.ts` (see its header).
 */
import type { OptionDefinition } from './option-types.js';

export const ADMISSION_OPTIONS = [
  // Limits on connections (answered before the upgrade)
  {
    scope: 'node',
    key: 'maxConnections', flag: '--max-connections', env: 'HERALD_MAX_CONNECTIONS', type: 'int', min: 1,
    description: 'Most client connections at once (per process); more get 503. Unset: no limit but the file '
      + 'descriptor limit.',
  },
  {
    scope: 'node',
    key: 'maxConnectionsPerIp', flag: '--max-connections-per-ip', env: 'HERALD_MAX_CONNECTIONS_PER_IP', type: 'int',
    min: 1, description: 'Most connections at once from one IP address; more get 429. Unset: no limit.',
  },
  {
    scope: 'node',
    key: 'newConnectionsPerSecondPerIp', flag: '--new-connections-per-second-per-ip',
    env: 'HERALD_NEW_CONNECTIONS_PER_SECOND_PER_IP', type: 'number', min: 0.01,
    description: 'New connections per second one IP address may open (bursts up to the same number); '
      + 'faster ones get 429. Unset: no limit.',
  },
  {
    scope: 'node',
    key: 'allowedOrigins', flag: '--allowed-origins', env: 'HERALD_ALLOWED_ORIGINS', type: 'string[]',
    placeholder: 'origins',
    description: 'Origins browsers may connect from: exact (https://app.example.com), subdomain wildcards '
      + '(https://*.example.com, matching host names only) or *; others get 403, as does an Origin that is not exactly '
      + 'scheme://host[:port] or is sent twice. Clients without an Origin header are not affected. '
      + 'Unset: any origin.',
  },
] as const satisfies readonly OptionDefinition[];
