import type { Cluster, Redis } from 'ioredis';
import type { NodeInfo } from './control-plane.js';
import { NODE_REGISTER_LUA, NODES_LIVE_LUA } from './redis-control-scripts.js';

/** The registry scripts, as ioredis custom commands. */
export interface RegistryScriptCommands {
  heraldNodeRegister(...args: (string | number)[]): Promise<unknown>;
  heraldNodesLive(...args: (string | number)[]): Promise<string[]>;
}

/** ioredis `scripts` definitions for {@link RegistryScriptCommands}. */
export const REGISTRY_SCRIPTS = {
  heraldNodeRegister: { lua: NODE_REGISTER_LUA, numberOfKeys: 2 },
  heraldNodesLive: { lua: NODES_LIVE_LUA, numberOfKeys: 1 },
};

/**
 * The live nodes of one prefix. Each node writes its NodeInfo (plus the time
 * it wrote it) to `P{nodes}:<id>` with the presence TTL, and scores its id by
 * the same expiry in the sorted set `P{nodes}` (one hash tag: one Cluster
 * slot). Readers prune members whose expiry has passed and list the rest —
 * no KEYS or SCAN. A node that stops refreshing (it died) drops out within
 * the TTL; one that closes in order removes itself at once.
 */
export class RedisNodeRegistry {
  private readonly setKey: string;

  constructor(
    private readonly redis: (Redis | Cluster) & RegistryScriptCommands,
    /** The sorted set's key (`P{nodes}`, see redis-control-names.ts). */
    setKey: string,
    private readonly ttlMs: number,
  ) {
    this.setKey = setKey;
  }

  /** Write (or refresh) this node's entry. */
  async register(info: NodeInfo): Promise<void> {
    const json = JSON.stringify({ ...info, at: Date.now() });
    await this.redis.heraldNodeRegister(this.setKey, this.infoKey(info.id), info.id, json, this.ttlMs);
  }

  /** Remove this node's entry (orderly shutdown). */
  async unregister(id: string): Promise<void> {
    await Promise.all([this.redis.zrem(this.setKey, id), this.redis.del(this.infoKey(id))]);
  }

  /** Ids of the live nodes (expired ones are pruned on the way). */
  liveIds(): Promise<string[]> {
    return this.redis.heraldNodesLive(this.setKey);
  }

  /**
   * Every live node's stored info, sorted by id. A stored entry is as old as
   * its node's last refresh (at most TTL/3): its uptime is advanced by the
   * time since it was written; its counts are as they were then.
   */
  async live(): Promise<NodeInfo[]> {
    const ids = await this.liveIds();
    if (ids.length === 0) return [];
    const values = await this.redis.mget(...ids.map((id) => this.infoKey(id)));
    const now = Date.now();
    const nodes: NodeInfo[] = [];
    for (const value of values) {
      const info = value === null ? undefined : parseInfo(value, now);
      if (info !== undefined) nodes.push(info);
    }
    return nodes.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  private infoKey(id: string): string {
    return `${this.setKey}:${id}`;
  }
}

function parseInfo(json: string, now: number): NodeInfo | undefined {
  let value: Record<string, unknown>;
  try {
    value = JSON.parse(json) as Record<string, unknown>;
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const { id, address, connections, subscriptions, uptimeMs, version, at } = value;
  if (typeof id !== 'string' || typeof address !== 'string' || typeof version !== 'string') return undefined;
  if (typeof connections !== 'number' || typeof subscriptions !== 'number' || typeof uptimeMs !== 'number') return undefined;
  const age = typeof at === 'number' ? Math.max(0, now - at) : 0;
  return { id, address, connections, subscriptions, uptimeMs: uptimeMs + age, version };
}
