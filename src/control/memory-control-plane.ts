import { randomBytes } from 'node:crypto';
import { EngineUnavailableError } from '../engine/engine.js';
import type {
  ChannelCount,
  ControlCommand,
  ControlHandler,
  ControlPlane,
  JoinLeaveEvent,
  NodeInfo,
  PresenceEntry,
  PresenceStats,
} from './control-plane.js';

/** A random node id: 10 base64url characters (60 bits), drawn when the node starts. */
export function randomNodeId(): string {
  return randomBytes(8).toString('base64url').slice(0, 10);
}

/** Who is subscribed to one topic. */
interface TopicPresence {
  /** By client id. */
  readonly entries: Map<string, PresenceEntry>;
  /** Connections per logged-in user, so `users` is a size, not a scan. */
  readonly users: Map<string, number>;
}

/**
 * The control plane of a single process (the memory engine): every command
 * is applied by this node's handler, `info` lists this node, `channels` are
 * this node's, and presence is kept in maps per topic — entries by client id
 * and a connection count per user, so `presenceStats` is two `size` reads
 * whatever the topic's size. Join/leave events go to the handler when this
 * node watches the topic, one microtask later: the command that caused them
 * (a subscribe) is answered first, as it would be over a network.
 */
export class MemoryControlPlane implements ControlPlane {
  readonly nodeId: string;
  private handler: ControlHandler | null = null;
  private readonly topics = new Map<string, TopicPresence>();
  private readonly watched = new Set<string>();
  private closed = false;

  constructor(options: { nodeId?: string } = {}) {
    this.nodeId = options.nodeId ?? randomNodeId();
  }

  async start(handler: ControlHandler): Promise<void> {
    this.handler = handler;
  }

  async command(command: ControlCommand): Promise<number> {
    this.requireOpen();
    return this.handler === null ? 0 : this.handler.apply(command);
  }

  async info(): Promise<NodeInfo[]> {
    this.requireOpen();
    return this.handler === null ? [] : [this.handler.localInfo()];
  }

  async channels(pattern: string | undefined, cursor: string | undefined, limit: number): Promise<{ channels: ChannelCount[]; cursor?: string }> {
    this.requireOpen();
    if (this.handler === null) return { channels: [] };
    // One more than asked tells whether a next page exists.
    const found = this.handler.localChannels(pattern, cursor, limit + 1);
    if (found.length <= limit) return { channels: found };
    const channels = found.slice(0, limit);
    return { channels, cursor: channels[channels.length - 1].topic };
  }

  presenceAdd(topic: string, entry: PresenceEntry): void {
    if (this.closed) return;
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

  presenceRemove(topic: string, entry: PresenceEntry): void {
    const presence = this.topics.get(topic);
    if (presence === undefined) return;
    const held = presence.entries.get(entry.client);
    if (held === undefined) return;
    presence.entries.delete(entry.client);
    uncountUser(presence, held.uid);
    if (presence.entries.size === 0) this.topics.delete(topic);
  }

  async presence(topic: string, limit: number): Promise<PresenceEntry[]> {
    this.requireOpen();
    const entries: PresenceEntry[] = [];
    const presence = this.topics.get(topic);
    if (presence === undefined || limit <= 0) return entries;
    for (const entry of presence.entries.values()) {
      entries.push({ ...entry });
      if (entries.length >= limit) break;
    }
    return entries;
  }

  async presenceStats(topic: string): Promise<PresenceStats> {
    this.requireOpen();
    const presence = this.topics.get(topic);
    return { clients: presence?.entries.size ?? 0, users: presence?.users.size ?? 0 };
  }

  publishJoinLeave(event: JoinLeaveEvent): void {
    if (!this.watched.has(event.topic)) return;
    queueMicrotask(() => {
      if (this.watched.has(event.topic)) this.handler?.onJoinLeave(event);
    });
  }

  watchJoinLeave(topic: string, watching: boolean): void {
    if (this.closed) return;
    if (watching) this.watched.add(topic);
    else this.watched.delete(topic);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.handler = null;
    this.topics.clear();
    this.watched.clear();
  }

  /** After close, reads and requests reject as with any plane that cannot answer (the contract). */
  private requireOpen(): void {
    if (this.closed) throw new EngineUnavailableError('control plane closed');
  }
}

function uncountUser(presence: TopicPresence, uid: string): void {
  if (uid === '') return;
  const count = (presence.users.get(uid) ?? 0) - 1;
  if (count > 0) presence.users.set(uid, count);
  else presence.users.delete(uid);
}
