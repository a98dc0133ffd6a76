import type { Cluster, Redis } from 'ioredis';
import type { PresenceEntry, PresenceStats } from './control-plane.js';
import {
  PRESENCE_ADD_LUA,
  PRESENCE_CLEANUP_LUA,
  PRESENCE_REFRESH_LUA,
  PRESENCE_REMOVE_LUA,
} from './redis-control-scripts.js';

/** The presence scripts, as ioredis custom commands (EVALSHA, EVAL on NOSCRIPT). */
export interface PresenceScriptCommands {
  heraldPresenceAdd(...args: (string | number)[]): Promise<unknown>;
  heraldPresenceRemove(...args: (string | number)[]): Promise<number>;
  heraldPresenceRefresh(...args: (string | number)[]): Promise<string[]>;
  heraldPresenceCleanup(...args: (string | number)[]): Promise<[expired: number, clients: number, users: number]>;
}

/** ioredis `scripts` definitions for {@link PresenceScriptCommands}. */
export const PRESENCE_SCRIPTS = {
  heraldPresenceAdd: { lua: PRESENCE_ADD_LUA, numberOfKeys: 3 },
  heraldPresenceRemove: { lua: PRESENCE_REMOVE_LUA, numberOfKeys: 3 },
  heraldPresenceRefresh: { lua: PRESENCE_REFRESH_LUA, numberOfKeys: 3 },
  heraldPresenceCleanup: { lua: PRESENCE_CLEANUP_LUA, numberOfKeys: 3 },
};

/** Clients per refresh/re-add script call (Lua's unpack and one script's run time stay small). */
const BATCH = 1000;
/** Expired clients a read's cleanup removes per script call (it repeats while batches come back full). */
const CLEANUP_BATCH = 1000;
/** HSCAN COUNT hint when `presence` reads part of a large topic. */
const SCAN_COUNT = 1000;

/**
 * Presence of topics in Redis, Centrifugo-style (keys in redis-control-scripts.ts).
 *
 * This node keeps its own entries in a local map (topic → client → entry
 * JSON): the refresh pushes their expiry forward every TTL/3 (one script per
 * topic and 1,000 clients, all sent back to back), and after a reconnect every
 * entry is added again — Redis may have restarted empty. While the command
 * connection is down, adds and removes only change the local map: nothing is
 * queued, so memory stays bounded by this node's own subscriptions. A remove
 * dropped that way leaves its entry in Redis until it expires (within the TTL).
 *
 * Reads first drop expired clients (so a dead node's entries stop counting
 * within its TTL even if nobody else writes to the topic), then count with two
 * HLENs (`stats`, O(1) in the topic's size) or read at most `limit` entries.
 */
export class RedisPresence {
  private readonly local = new Map<string, Map<string, string>>();
  private refreshing = false;

  constructor(
    private readonly redis: (Redis | Cluster) & PresenceScriptCommands,
    /** A topic's three keys (redis-control-names.ts; one hash slot). */
    readonly keys: (topic: string) => [entries: string, expiries: string, users: string],
    private readonly ttlMs: number,
    private readonly onError: (error: Error) => void,
  ) {}

  /** Entries this node holds (all topics). */
  get localSize(): number {
    let size = 0;
    for (const clients of this.local.values()) size += clients.size;
    return size;
  }

  add(topic: string, entry: PresenceEntry): void {
    const json = JSON.stringify({ client: entry.client, uid: entry.uid, node: entry.node, connectedAt: entry.connectedAt });
    let clients = this.local.get(topic);
    if (clients === undefined) this.local.set(topic, (clients = new Map()));
    clients.set(entry.client, json);
    if (!this.writable) return; // re-added from the map after the reconnect
    this.redis.heraldPresenceAdd(...this.keys(topic), this.ttlMs, this.keyTtlMs, entry.client, json).catch(this.failed);
  }

  remove(topic: string, entry: PresenceEntry): void {
    const clients = this.local.get(topic);
    if (clients !== undefined) {
      clients.delete(entry.client);
      if (clients.size === 0) this.local.delete(topic);
    }
    if (!this.writable) return;
    this.redis.heraldPresenceRemove(...this.keys(topic), entry.client).catch(this.failed);
  }

  /**
   * Push the expiry of every local entry forward; entries Redis no longer has
   * are added again. Skipped while a previous refresh is still running or the
   * connection is down (the reconnect re-adds everything).
   */
  async refresh(): Promise<void> {
    if (this.refreshing || !this.writable) return;
    this.refreshing = true;
    try {
      const calls: Promise<void>[] = [];
      for (const [topic, clients] of this.local) {
        const ids = [...clients.keys()];
        for (let i = 0; i < ids.length; i += BATCH) {
          const batch = ids.slice(i, i + BATCH);
          calls.push(
            this.redis.heraldPresenceRefresh(...this.keys(topic), this.ttlMs, this.keyTtlMs, ...batch).then(
              (missing) => this.readd(topic, missing),
              this.failed,
            ),
          );
        }
      }
      await Promise.all(calls);
    } finally {
      this.refreshing = false;
    }
  }

  /** Add every local entry again (after a reconnect: Redis may have lost them, or missed removes/adds). */
  async readdAll(): Promise<void> {
    if (!this.writable) return;
    const calls: Promise<void>[] = [];
    for (const [topic, clients] of this.local) calls.push(this.readd(topic, [...clients.keys()]));
    await Promise.all(calls);
  }

  /** Remove every local entry from Redis (an orderly shutdown: gone at once rather than within the TTL). */
  async removeAll(): Promise<void> {
    if (!this.writable) return;
    const calls: Promise<unknown>[] = [];
    for (const [topic, clients] of this.local) {
      const ids = [...clients.keys()];
      for (let i = 0; i < ids.length; i += BATCH) {
        calls.push(this.redis.heraldPresenceRemove(...this.keys(topic), ...ids.slice(i, i + BATCH)).catch(this.failed));
      }
    }
    this.local.clear();
    await Promise.all(calls);
  }

  async stats(topic: string): Promise<PresenceStats> {
    const [, clients, users] = await this.cleanup(topic);
    return { clients, users };
  }

  /** At most `limit` entries of `topic` (which ones, when there are more, is unspecified). */
  async list(topic: string, limit: number): Promise<PresenceEntry[]> {
    limit = Math.floor(limit);
    if (!(limit >= 1)) return [];
    const [, clients] = await this.cleanup(topic);
    if (clients === 0) return [];
    const hash = this.keys(topic)[0];
    let values: string[];
    if (clients <= limit) {
      values = await this.redis.hvals(hash);
    } else {
      // HSCAN may return an element twice (a rehash between calls): keep each client once.
      const byClient = new Map<string, string>();
      let cursor = '0';
      do {
        const [next, flat] = await this.redis.hscan(hash, cursor, 'COUNT', Math.min(limit, SCAN_COUNT));
        cursor = next;
        for (let i = 0; i + 1 < flat.length && byClient.size < limit; i += 2) byClient.set(flat[i], flat[i + 1]);
      } while (cursor !== '0' && byClient.size < limit);
      values = [...byClient.values()];
    }
    const entries: PresenceEntry[] = [];
    for (const value of values) {
      const entry = parseEntry(value);
      if (entry !== undefined) entries.push(entry);
      if (entries.length === limit) break;
    }
    return entries;
  }

  /** Keys outlive their members by a few TTLs: an abandoned topic's keys vanish on their own. */
  private get keyTtlMs(): number {
    return 3 * this.ttlMs;
  }

  private get writable(): boolean {
    return this.redis.status === 'ready';
  }

  /** Drop the topic's expired clients (in bounded batches) and count what is left. */
  private async cleanup(topic: string): Promise<[number, number, number]> {
    const keys = this.keys(topic);
    for (;;) {
      const reply = await this.redis.heraldPresenceCleanup(...keys, CLEANUP_BATCH);
      const result: [number, number, number] = [Number(reply[0]), Number(reply[1]), Number(reply[2])];
      if (result[0] < CLEANUP_BATCH) return result;
    }
  }

  /** Add again those of `clients` the local map still holds, in batches. */
  private async readd(topic: string, clients: string[]): Promise<void> {
    if (clients.length === 0) return;
    const local = this.local.get(topic);
    if (local === undefined) return;
    const args: string[] = [];
    for (const client of clients) {
      const json = local.get(client);
      if (json !== undefined) args.push(client, json);
    }
    const calls: Promise<unknown>[] = [];
    for (let i = 0; i < args.length; i += 2 * BATCH) {
      calls.push(this.redis.heraldPresenceAdd(...this.keys(topic), this.ttlMs, this.keyTtlMs, ...args.slice(i, i + 2 * BATCH)).catch(this.failed));
    }
    await Promise.all(calls);
  }

  private readonly failed = (error: Error): void => {
    this.onError(error);
  };
}

/** A stored entry, or undefined if it is not one (a foreign write). */
function parseEntry(json: string): PresenceEntry | undefined {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const { client, uid, node, connectedAt } = value as Record<string, unknown>;
  if (typeof client !== 'string' || typeof uid !== 'string' || typeof node !== 'string' || typeof connectedAt !== 'number') {
    return undefined;
  }
  return { client, uid, node, connectedAt };
}
