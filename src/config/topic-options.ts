/**
 * Option table rows: topics, subscriptions and pushes.
 * Assembled, in `--help` order, by `option-definitions.ts` (see its header).
 */
import type { OptionDefinition } from './option-types.js';

export const TOPIC_OPTIONS = [
  // Topics and pushes
  {
    scope: 'node',
    key: 'maxTopicLength', flag: '--max-topic-length', env: 'HERALD_MAX_TOPIC_LENGTH', type: 'int', default: 256, min: 1,
    description: 'Longest topic name, in UTF-8 bytes; longer topics are refused (reply 30004, push 400).',
  },
  {
    scope: 'node',
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
    scope: 'node',
    key: 'maxSubscriptionsPerConnection', flag: '--max-subscriptions-per-connection',
    env: 'HERALD_MAX_SUBSCRIPTIONS_PER_CONNECTION', type: 'int', default: 1024, min: 1,
    description: 'Most topics one connection may be subscribed to at once.',
  },
  {
    scope: 'node',
    key: 'replyMessages', flag: '--reply-messages', env: 'HERALD_REPLY_MESSAGES', type: 'enum',
    values: ['english', 'gpush'], default: 'english',
    description: 'Texts of the replies to client commands: english, or gpush for gpush\'s exact (Chinese) messages '
      + 'and fixed details, for clients that compare them.',
  },
  {
    scope: 'node',
    key: 'clientPresence', flag: '--client-presence', env: 'HERALD_CLIENT_PRESENCE', type: 'boolean', default: false,
    description: 'Let herald.v1 clients ask who is subscribed to a topic they are subscribed to (ops 7 and 8); '
      + 'off, those requests are answered 30008 forbidden.',
  },
  {
    scope: 'node',
    key: 'maxTopics', flag: '--max-topics', env: 'HERALD_MAX_TOPICS', type: 'int', default: 1_000_000, min: 1,
    description: 'Most distinct topics with a public subscriber on this node (per process with --workers); a subscribe '
      + 'that would add one more gets reply 30005. Each costs about 260 bytes of memory with its first subscriber.',
  },
  {
    scope: 'node',
    key: 'maxSubscriptions', flag: '--max-subscriptions', env: 'HERALD_MAX_SUBSCRIPTIONS', type: 'int',
    default: 5_000_000, min: 1,
    description: 'Most subscriptions (public plus private, over all connections) on this node (per process with '
      + '--workers); more get reply 30005. Each costs about 75 bytes besides its topic.',
  },
  {
    scope: 'node',
    key: 'maxPushBytes', flag: '--max-push-bytes', env: 'HERALD_MAX_PUSH_BYTES', type: 'bytes',
    default: 1024 * 1024, min: 1, description: 'Largest payload of one pushed event; larger pushes are rejected.',
  },
  {
    scope: 'node',
    key: 'maxBatchItems', flag: '--max-batch-items', env: 'HERALD_MAX_BATCH_ITEMS', type: 'int', default: 1000, min: 1,
    description: 'Most events in one batch push request.',
  },
  {
    scope: 'node',
    key: 'pushRequestTimeoutMs', flag: '--push-request-timeout', env: 'HERALD_PUSH_REQUEST_TIMEOUT', type: 'duration',
    default: 5_000, min: 100,
    description: 'Time an HTTP push request has to send its headers, and then as much again for its body; a slower '
      + 'request gets 408 and its connection is closed, and what it had sent is released. A gRPC connection has as '
      + 'long to send its HTTP/2 preface (or TLS ClientHello), or it is closed.',
  },
  {
    scope: 'node',
    key: 'grpcMaxConnections', flag: '--grpc-max-connections', env: 'HERALD_GRPC_MAX_CONNECTIONS', type: 'int',
    default: 1000, min: 1,
    description: 'Most TCP connections the gRPC listener holds at once (backends keep a few channels each); '
      + 'beyond, new connections are closed at once, so a flood cannot take the file descriptors the '
      + 'WebSocket listener needs.',
  },
  {
    scope: 'node',
    key: 'pushRequestsPerSecond', flag: '--push-requests-per-second', env: 'HERALD_PUSH_REQUESTS_PER_SECOND',
    type: 'number', min: 0.01,
    description: 'Push requests (HTTP requests or gRPC calls; a batch or a stream counts once) per second per token; '
      + 'more get 429 / RESOURCE_EXHAUSTED. Unset: no limit.',
  },
] as const satisfies readonly OptionDefinition[];
