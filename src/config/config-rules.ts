/**
 * Rules that span several options, checked after every source is read. A new
 * rule is one more entry in {@link CONFIG_RULES}.
 */
import type { ConfigKey, HeraldConfig } from './option-definitions.js';
import { PROXY_CONFIG_RULES } from './proxy-options.js';
import { isLoopbackHost } from '../util/loopback.js';

/** What a rule may ask about the sources of values. */
export interface RuleContext {
  /** Where a value came from: `--jwt-secret`, `HERALD_AUTH_URL`, `jwtIssuer in config file ./h.json`, `wsPort (default)`. */
  origin(key: ConfigKey): string;
}

/** A check over several fields; returns the problem, naming the origins of the values involved. */
export interface ConfigRule {
  /** Fields the rule reads; it is skipped when one of them had an invalid value (already reported). */
  readonly keys: readonly ConfigKey[];
  check(config: HeraldConfig, context: RuleContext): string | undefined;
}

const JWT_KEY_SOURCES = ['jwtSecret', 'jwtPublicKeyFile', 'jwtJwksFile'] as const satisfies readonly ConfigKey[];
const JWT_CLAIM_OPTIONS = ['jwtAlgorithms', 'jwtIssuer', 'jwtAudience'] as const satisfies readonly ConfigKey[];
const JWT_OPTIONS = [...JWT_KEY_SOURCES, ...JWT_CLAIM_OPTIONS];

const LISTENERS = {
  ws: { name: 'WebSocket', host: 'wsHost', port: 'wsPort' },
  api: { name: 'HTTP', host: 'apiHost', port: 'apiPort' },
  grpc: { name: 'gRPC', host: 'grpcHost', port: 'grpcPort' },
} as const;
type Listener = (typeof LISTENERS)[keyof typeof LISTENERS];
const LISTENER_PAIRS: readonly (readonly [Listener, Listener])[] = [
  [LISTENERS.ws, LISTENERS.api],
  [LISTENERS.ws, LISTENERS.grpc],
  [LISTENERS.api, LISTENERS.grpc],
];

/** Addresses that bind every interface, so they collide with any other host on the same port. */
const WILDCARD_HOSTS: ReadonlySet<string> = new Set(['0.0.0.0', '::']);

function setKeys(config: HeraldConfig, keys: readonly ConfigKey[]): ConfigKey[] {
  return keys.filter((key) => config[key] !== undefined);
}

/** `a`, `a and b`, `a, b and c`. */
function listOrigins(context: RuleContext, keys: readonly ConfigKey[]): string {
  const names = keys.map((key) => context.origin(key));
  return names.length < 2 ? names.join('') : `${names.slice(0, -1).join(', ')} and ${names[names.length - 1]}`;
}

/** Every cross-field rule, in reporting order. */
export const CONFIG_RULES: readonly ConfigRule[] = [
  {
    keys: JWT_KEY_SOURCES,
    check(config, context) {
      const set = setKeys(config, JWT_KEY_SOURCES);
      if (set.length < 2) return undefined;
      return `${listOrigins(context, set)}: configure at most one JWT key source (jwtSecret, jwtPublicKeyFile or jwtJwksFile)`;
    },
  },
  {
    keys: [...JWT_OPTIONS, 'authUrl'],
    check(config, context) {
      const jwt = setKeys(config, JWT_OPTIONS);
      if (config.authUrl === undefined || jwt.length === 0) return undefined;
      return `${listOrigins(context, [...jwt, 'authUrl'])}: configure one login method: JWT or auth URL`;
    },
  },
  {
    keys: [...JWT_OPTIONS, 'authUrl'],
    check(config, context) {
      // With an auth URL, the rule above already reports the JWT options.
      if (config.authUrl !== undefined || setKeys(config, JWT_KEY_SOURCES).length > 0) return undefined;
      const orphans = setKeys(config, JWT_CLAIM_OPTIONS);
      if (orphans.length === 0) return undefined;
      return `${listOrigins(context, orphans)}: requires a JWT key source (jwtSecret, jwtPublicKeyFile or jwtJwksFile)`;
    },
  },
  {
    // Mixing HMAC and public-key algorithms invites algorithm confusion; a key verifies only its own family.
    keys: ['jwtAlgorithms', 'jwtSecret', 'jwtPublicKeyFile'],
    check(config, context) {
      const algorithms = config.jwtAlgorithms ?? [];
      const hmac = config.jwtSecret !== undefined;
      if (!hmac && config.jwtPublicKeyFile === undefined) return undefined;
      const wrong = algorithms.filter((algorithm) => algorithm.startsWith('HS') !== hmac);
      if (wrong.length === 0) return undefined;
      const key: ConfigKey = hmac ? 'jwtSecret' : 'jwtPublicKeyFile';
      const needs = hmac ? 'a public key (jwtPublicKeyFile or jwtJwksFile)' : 'a shared secret (jwtSecret)';
      return `${listOrigins(context, ['jwtAlgorithms', key])}: ${wrong.join(', ')} cannot be verified with ${key}; `
        + `${wrong.length > 1 ? 'they need' : 'it needs'} ${needs}`;
    },
  },
  ...LISTENER_PAIRS.map(([a, b]): ConfigRule => ({
    keys: [a.host, a.port, b.host, b.port],
    check(config, context) {
      const hostA = config[a.host];
      const hostB = config[b.host];
      const port = config[a.port];
      if (port === 0 || port !== config[b.port]) return undefined;
      if (hostA !== hostB && !WILDCARD_HOSTS.has(hostA) && !WILDCARD_HOSTS.has(hostB)) return undefined;
      return `${listOrigins(context, [a.port, b.port])}: the ${a.name} and ${b.name} listeners `
        + `cannot share port ${port} (hosts ${hostA} and ${hostB} overlap)`;
    },
  })),
  {
    keys: ['tlsCertFile', 'tlsKeyFile'],
    check(config, context) {
      const set = setKeys(config, ['tlsCertFile', 'tlsKeyFile']);
      if (set.length !== 1) return undefined;
      return `${listOrigins(context, set)}: TLS needs both a certificate file and a key file`;
    },
  },
  {
    keys: ['tlsCertFile', 'workers'],
    check(config, context) {
      if (config.tlsCertFile === undefined || config.workers <= 1) return undefined;
      return `${listOrigins(context, ['tlsCertFile', 'workers'])}: TLS with several workers is not supported yet; `
        + 'terminate TLS in front of Herald or run one process';
    },
  },
  {
    keys: ['tlsCertFile', 'transport'],
    check(config, context) {
      if (config.tlsCertFile === undefined || config.transport !== 'raw') return undefined;
      return `${listOrigins(context, ['tlsCertFile', 'transport'])}: TLS connections run on tls sockets, not raw TCP `
        + 'handles; use --transport auto or net with TLS';
    },
  },
  {
    // An open push API lets anyone who reaches it push to every client: only on loopback, unless asked for.
    keys: ['apiHost', 'grpcHost', 'pushTokens', 'insecurePushApi'],
    check(config, context) {
      if ((config.pushTokens?.length ?? 0) > 0 || config.insecurePushApi) return undefined;
      const exposed = (['apiHost', 'grpcHost'] as const).filter((key) => !isLoopbackHost(config[key]));
      if (exposed.length === 0) return undefined;
      return `${listOrigins(context, exposed)}: the push API would listen on a non-loopback address without a token; `
        + 'set --push-tokens (HERALD_PUSH_TOKENS, key pushTokens), or --insecure-push-api to allow it anyway';
    },
  },
  {
    // As a proxy namespace without --subscribe-proxy-url: every subscribe to its topics would be
    // refused ("subscription tokens are not configured"), a mistake to report at start.
    keys: ['namespaces', ...JWT_KEY_SOURCES],
    check(config, context) {
      if (setKeys(config, JWT_KEY_SOURCES).length > 0) return undefined;
      const tokened = config.namespaces?.list.find((namespace) => namespace.subscribe === 'token');
      if (tokened === undefined) return undefined;
      return `${context.origin('namespaces')}: namespaces[${tokened.index}] ("${tokened.topics}") has "subscribe": "token" `
        + 'but no JWT key source (jwtSecret, jwtPublicKeyFile or jwtJwksFile) is set to verify its subscription tokens';
    },
  },
  ...PROXY_CONFIG_RULES,
];

/** Runs every rule whose fields all parsed; returns the problems in rule order. */
export function checkRules(
  rules: readonly ConfigRule[],
  config: HeraldConfig,
  context: RuleContext,
  failed: ReadonlySet<string>,
): string[] {
  const problems: string[] = [];
  for (const rule of rules) {
    if (rule.keys.some((key) => failed.has(key))) continue;
    const problem = rule.check(config, context);
    if (problem !== undefined) problems.push(problem);
  }
  return problems;
}
