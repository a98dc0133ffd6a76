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
import { PresenceIndex } from './presence-index.js';

/** A random node id: 10 base64url characters (60 bits), drawn when the node starts. */
export function randomNodeId(): string {
  return randomBytes(8).toString('base64url').slice(0, 10);
}

/**
 * The control plane of a single process (the memory engine): every command
 * is applied by this node's handler, `info` lists this node, `channels` are
 * this node's, and presence is kept in a {@link PresenceIndex} (maps per
 * topic: `presenceStats` is two `size` reads whatever the topic's size).
 * Join/leave events go to the handler when this node watches the topic, one
 * microtask later: the command that caused them (a subscribe) is answered
 * first, as it would be over a network.
 */
export class MemoryControlPlane implements ControlPlane {
  readonly nodeId: string;
  private handler: ControlHandler | null = null;
  private readonly index = new PresenceIndex();
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
    this.index.add(topic, entry);
  }

  presenceRemove(topic: string, entry: PresenceEntry): void {
    this.index.remove(topic, entry.client);
  }

  async presence(topic: string, limit: number): Promise<PresenceEntry[]> {
    this.requireOpen();
    return this.index.list(topic, limit);
  }

  async presenceStats(topic: string): Promise<PresenceStats> {
    this.requireOpen();
    return this.index.stats(topic);
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
    this.index.clear();
    this.watched.clear();
  }

  /** After close, reads and requests reject as with any plane that cannot answer (the contract). */
  private requireOpen(): void {
    if (this.closed) throw new EngineUnavailableError('control plane closed');
  }
}
