/**
 * The one table of Herald's options. Each row drives the CLI flag, the
 * environment variable, the config-file key, validation, `--help` text and the
 * type of the field in {@link HeraldConfig}; a new option is one new row.
 *
 * Naming convention (checked by `test/config/option-definitions.test.ts`):
 * - `key` is camelCase and is also the config-file key;
 * - `flag` is `--` + kebab-case `key`, `env` is `HERALD_` + SCREAMING_SNAKE `key`;
 * - a `duration` key ends in `Ms` and stores milliseconds; its flag and env
 *   drop the suffix because they accept units (`--heartbeat-timeout 60s`);
 * - a `bytes` key ends in `Bytes` and stores bytes; its flag and env keep the
 *   suffix (`--max-message-bytes 64KiB`), since a bare number means bytes.
 */

/** How an option's text is parsed; see `value-parsers.ts` for accepted forms. */
export type OptionType = 'string' | 'int' | 'number' | 'boolean' | 'bytes' | 'duration' | 'enum' | 'string[]';

interface OptionBase<T> {
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

/** One row of {@link OPTION_DEFINITIONS}. */
export type OptionDefinition = StringOption | NumericOption | BooleanOption | EnumOption | StringListOption;

type ValueOf<D> = D extends { readonly type: 'enum'; readonly values: readonly (infer V)[] }
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

/** `alg` values a JWT may be verified with (those `jose` supports on Node 20). */
export const JWT_ALGORITHMS = [
  'HS256', 'HS384', 'HS512',
  'RS256', 'RS384', 'RS512',
  'PS256', 'PS384', 'PS512',
  'ES256', 'ES384', 'ES512',
  'EdDSA', 'Ed25519',
] as const;

/** Levels accepted by `logLevel`, most to least severe (pino's names). */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

function httpUrl(value: string): string | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return 'is not a URL';
  }
  return url.protocol === 'http:' || url.protocol === 'https:' ? undefined : 'must be an http: or https: URL';
}

/**
 * Every option Herald reads, in `--help` order. See the module comment for the
 * naming convention and {@link loadConfig} for sources and precedence.
 */
export const OPTION_DEFINITIONS = [
  // WebSocket listener
  {
    key: 'wsHost', flag: '--ws-host', env: 'HERALD_WS_HOST', type: 'string', default: '0.0.0.0', placeholder: 'host',
    description: 'Address the WebSocket listener binds: 0.0.0.0 for every IPv4 interface, :: for every interface.',
  },
  {
    key: 'wsPort', flag: '--ws-port', env: 'HERALD_WS_PORT', type: 'int', default: 9992, min: 0, max: 65535,
    placeholder: 'port', description: 'TCP port of the WebSocket listener; 0 picks a free port.',
  },
  {
    key: 'wsPath', flag: '--ws-path', env: 'HERALD_WS_PATH', type: 'string', default: '/ws', placeholder: 'path',
    description: 'URL path clients upgrade on; requests for other paths get 404.',
    validate: (value: string) => (value.startsWith('/') ? undefined : 'must start with "/"'),
  },
  {
    key: 'transport', flag: '--transport', env: 'HERALD_TRANSPORT', type: 'enum', default: 'auto',
    values: ['auto', 'raw', 'net'], placeholder: 'mode',
    description: 'How WebSocket connections are served. raw: straight on libuv TCP handles (Node internals; about '
      + '1.6 KB less per connection); net: on net.Socket; auto (default): raw if a loopback self-check of those '
      + 'handles passes at start, else net with a warning. raw fails to start if the self-check fails. '
      + 'TLS always runs on tls sockets.',
  },
  // HTTP listener: push API, health, metrics
  {
    key: 'apiHost', flag: '--api-host', env: 'HERALD_API_HOST', type: 'string', default: '127.0.0.1', placeholder: 'host',
    description: 'Address of the HTTP listener serving the push API, health checks and metrics. '
      + 'Loopback by default: the push API is for trusted backends.',
  },
  {
    key: 'apiPort', flag: '--api-port', env: 'HERALD_API_PORT', type: 'int', default: 10068, min: 0, max: 65535,
    placeholder: 'port', description: 'TCP port of the HTTP listener; 0 picks a free port.',
  },
  // gRPC listener: push API
  {
    key: 'grpcHost', flag: '--grpc-host', env: 'HERALD_GRPC_HOST', type: 'string', default: '127.0.0.1', placeholder: 'host',
    description: 'Address of the gRPC push API (order.Proxy and herald.v1.Push). Loopback by default.',
  },
  {
    key: 'grpcPort', flag: '--grpc-port', env: 'HERALD_GRPC_PORT', type: 'int', default: 10067, min: 0, max: 65535,
    placeholder: 'port', description: 'TCP port of the gRPC push API; 0 picks a free port.',
  },
  // Push API security
  {
    key: 'pushTokens', flag: '--push-tokens', env: 'HERALD_PUSH_TOKENS', type: 'string[]', secret: true,
    placeholder: 'tokens',
    description: 'Bearer tokens accepted by the HTTP and gRPC push APIs (several, comma-separated, for rotation; '
      + 'each at least 16 characters). Unset: the push APIs are open, which is refused on a non-loopback address.',
    validate: (tokens: readonly string[]) =>
      tokens.every((token) => token.length >= 16) ? undefined : 'each token must be at least 16 characters',
  },
  {
    key: 'insecurePushApi', flag: '--insecure-push-api', env: 'HERALD_INSECURE_PUSH_API', type: 'boolean', default: false,
    description: 'Allow the push APIs to listen on a non-loopback address without a token. Anyone who can reach '
      + 'the port can then push to every client.',
  },
  // Connection timing and limits
  {
    key: 'heartbeatTimeoutMs', flag: '--heartbeat-timeout', env: 'HERALD_HEARTBEAT_TIMEOUT', type: 'duration',
    default: 60_000, min: 1_000,
    description: 'Heartbeat: a client silent for half of this is sent a WebSocket ping (browsers answer it by themselves); '
      + 'one that stays silent (no pong, no data) for all of it is disconnected with 4000.',
  },
  {
    key: 'messageTimeoutMs', flag: '--message-timeout', env: 'HERALD_MESSAGE_TIMEOUT', type: 'duration',
    default: 30_000, min: 100,
    description: 'Time a client message may take to arrive once its first byte has (a frame or a fragmented message '
      + 'in progress); slower ones are closed with 1008, so trickled bytes cannot hold a connection and its buffer forever.',
  },
  {
    key: 'handshakeTimeoutMs', flag: '--handshake-timeout', env: 'HERALD_HANDSHAKE_TIMEOUT', type: 'duration',
    default: 5_000, min: 1, description: 'Time a new TCP connection has to send a complete upgrade request.',
  },
  {
    key: 'maxRequestBytes', flag: '--max-request-bytes', env: 'HERALD_MAX_REQUEST_BYTES', type: 'bytes',
    default: 8 * 1024, min: 1024,
    description: 'Largest upgrade request head (request line and headers); larger requests get 431.',
  },
  {
    key: 'maxMessageBytes', flag: '--max-message-bytes', env: 'HERALD_MAX_MESSAGE_BYTES', type: 'bytes',
    default: 64 * 1024, min: 1,
    description: 'Largest message a client may send, after reassembling fragments; '
      + 'a larger one closes the connection with 1009.',
  },
  {
    key: 'closeTimeoutMs', flag: '--close-timeout', env: 'HERALD_CLOSE_TIMEOUT', type: 'duration', default: 3_000, min: 0,
    description: 'Time a closing connection has to finish the close handshake before its socket is destroyed.',
  },
  {
    key: 'maxBufferedBytes', flag: '--max-buffered-bytes', env: 'HERALD_MAX_BUFFERED_BYTES', type: 'bytes',
    default: 1024 * 1024, min: 1024,
    description: 'Bound on the bytes waiting to be written to one client (queued plus the kernel backlog). '
      + 'A push that would pass it triggers the slow-consumer policy.',
  },
  {
    key: 'slowConsumerPolicy', flag: '--slow-consumer-policy', env: 'HERALD_SLOW_CONSUMER_POLICY', type: 'enum',
    default: 'close', values: ['close', 'drop'], placeholder: 'policy',
    description: 'For a client past --max-buffered-bytes: close closes it with 4001 so it reconnects and resyncs; '
      + 'drop drops the pushes that do not fit (counted in herald_messages_dropped_total) and keeps it.',
  },
  {
    key: 'mergeWindowMs', flag: '--merge-window', env: 'HERALD_MERGE_WINDOW', type: 'duration', default: 0, min: 0,
    max: 1_000,
    description: 'Write each client at most about once per window: a client written less than a window ago has '
      + 'what is queued for it held and written together when the window ends (fewer, larger writes under load, '
      + 'for at most that much added latency); a quiet client is written at once. 0 (default) writes once per '
      + 'event-loop turn.',
  },
  // Compression
  {
    key: 'perMessageDeflate', flag: '--per-message-deflate', env: 'HERALD_PER_MESSAGE_DEFLATE', type: 'boolean',
    default: false,
    description: 'Offer permessage-deflate (RFC 7692). Negotiated without context takeover, so each push is '
      + 'compressed once and the same frame goes to every subscriber that accepted it; no connection keeps a '
      + 'compression window.',
  },
  {
    key: 'deflateThresholdBytes', flag: '--deflate-threshold-bytes', env: 'HERALD_DEFLATE_THRESHOLD_BYTES', type: 'bytes',
    default: 256, min: 0, description: 'Messages smaller than this are sent uncompressed even when deflate is on.',
  },
  // TLS
  {
    key: 'tlsCertFile', flag: '--tls-cert-file', env: 'HERALD_TLS_CERT_FILE', type: 'string', path: true,
    placeholder: 'file',
    description: 'PEM certificate chain: serve wss://, HTTPS and gRPC over TLS. Needs --tls-key-file. '
      + 'SIGHUP re-reads both files (a pair that fails to load keeps the old one in service).',
  },
  {
    key: 'tlsKeyFile', flag: '--tls-key-file', env: 'HERALD_TLS_KEY_FILE', type: 'string', path: true,
    placeholder: 'file', description: 'PEM private key of --tls-cert-file.',
  },
  // Limits on connections (answered before the upgrade)
  {
    key: 'maxConnections', flag: '--max-connections', env: 'HERALD_MAX_CONNECTIONS', type: 'int', min: 1,
    description: 'Most client connections at once (per process); more get 503. Unset: no limit but the file '
      + 'descriptor limit.',
  },
  {
    key: 'maxConnectionsPerIp', flag: '--max-connections-per-ip', env: 'HERALD_MAX_CONNECTIONS_PER_IP', type: 'int',
    min: 1, description: 'Most connections at once from one IP address; more get 429. Unset: no limit.',
  },
  {
    key: 'newConnectionsPerSecondPerIp', flag: '--new-connections-per-second-per-ip',
    env: 'HERALD_NEW_CONNECTIONS_PER_SECOND_PER_IP', type: 'number', min: 0.01,
    description: 'New connections per second one IP address may open (bursts up to the same number); '
      + 'faster ones get 429. Unset: no limit.',
  },
  {
    key: 'allowedOrigins', flag: '--allowed-origins', env: 'HERALD_ALLOWED_ORIGINS', type: 'string[]',
    placeholder: 'origins',
    description: 'Origins browsers may connect from: exact (https://app.example.com), subdomain wildcards '
      + '(https://*.example.com, matching host names only) or *; others get 403, as does an Origin that is not exactly '
      + 'scheme://host[:port] or is sent twice. Clients without an Origin header are not affected. '
      + 'Unset: any origin.',
  },
  // Login: JWT (one key source) or an auth URL
  {
    key: 'jwtSecret', flag: '--jwt-secret', env: 'HERALD_JWT_SECRET', type: 'string', secret: true, placeholder: 'secret',
    description: 'Shared secret verifying client JWTs signed with HS256, HS384 or HS512. '
      + 'Prefer the environment or the config file: flags show up in process lists.',
  },
  {
    key: 'jwtPublicKeyFile', flag: '--jwt-public-key-file', env: 'HERALD_JWT_PUBLIC_KEY_FILE', type: 'string', path: true,
    placeholder: 'file', description: 'PEM public key (SPKI) verifying client JWTs signed with RS*, PS*, ES* or EdDSA.',
  },
  {
    key: 'jwtJwksFile', flag: '--jwt-jwks-file', env: 'HERALD_JWT_JWKS_FILE', type: 'string', path: true,
    placeholder: 'file', description: 'JSON Web Key Set verifying client JWTs; the token\'s "kid" selects the key.',
  },
  {
    key: 'jwtAlgorithms', flag: '--jwt-algorithms', env: 'HERALD_JWT_ALGORITHMS', type: 'string[]',
    values: JWT_ALGORITHMS, placeholder: 'algs',
    description: 'JWT "alg" values accepted; unset: every algorithm the configured key supports.',
  },
  {
    key: 'jwtIssuer', flag: '--jwt-issuer', env: 'HERALD_JWT_ISSUER', type: 'string', placeholder: 'iss',
    description: 'Required "iss" claim of client JWTs; unset: not checked.',
  },
  {
    key: 'jwtAudience', flag: '--jwt-audience', env: 'HERALD_JWT_AUDIENCE', type: 'string', placeholder: 'aud',
    description: 'Required "aud" claim of client JWTs; unset: not checked.',
  },
  {
    key: 'authUrl', flag: '--auth-url', env: 'HERALD_AUTH_URL', type: 'string', placeholder: 'url', validate: httpUrl,
    description: 'URL (http or https) of your backend endpoint that authenticates each client login, instead of a JWT.',
  },
  {
    key: 'authTimeoutMs', flag: '--auth-timeout', env: 'HERALD_AUTH_TIMEOUT', type: 'duration', default: 3_000, min: 1,
    description: 'Time a call to the auth URL may take; a slower login fails.',
  },
  // Topics and pushes
  {
    key: 'maxTopicLength', flag: '--max-topic-length', env: 'HERALD_MAX_TOPIC_LENGTH', type: 'int', default: 256, min: 1,
    description: 'Longest topic name, in UTF-8 bytes; longer topics are refused (reply 30004, push 400).',
  },
  {
    key: 'topicPattern', flag: '--topic-pattern', env: 'HERALD_TOPIC_PATTERN', type: 'string', placeholder: 'regex',
    description: 'Regular expression every topic must match entirely (e.g. ^[a-z0-9:._-]+$); others get reply 30004 '
      + 'or HTTP 400. Unset: any text without control characters.',
    validate: (value: string) => {
      try {
        new RegExp(value, 'u');
        return undefined;
      } catch (error) {
        return `is not a valid regular expression (${(error as Error).message})`;
      }
    },
  },
  {
    key: 'maxSubscriptionsPerConnection', flag: '--max-subscriptions-per-connection',
    env: 'HERALD_MAX_SUBSCRIPTIONS_PER_CONNECTION', type: 'int', default: 1024, min: 1,
    description: 'Most topics one connection may be subscribed to at once.',
  },
  {
    key: 'replyMessages', flag: '--reply-messages', env: 'HERALD_REPLY_MESSAGES', type: 'enum',
    values: ['english', 'gpush'], default: 'english',
    description: 'Texts of the replies to client commands: english, or gpush for gpush\'s exact (Chinese) messages '
      + 'and fixed details, for clients that compare them.',
  },
  {
    key: 'clientPresence', flag: '--client-presence', env: 'HERALD_CLIENT_PRESENCE', type: 'boolean', default: false,
    description: 'Let herald.v1 clients ask who is subscribed to a topic they are subscribed to (ops 7 and 8); '
      + 'off, those requests are answered 30008 forbidden.',
  },
  {
    key: 'maxTopics', flag: '--max-topics', env: 'HERALD_MAX_TOPICS', type: 'int', default: 1_000_000, min: 1,
    description: 'Most distinct topics with a public subscriber on this node (per process with --workers); a subscribe '
      + 'that would add one more gets reply 30005. Each costs about 260 bytes of memory with its first subscriber.',
  },
  {
    key: 'maxSubscriptions', flag: '--max-subscriptions', env: 'HERALD_MAX_SUBSCRIPTIONS', type: 'int',
    default: 5_000_000, min: 1,
    description: 'Most subscriptions (public plus private, over all connections) on this node (per process with '
      + '--workers); more get reply 30005. Each costs about 75 bytes besides its topic.',
  },
  {
    key: 'maxPushBytes', flag: '--max-push-bytes', env: 'HERALD_MAX_PUSH_BYTES', type: 'bytes',
    default: 1024 * 1024, min: 1, description: 'Largest payload of one pushed event; larger pushes are rejected.',
  },
  {
    key: 'maxBatchItems', flag: '--max-batch-items', env: 'HERALD_MAX_BATCH_ITEMS', type: 'int', default: 1000, min: 1,
    description: 'Most events in one batch push request.',
  },
  {
    key: 'pushRequestTimeoutMs', flag: '--push-request-timeout', env: 'HERALD_PUSH_REQUEST_TIMEOUT', type: 'duration',
    default: 5_000, min: 100,
    description: 'Time an HTTP push request has to send its headers, and then as much again for its body; a slower '
      + 'request gets 408 and its connection is closed, and what it had sent is released.',
  },
  {
    key: 'pushRequestsPerSecond', flag: '--push-requests-per-second', env: 'HERALD_PUSH_REQUESTS_PER_SECOND',
    type: 'number', min: 0.01,
    description: 'Push requests (HTTP requests or gRPC calls; a batch or a stream counts once) per second per token; '
      + 'more get 429 / RESOURCE_EXHAUSTED. Unset: no limit.',
  },
  // Engine
  {
    key: 'engine', flag: '--engine', env: 'HERALD_ENGINE', type: 'enum', default: 'memory', values: ['memory', 'redis'],
    placeholder: 'name',
    description: 'Message engine. memory: one process (or --workers on one machine). redis: nodes share a Redis; each node '
      + 'receives only the topics and users its clients subscribe to.',
  },
  {
    key: 'redisUrl', flag: '--redis-url', env: 'HERALD_REDIS_URL', type: 'string', default: 'redis://127.0.0.1:6379',
    placeholder: 'url', description: 'Redis for --engine redis (redis:// or rediss://).',
  },
  {
    key: 'redisPrefix', flag: '--redis-prefix', env: 'HERALD_REDIS_PREFIX', type: 'string', default: 'herald:',
    placeholder: 'prefix', description: 'Prefix of every Redis key and channel Herald uses.',
  },
  // Control plane (server API, presence)
  {
    key: 'nodeId', flag: '--node-id', env: 'HERALD_NODE_ID', type: 'string', placeholder: 'id',
    validate: (value: string) => (/^[A-Za-z0-9_-]{1,64}$/.test(value) ? undefined : 'must be 1 to 64 of A-Z a-z 0-9 _ -'),
    description: 'This node\'s id in the cluster: it starts every client id it hands out (<node>.<n>) and names the node '
      + 'in presence and /v1/info. Unset: 10 random characters drawn at start. Under --workers, worker k is <id>-w<k>.',
  },
  {
    key: 'presence', flag: '--presence', env: 'HERALD_PRESENCE', type: 'boolean', default: false,
    description: 'Keep presence (who is subscribed to each topic, cluster-wide) for /v1/presence, /v1/presence-stats '
      + 'and client ops 7/8. Costs an entry per subscription (memory engine) or a Redis script per subscribe and a '
      + 'refresh per topic every third of --presence-ttl (Redis engine). Off: those answer 409 PRESENCE_OFF / 30008.',
  },
  {
    key: 'presenceTtlMs', flag: '--presence-ttl', env: 'HERALD_PRESENCE_TTL', type: 'duration', default: 30_000, min: 1_500,
    description: 'Redis engine: a node that stops refreshing its presence entries and its /v1/info entry (it died) '
      + 'disappears from them within this; nodes refresh every third of it.',
  },
  {
    key: 'joinLeave', flag: '--join-leave', env: 'HERALD_JOIN_LEAVE', type: 'boolean', default: false,
    description: 'Publish a join/leave event whenever a connection subscribes to or leaves a topic, for herald.v1 '
      + 'clients that ask for them.',
  },
  // History (herald.v1 resume)
  {
    key: 'historySize', flag: '--history-size', env: 'HERALD_HISTORY_SIZE', type: 'int', default: 100, min: 0,
    description: 'Publications kept per stream (topic, private topic, user) so herald.v1 clients can resume '
      + 'after a disconnect; 0 keeps positions only.',
  },
  {
    key: 'historyTtlMs', flag: '--history-ttl', env: 'HERALD_HISTORY_TTL', type: 'duration', default: 300_000, min: 1_000,
    description: 'A stream with no publication for this long forgets its history.',
  },
  // Process
  {
    key: 'workers', flag: '--workers', env: 'HERALD_WORKERS', type: 'int', default: 1, min: 1, max: 64,
    description: 'Gateway processes sharing the WebSocket port (node:cluster). 1 runs everything in one process; '
      + 'N > 1 adds a primary that serves the push APIs and forwards each push to every worker once.',
  },
  {
    key: 'shutdownTimeoutMs', flag: '--shutdown-timeout', env: 'HERALD_SHUTDOWN_TIMEOUT', type: 'duration',
    default: 10_000, min: 0,
    description: 'On SIGTERM or SIGINT, time connections have to close gracefully before the process exits.',
  },
  {
    key: 'logLevel', flag: '--log-level', env: 'HERALD_LOG_LEVEL', type: 'enum', default: 'info', values: LOG_LEVELS,
    placeholder: 'level', description: 'Least severe level logged; silent logs nothing.',
  },
  {
    key: 'logFormat', flag: '--log-format', env: 'HERALD_LOG_FORMAT', type: 'enum', values: ['json', 'pretty'],
    placeholder: 'format',
    description: 'How log lines are written: json (one JSON object per line, for log collectors) or pretty (time, level, '
      + 'message and key=value fields, for a person at a terminal). Default: pretty when stdout is a terminal, json otherwise.',
  },
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
