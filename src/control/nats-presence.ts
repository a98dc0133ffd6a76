import type { JetStreamManager, KV, NatsConnection } from 'nats';
import type { NodeInfo, PresenceEntry, PresenceStats } from './control-plane.js';
import { decodeToken, encodeToken } from '../engine/nats-subjects.js';
import { retryCreateRace } from '../engine/nats-stream-store.js';

/**
 * Presence and the node registry of the NATS control plane, in two JetStream
 * KV buckets whose TTL (the bucket's max_age) is `--presence-ttl`: an entry
 * that its node stops refreshing (the node died) disappears within the TTL.
 * Every node re-puts its own entries every third of the TTL.
 *
 * **Presence** (`<prefix>_presence`): one key per (topic, connection), and the
 * entry lives in the key itself, value empty:
 * `<topic>.<uid>.<node>.<client>.<connectedAt>` (each string a token of
 * nats-subjects.ts `encodeToken`, so any topic and id is a valid key). So
 * `presence` and `presenceStats` are one request — the stream info's
 * per-subject list, filtered to the topic — with no value fetched, and a
 * node's orderly close removes all its entries with one purge filtered on its
 * node token. Removal purges the key's subject (no KV delete marker, which
 * would still be listed). Cost: the reply lists the topic's members, so
 * `presenceStats` is O(members) here, where the Redis engine keeps counters.
 *
 * **Registry** (`<prefix>_nodes`): key = node token, value = the node's
 * `localInfo()` as JSON; it counts the live nodes a request waits for.
 */

const kvStream = (bucket: string): string => `KV_${bucket}`;
const kvSubject = (bucket: string, key: string): string => `$KV.${bucket}.${key}`;

export function presenceKey(topic: string, entry: PresenceEntry): string {
  return [encodeToken(topic), encodeToken(entry.uid), encodeToken(entry.node), encodeToken(entry.client), String(entry.connectedAt)].join('.');
}

function entryOfKey(key: string): PresenceEntry | undefined {
  const [, uidToken, nodeToken, clientToken, at] = key.split('.');
  const uid = decodeToken(uidToken ?? '');
  const node = decodeToken(nodeToken ?? '');
  const client = decodeToken(clientToken ?? '');
  const connectedAt = Number(at);
  if (uid === undefined || node === undefined || client === undefined || !Number.isSafeInteger(connectedAt)) return undefined;
  return { client, uid, node, connectedAt };
}

export class NatsPresence {
  readonly presenceBucket: string;
  readonly nodesBucket: string;
  private presenceKv: KV | null = null;
  private nodesKv: KV | null = null;
  /** This node's entries by key, re-put on every refresh. */
  private readonly local = new Map<string, true>();
  /** Per key, the last write in flight: a remove waits for the add before it (a purge could overtake a put). */
  private readonly chains = new Map<string, Promise<void>>();

  constructor(
    private readonly nc: NatsConnection,
    private readonly jsm: JetStreamManager,
    prefix: string,
    private readonly ttlMs: number,
    private readonly onError: (error: Error) => void,
  ) {
    this.presenceBucket = `${prefix}_presence`;
    this.nodesBucket = `${prefix}_nodes`;
  }

  /** Create (or bind and bring to this TTL) both buckets. */
  async open(): Promise<void> {
    const js = this.nc.jetstream();
    const options = { ttl: this.ttlMs, history: 1 };
    // Nodes starting together race to create the buckets (retryCreateRace).
    this.presenceKv = await retryCreateRace(() => js.views.kv(this.presenceBucket, options));
    this.nodesKv = await retryCreateRace(() => js.views.kv(this.nodesBucket, options));
    for (const bucket of [this.presenceBucket, this.nodesBucket]) {
      const info = await this.jsm.streams.info(kvStream(bucket));
      if (info.config.max_age !== this.ttlMs * 1_000_000) {
        await this.jsm.streams.update(kvStream(bucket), { ...info.config, max_age: this.ttlMs * 1_000_000 });
      }
    }
  }

  add(topic: string, entry: PresenceEntry): void {
    const key = presenceKey(topic, entry);
    if (this.local.has(key)) return;
    this.local.set(key, true);
    this.chain(key, () => this.put(key));
  }

  remove(topic: string, entry: PresenceEntry): void {
    const key = presenceKey(topic, entry);
    if (!this.local.delete(key)) return;
    this.chain(key, () => this.purge(kvSubject(this.presenceBucket, key)));
  }

  async list(topic: string, limit: number): Promise<PresenceEntry[]> {
    const entries: PresenceEntry[] = [];
    for (const key of await this.keys(this.presenceBucket, `${encodeToken(topic)}.>`)) {
      if (entries.length >= limit) break;
      const entry = entryOfKey(key);
      if (entry !== undefined) entries.push(entry);
    }
    return entries;
  }

  async stats(topic: string): Promise<PresenceStats> {
    const users = new Set<string>();
    let clients = 0;
    for (const key of await this.keys(this.presenceBucket, `${encodeToken(topic)}.>`)) {
      const entry = entryOfKey(key);
      if (entry === undefined) continue;
      clients++;
      if (entry.uid !== '') users.add(entry.uid);
    }
    return { clients, users: users.size };
  }

  /** Put this node's registry entry. */
  async register(nodeId: string, info: NodeInfo): Promise<void> {
    await this.nodesKv!.put(encodeToken(nodeId), new TextEncoder().encode(JSON.stringify(info)));
  }

  /** How many nodes are registered (live within the TTL). */
  async nodeCount(): Promise<number> {
    return (await this.keys(this.nodesBucket, '>')).length;
  }

  /** Re-put every entry of this node (they expire a TTL after their last put). */
  async refresh(): Promise<void> {
    await Promise.all([...this.local.keys()].map((key) => this.put(key).catch((error: Error) => this.onError(error))));
  }

  /** An orderly leave: this node's registry entry and every presence entry of it, gone at once. */
  async leave(nodeId: string): Promise<void> {
    this.local.clear();
    const node = encodeToken(nodeId);
    await this.purge(kvSubject(this.nodesBucket, node), this.nodesBucket);
    await this.purge(kvSubject(this.presenceBucket, `*.*.${node}.>`));
  }

  private async put(key: string): Promise<void> {
    await this.presenceKv!.put(key, new Uint8Array(0));
  }

  private async purge(filter: string, bucket = this.presenceBucket): Promise<void> {
    await this.jsm.streams.purge(kvStream(bucket), { filter });
  }

  /** The keys of `bucket` matching `filter`, from the stream's per-subject list. */
  private async keys(bucket: string, filter: string): Promise<string[]> {
    const prefix = `$KV.${bucket}.`;
    const info = await this.jsm.streams.info(kvStream(bucket), { subjects_filter: `${prefix}${filter}` });
    return Object.keys(info.state.subjects ?? {}).map((subject) => subject.slice(prefix.length)).sort();
  }

  private chain(key: string, write: () => Promise<void>): void {
    const previous = this.chains.get(key) ?? Promise.resolve();
    const next = previous.then(write).catch((error: Error) => this.onError(error));
    this.chains.set(key, next);
    void next.then(() => {
      if (this.chains.get(key) === next) this.chains.delete(key);
    });
  }
}
