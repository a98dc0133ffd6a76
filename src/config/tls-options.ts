/**
 * Option table rows: TLS certificates for every listener.
 * Assembled, in `--help` order, by `option-definitions.ts` (see its header).
 */
import type { OptionDefinition } from './option-types.js';

export const TLS_OPTIONS = [
  // TLS
  {
    scope: 'process',
    key: 'tlsCertFile', flag: '--tls-cert-file', env: 'HERALD_TLS_CERT_FILE', type: 'string', path: true,
    placeholder: 'file',
    description: 'PEM certificate chain: serve wss://, HTTPS and gRPC over TLS. Needs --tls-key-file. '
      + 'SIGHUP re-reads both files (a pair that fails to load keeps the old one in service).',
  },
  {
    scope: 'process',
    key: 'tlsKeyFile', flag: '--tls-key-file', env: 'HERALD_TLS_KEY_FILE', type: 'string', path: true,
    placeholder: 'file', description: 'PEM private key of --tls-cert-file.',
  },
] as const satisfies readonly OptionDefinition[];
