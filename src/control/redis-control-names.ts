/**
 * The key and channel names of RedisControlPlane, on one Redis or on a Redis
 * Cluster. On a cluster every multi-key script must find its keys in one hash
 * slot (Redis Cluster specification, "Hash tags"), so each group of keys a
 * script touches carries one tag:
 * - a topic's three presence keys: the tag `{p:<topic>}` (topic escaped as in
 *   redis-cluster-keys.ts, so a `}` in a topic cannot end the tag early);
 * - the node registry: `{nodes}` (its sorted set and every node's info key);
 * - the control channels (sharded pub/sub, SPUBLISH/SSUBSCRIBE): requests
 *   and every node's reply channel under `{control}`, one shard — control
 *   traffic is rare, and the SPUBLISH count of one shard is exact (see
 *   redis-requests.ts); a topic's join/leave channel under `{jl:<topic>}`,
 *   so join/leave traffic spreads over the shards with the topics.
 * The single-Redis names are the ones RedisControlPlane always had (a running
 * deployment keeps its keys).
 */
import { escapeTagPart } from '../engine/redis-cluster-keys.js';

export interface ControlNames {
  /** Where requests are published. */
  readonly control: string;
  /** Where `node` receives the answers to its requests. */
  reply(node: string): string;
  /** Where a topic's join/leave events go. */
  joinLeave(topic: string): string;
  /** A topic's presence hash, expiry sorted set and user counts (one slot). */
  presence(topic: string): [entries: string, expiries: string, users: string];
  /** The node registry's sorted set; a node's info key is `<registry>:<id>` (same slot). */
  readonly registry: string;
}

/** Names on one Redis (unchanged since the first Redis control plane). */
export function singleRedisNames(prefix: string): ControlNames {
  return {
    control: `${prefix}control`,
    reply: (node) => `${prefix}control:reply:${node}`,
    joinLeave: (topic) => `${prefix}jl:${topic}`,
    presence: (topic) => [`${prefix}presence:{${topic}}`, `${prefix}presence-exp:{${topic}}`, `${prefix}presence-users:{${topic}}`],
    registry: `${prefix}{nodes}`,
  };
}

/** Names on a Redis Cluster (the prefix holds no `{`/`}`: checkClusterPrefix). */
export function clusterNames(prefix: string): ControlNames {
  return {
    control: `${prefix}{control}`,
    reply: (node) => `${prefix}{control}:reply:${node}`,
    joinLeave: (topic) => `${prefix}{jl:${escapeTagPart(topic)}}`,
    presence: (topic) => {
      const tag = `{p:${escapeTagPart(topic)}}`;
      return [`${prefix}presence:${tag}`, `${prefix}presence-exp:${tag}`, `${prefix}presence-users:${tag}`];
    },
    registry: `${prefix}{nodes}`,
  };
}
