/**
 * Option table rows: the listeners (WebSocket, HTTP, gRPC) and who may use the push APIs.
 * Assembled, in `--help` order, by `option-definitions.ts` (see its header).
 */
import type { OptionDefinition } from './option-types.js';

export const LISTENER_OPTIONS = [
  // WebSocket listener
  {
    scope: 'node',
    key: 'wsHost', flag: '--ws-host', env: 'HERALD_WS_HOST', type: 'string', default: '0.0.0.0', placeholder: 'host',
    description: 'Address the WebSocket listener binds: 0.0.0.0 for every IPv4 interface, :: for every interface.',
  },
  {
    scope: 'node',
    key: 'wsPort', flag: '--ws-port', env: 'HERALD_WS_PORT', type: 'int', default: 9992, min: 0, max: 65535,
    placeholder: 'port', description: 'TCP port of the WebSocket listener; 0 picks a free port.',
  },
  {
    scope: 'node',
    key: 'wsPath', flag: '--ws-path', env: 'HERALD_WS_PATH', type: 'string', default: '/ws', placeholder: 'path',
    description: 'URL path clients upgrade on; requests for other paths get 404.',
    validate: (value: string) => (value.startsWith('/') ? undefined : 'must start with "/"'),
  },
  {
    scope: 'node',
    key: 'transport', flag: '--transport', env: 'HERALD_TRANSPORT', type: 'enum', default: 'auto',
    values: ['auto', 'raw', 'net'], placeholder: 'mode',
    description: 'How WebSocket connections are served. raw: straight on libuv TCP handles (Node internals; about '
      + '1.6 KB less per connection); net: on net.Socket; auto (default): raw if a loopback self-check of those '
      + 'handles passes at start, else net with a warning. raw fails to start if the self-check fails. '
      + 'TLS always runs on tls sockets.',
  },
  // HTTP listener: push API, health, metrics
  {
    scope: 'node',
    key: 'apiHost', flag: '--api-host', env: 'HERALD_API_HOST', type: 'string', default: '127.0.0.1', placeholder: 'host',
    description: 'Address of the HTTP listener serving the push API, health checks and metrics. '
      + 'Loopback by default: the push API is for trusted backends.',
  },
  {
    scope: 'node',
    key: 'apiPort', flag: '--api-port', env: 'HERALD_API_PORT', type: 'int', default: 10068, min: 0, max: 65535,
    placeholder: 'port', description: 'TCP port of the HTTP listener; 0 picks a free port.',
  },
  // gRPC listener: push API
  {
    scope: 'node',
    key: 'grpcHost', flag: '--grpc-host', env: 'HERALD_GRPC_HOST', type: 'string', default: '127.0.0.1', placeholder: 'host',
    description: 'Address of the gRPC push API (order.Proxy and herald.v1.Push). Loopback by default.',
  },
  {
    scope: 'node',
    key: 'grpcPort', flag: '--grpc-port', env: 'HERALD_GRPC_PORT', type: 'int', default: 10067, min: 0, max: 65535,
    placeholder: 'port', description: 'TCP port of the gRPC push API; 0 picks a free port.',
  },
  // Push API security
  {
    scope: 'node',
    key: 'pushTokens', flag: '--push-tokens', env: 'HERALD_PUSH_TOKENS', type: 'string[]', secret: true,
    placeholder: 'tokens',
    description: 'Bearer tokens accepted by the HTTP and gRPC push APIs (several, comma-separated, for rotation; '
      + 'each at least 16 characters). Unset: the push APIs are open, which is refused on a non-loopback address.',
    validate: (tokens: readonly string[]) =>
      tokens.every((token) => token.length >= 16) ? undefined : 'each token must be at least 16 characters',
  },
  {
    scope: 'process',
    key: 'insecurePushApi', flag: '--insecure-push-api', env: 'HERALD_INSECURE_PUSH_API', type: 'boolean', default: false,
    description: 'Allow the push APIs to listen on a non-loopback address without a token. Anyone who can reach '
      + 'the port can then push to every client.',
  },
] as const satisfies readonly OptionDefinition[];
