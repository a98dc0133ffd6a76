/**
 * Option table rows: the message engine, the control plane (presence, node id) and history.
 * Assembled, in `--help` order, by `option-definitions.ts` (see its header).
 */
import type { OptionDefinition } from './option-types.js';

export const ENGINE_OPTIONS = [
  // Engine
  {
    scope: 'process',
    key: 'engine', flag: '--engine', env: 'HERALD_ENGINE', type: 'enum', default: 'memory', values: ['memory', 'redis', 'nats'],
    placeholder: 'name',
    description: 'Message engine. memory: one process (or --workers on one machine). redis: nodes share a Redis; each node '
      + 'receives only the topics and users its clients subscribe to. nats: nodes share a NATS server or cluster with '
      + 'JetStream (history and presence in JetStream), with the same interest routing.',
  },
  {
    scope: 'process',
    key: 'redisUrl', flag: '--redis-url', env: 'HERALD_REDIS_URL', type: 'string', default: 'redis://127.0.0.1:6379',
    placeholder: 'url', description: 'Redis for --engine redis (redis:// or rediss://). With --redis-cluster: the seed '
      + 'nodes, comma-separated (redis://h:p,redis://h:p); one is enough, the others are discovered.',
  },
  {
    scope: 'process',
    key: 'redisCluster', flag: '--redis-cluster', env: 'HERALD_REDIS_CLUSTER', type: 'boolean', default: false,
    description: 'The Redis of --engine redis is a Redis Cluster (Redis >= 7): each stream and its channel live in one '
      + 'hash slot and publications use sharded pub/sub (SPUBLISH), so one publication touches one shard. Follows '
      + 'resharding and failover. The prefix must not contain { or }. The control plane (presence, node list, server API '
      + 'control, webhook occupancy) runs on the same cluster, its keys hash-tagged and its channels sharded.',
  },
  {
    scope: 'process',
    key: 'redisPrefix', flag: '--redis-prefix', env: 'HERALD_REDIS_PREFIX', type: 'string', default: 'herald:',
    placeholder: 'prefix', description: 'Prefix of every Redis key and channel Herald uses.',
  },
  {
    scope: 'process',
    key: 'natsUrl', flag: '--nats-url', env: 'HERALD_NATS_URL', type: 'string', default: 'nats://127.0.0.1:4222',
    placeholder: 'urls',
    validate: (value: string) => (value.split(',').some((url) => url.trim() !== '') ? undefined : 'must list at least one nats:// URL'),
    description: 'NATS for --engine nats: one URL or comma-separated seed URLs of a cluster (JetStream enabled).',
  },
  {
    scope: 'process',
    key: 'natsPrefix', flag: '--nats-prefix', env: 'HERALD_NATS_PREFIX', type: 'string', default: 'herald',
    placeholder: 'prefix',
    validate: (value: string) => (/^[A-Za-z0-9_-]{1,64}$/.test(value) ? undefined : 'must be 1 to 64 of A-Z a-z 0-9 _ -'),
    description: 'First token of every NATS subject Herald uses, and the name of its JetStream stream (<prefix>) and KV '
      + 'buckets (<prefix>_presence, <prefix>_nodes).',
  },
  // Control plane (server API, presence)
  {
    scope: 'node',
    key: 'nodeId', flag: '--node-id', env: 'HERALD_NODE_ID', type: 'string', placeholder: 'id',
    validate: (value: string) => (/^[A-Za-z0-9_-]{1,64}$/.test(value) ? undefined : 'must be 1 to 64 of A-Z a-z 0-9 _ -'),
    description: 'This node\'s id in the cluster: it starts every client id it hands out (<node>.<n>) and names the node '
      + 'in presence and /v1/info. Unset: 10 random characters drawn at start. Under --workers, worker k is <id>-w<k>.',
  },
  {
    scope: 'node',
    key: 'presence', flag: '--presence', env: 'HERALD_PRESENCE', type: 'boolean', default: false,
    description: 'Keep presence (who is subscribed to each topic, cluster-wide) for /v1/presence, /v1/presence-stats '
      + 'and client ops 7/8. Costs an entry per subscription (memory engine) or a Redis script per subscribe and a '
      + 'refresh per topic every third of --presence-ttl (Redis engine). Off: those answer 409 PRESENCE_OFF / 30008.',
  },
  {
    scope: 'process',
    key: 'presenceTtlMs', flag: '--presence-ttl', env: 'HERALD_PRESENCE_TTL', type: 'duration', default: 30_000, min: 1_500,
    description: 'Redis and NATS engines: a node that stops refreshing its presence entries and its /v1/info entry (it died) '
      + 'disappears from them within this; nodes refresh every third of it.',
  },
  {
    scope: 'node',
    key: 'joinLeave', flag: '--join-leave', env: 'HERALD_JOIN_LEAVE', type: 'boolean', default: false,
    description: 'Publish a join/leave event whenever a connection subscribes to or leaves a topic, for herald.v1 '
      + 'clients that ask for them.',
  },
  // History (herald.v1 resume)
  {
    scope: 'node',
    key: 'historySize', flag: '--history-size', env: 'HERALD_HISTORY_SIZE', type: 'int', default: 100, min: 0,
    description: 'Publications kept per stream (topic, private topic, user) so herald.v1 clients can resume '
      + 'after a disconnect; 0 keeps positions only.',
  },
  {
    scope: 'node',
    key: 'historyTtlMs', flag: '--history-ttl', env: 'HERALD_HISTORY_TTL', type: 'duration', default: 300_000, min: 1_000,
    description: 'A stream with no publication for this long forgets its history.',
  },
] as const satisfies readonly OptionDefinition[];
