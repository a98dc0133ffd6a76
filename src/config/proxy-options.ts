/**
 * Option table rows: the subscribe proxy and the connect proxy (PROTOCOL.md, "Backend proxies").
 * Assembled, in `--help` order, by `option-definitions.ts` (see its header). All `process` scope:
 * `main.ts` and the cluster workers build the proxies from them and hand them to `HeraldNode`.
 */
import type { ConfigRule } from './config-rules.js';
import type { OptionDefinition } from './option-types.js';

function backendUrl(value: string): string | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return 'is not a URL';
  }
  if (url.protocol === 'http:' || url.protocol === 'https:') return undefined;
  if (url.protocol === 'grpc:' || url.protocol === 'grpcs:') {
    return url.hostname !== '' && url.port !== '' ? undefined : 'must name host and port: grpc://host:port';
  }
  return 'must be an http:, https:, grpc: or grpcs: URL';
}

const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

export const PROXY_OPTIONS = [
  // Subscribe proxy: the backend decides subscribes to namespaces with "subscribe": "proxy"
  {
    scope: 'process',
    key: 'subscribeProxyUrl', flag: '--subscribe-proxy-url', env: 'HERALD_SUBSCRIBE_PROXY_URL', type: 'string', placeholder: 'url',
    validate: backendUrl,
    description: 'Backend asked whether a client may subscribe to a topic of a "proxy" namespace: '
      + 'http(s):// (POST JSON) or grpc://host:port (herald.v1.Backend).',
  },
  {
    scope: 'process',
    key: 'subscribeProxyTimeoutMs', flag: '--subscribe-proxy-timeout', env: 'HERALD_SUBSCRIBE_PROXY_TIMEOUT', type: 'duration',
    default: 2_000, min: 1,
    description: 'Time a subscribe check may take, queueing included; a slower one is refused "backend timeout".',
  },
  {
    scope: 'process',
    key: 'subscribeProxyConcurrency', flag: '--subscribe-proxy-concurrency', env: 'HERALD_SUBSCRIBE_PROXY_CONCURRENCY', type: 'int',
    default: 64, min: 1, description: 'Subscribe checks in flight to the backend at once (per process).',
  },
  {
    scope: 'process',
    key: 'subscribeProxyQueue', flag: '--subscribe-proxy-queue', env: 'HERALD_SUBSCRIBE_PROXY_QUEUE', type: 'int',
    default: 1_000, min: 0,
    description: 'Subscribe checks waiting for a free slot; more are refused "backend overloaded" at once.',
  },
  {
    scope: 'process',
    key: 'subscribeProxyCacheMs', flag: '--subscribe-proxy-cache', env: 'HERALD_SUBSCRIBE_PROXY_CACHE', type: 'duration',
    default: 0, min: 0,
    description: 'Keep an allowed answer this long per (uid, topic, private); 0: off. Refusals are never kept; '
      + 'a revoked access still passes until its answer ages out.',
  },
  // Connect proxy: the backend admits each new connection, and may log it in
  {
    scope: 'process',
    key: 'connectProxyUrl', flag: '--connect-proxy-url', env: 'HERALD_CONNECT_PROXY_URL', type: 'string', placeholder: 'url',
    validate: backendUrl,
    description: 'Backend asked to admit each new connection (forwarding its cookies), which may log it in and subscribe it: '
      + 'http(s):// (POST JSON) or grpc://host:port.',
  },
  {
    scope: 'process',
    key: 'connectProxyTimeoutMs', flag: '--connect-proxy-timeout', env: 'HERALD_CONNECT_PROXY_TIMEOUT', type: 'duration',
    default: 2_000, min: 1,
    description: 'Time a connect check may take, queueing included; a slower one closes the connection with 4102.',
  },
  {
    scope: 'process',
    key: 'connectProxyConcurrency', flag: '--connect-proxy-concurrency', env: 'HERALD_CONNECT_PROXY_CONCURRENCY', type: 'int',
    default: 64, min: 1, description: 'Connect checks in flight to the backend at once (per process).',
  },
  {
    scope: 'process',
    key: 'connectProxyQueue', flag: '--connect-proxy-queue', env: 'HERALD_CONNECT_PROXY_QUEUE', type: 'int',
    default: 1_000, min: 0,
    description: 'Connect checks waiting for a free slot; more close their connection with 4102 at once.',
  },
  {
    scope: 'process',
    key: 'connectProxyHeaders', flag: '--connect-proxy-headers', env: 'HERALD_CONNECT_PROXY_HEADERS', type: 'string[]',
    default: ['cookie'], placeholder: 'names',
    validate: (names: readonly string[]) => {
      const bad = names.find((name) => !HEADER_NAME.test(name));
      return bad === undefined ? undefined : `has ${JSON.stringify(bad)}, not an HTTP header name`;
    },
    description: 'Upgrade request headers forwarded to the connect proxy.',
  },
] as const satisfies readonly OptionDefinition[];

/**
 * A `"subscribe": "proxy"` namespace with no subscribe proxy would refuse every subscribe to its
 * topics: a configuration mistake, reported at start rather than found by users.
 */
export const PROXY_CONFIG_RULES: readonly ConfigRule[] = [
  {
    keys: ['namespaces', 'subscribeProxyUrl'],
    check(config, context) {
      if (config.subscribeProxyUrl !== undefined) return undefined;
      const proxied = config.namespaces?.list.find((namespace) => namespace.subscribe === 'proxy');
      if (proxied === undefined) return undefined;
      return `${context.origin('namespaces')}: namespaces[${proxied.index}] ("${proxied.topics}") has "subscribe": "proxy" but --subscribe-proxy-url is not set`;
    },
  },
];
