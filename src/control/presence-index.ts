import type { PresenceEntry, PresenceStats } from './control-plane.js';

/** Who is subscribed to one topic. */
interface TopicPresence {
  /** By client id. */
  readonly entries: Map<string, PresenceEntry>;
  /** Connections per logged-in user, so `users` is a size, not a scan. */
  readonly users: Map<string, number>;
}

/**
 * Presence held in one process: per topic, the entries by client id and a
 * connection count per user, so `stats` is two `size` reads whatever the
 * topic's size. A topic's maps are deleted with its last entry. Used by
 * `MemoryControlPlane` and by the `--workers` primary, which holds the
 * presence of every worker.
 */
export class PresenceIndex {
  private readonly topics = new Map<string, TopicPresence>();

  /** Add (or replace: same client id) an entry of `topic`. */
  add(topic: string, entry: PresenceEntry): void {
    let presence = this.topics.get(topic);
    if (presence === undefined) {
      presence = { entries: new Map(), users: new Map() };
      this.topics.set(topic, presence);
    }
    const previous = presence.entries.get(entry.client);
    if (previous !== undefined) uncountUser(presence, previous.uid);
    presence.entries.set(entry.client, entry);
    if (entry.uid !== '') presence.users.set(entry.uid, (presence.users.get(entry.uid) ?? 0) + 1);
  }

  /** Remove client `client` from `topic`; nothing when it is not listed. */
  remove(topic: string, client: string): void {
    const presence = this.topics.get(topic);
    if (presence === undefined) return;
    const held = presence.entries.get(client);
    if (held === undefined) return;
    presence.entries.delete(client);
    uncountUser(presence, held.uid);
    if (presence.entries.size === 0) this.topics.delete(topic);
  }

  /** At most `limit` entries of `topic` (copies). */
  list(topic: string, limit: number): PresenceEntry[] {
    const entries: PresenceEntry[] = [];
    const presence = this.topics.get(topic);
    if (presence === undefined || limit <= 0) return entries;
    for (const entry of presence.entries.values()) {
      entries.push({ ...entry });
      if (entries.length >= limit) break;
    }
    return entries;
  }

  stats(topic: string): PresenceStats {
    const presence = this.topics.get(topic);
    return { clients: presence?.entries.size ?? 0, users: presence?.users.size ?? 0 };
  }

  /** Topics with at least one entry. */
  get topicCount(): number {
    return this.topics.size;
  }

  clear(): void {
    this.topics.clear();
  }
}

function uncountUser(presence: TopicPresence, uid: string): void {
  if (uid === '') return;
  const count = (presence.users.get(uid) ?? 0) - 1;
  if (count > 0) presence.users.set(uid, count);
  else presence.users.delete(uid);
}
