import { connect, createInbox, type Msg, type NatsConnection, type Subscription } from 'nats';
import { EngineUnavailableError } from '../engine/engine.js';
import { encodeToken, validPrefix } from '../engine/nats-subjects.js';
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
import { randomNodeId } from './memory-control-plane.js';
import { mergeChannels } from './merge-channels.js';
import { NatsPresence } from './nats-presence.js';

export interface NatsControlPlaneEvents {
  /** The connection reported an error, a write failed, a message could not be parsed, or the handler threw. */
  onError?(error: Error): void;
  /** The connection is back after it was lost; presence and registry were put again. */
  onReconnect?(reconnects: number): void;
}

export interface NatsControlPlaneOptions {
  /** Seed server URLs; default `nats://127.0.0.1:4222`. */
  servers?: string[];
  /** Subject prefix and bucket name prefix (one token of [A-Za-z0-9_-]); default `herald`. */
  prefix?: string;
  /** This node's id: 1–64 of `A–Z a–z 0–9 _ -`; default 10 random base64url characters. */
  nodeId?: string;
  /** A node that stops refreshing disappears from presence and info within this, in ms; default 30,000. */
  presenceTtlMs?: number;
  /** How long `command`, `channels` and `info` wait for the other nodes' answers, in ms; default 2,000. */
  replyTimeoutMs?: number;
  /** Budget of `start()` reaching NATS, in ms; default 10,000. */
  connectTimeoutMs?: number;
  /**
   * False: this plane only asks (the `--workers` primary, which serves the
   * server API but holds no connections): it is not in the registry and
   * answers no request; its handler is never called. Default true.
   */
  member?: boolean;
  events?: NatsControlPlaneEvents;
}

/** A request to every node, and what one node answers. */
type ControlRequest =
  | { kind: 'command'; command: ControlCommand }
  | { kind: 'info' }
  | { kind: 'channels'; pattern?: string; after?: string; limit: number };
interface ControlReply {
  affected?: number;
  info?: NodeInfo;
  channels?: ChannelCount[];
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * The control plane of the NATS engine: every node of one prefix on one NATS
 * (cluster). Presence and the node registry live in JetStream KV buckets
 * (nats-presence.ts). Requests are NATS request/reply fanned out to every
 * node: the asker publishes to `P.ctl` (which every node, itself included,
 * subscribes to) with a reply inbox, and gathers answers until as many nodes
 * as the registry lists have answered or `replyTimeoutMs` passed — a node that
 * does not answer is left out, never waited for forever. Join/leave events
 * are core NATS messages on `P.jl.<topic>`, subscribed by the nodes watching
 * the topic.
 */
export class NatsControlPlane implements ControlPlane {
  readonly nodeId: string;
  private readonly member: boolean;
  private readonly options: Required<Omit<NatsControlPlaneOptions, 'events' | 'nodeId' | 'member'>>;
  private readonly events: NatsControlPlaneEvents;
  private nc: NatsConnection | null = null;
  private presenceStore: NatsPresence | null = null;
  private handler: ControlHandler | null = null;
  private closed = false;
  private connected = false;
  private reconnectCount = 0;
  /** Counts connection changes; a reconnect's set-up that is overtaken by another change gives up. */
  private link = 0;
  private refreshTimer: NodeJS.Timeout | null = null;
  private readonly watched = new Map<string, Subscription | null>();

  constructor(options: NatsControlPlaneOptions = {}) {
    this.options = {
      servers: options.servers ?? ['nats://127.0.0.1:4222'],
      prefix: options.prefix ?? 'herald',
      presenceTtlMs: options.presenceTtlMs ?? 30_000,
      replyTimeoutMs: options.replyTimeoutMs ?? 2_000,
      connectTimeoutMs: options.connectTimeoutMs ?? 10_000,
    };
    if (!validPrefix(this.options.prefix)) throw new RangeError(`prefix must be 1-64 of [A-Za-z0-9_-], got ${JSON.stringify(this.options.prefix)}`);
    if (!(this.options.presenceTtlMs >= 300)) throw new RangeError(`presenceTtlMs must be at least 300, got ${this.options.presenceTtlMs}`);
    this.nodeId = options.nodeId ?? randomNodeId();
    if (!/^[A-Za-z0-9_-]{1,64}$/.test(this.nodeId)) throw new RangeError(`nodeId must be 1-64 of [A-Za-z0-9_-], got ${JSON.stringify(this.nodeId)}`);
    this.member = options.member ?? true;
    this.events = options.events ?? {};
  }

  async start(handler: ControlHandler): Promise<void> {
    if (this.closed) throw new EngineUnavailableError('control plane is closed');
    if (this.handler !== null) throw new Error('control plane already started');
    this.handler = handler;
    try {
      this.nc = await connect({
        servers: this.options.servers,
        name: `herald-control-${this.nodeId}`,
        timeout: this.options.connectTimeoutMs,
        reconnect: true,
        maxReconnectAttempts: -1,
        reconnectTimeWait: 250,
      });
      const jsm = await this.nc.jetstreamManager();
      this.presenceStore = new NatsPresence(this.nc, jsm, this.options.prefix, this.options.presenceTtlMs, (error) => this.events.onError?.(error));
      await this.presenceStore.open();
      if (this.member) this.nc.subscribe(`${this.options.prefix}.ctl`, { callback: this.onRequest });
      for (const topic of this.watched.keys()) this.watched.set(topic, this.subscribeJoinLeave(topic));
      if (this.member) await this.presenceStore.register(this.nodeId, handler.localInfo());
      await this.nc.flush();
    } catch (error) {
      this.handler = null;
      await this.nc?.close().catch(() => undefined);
      this.nc = null;
      throw new EngineUnavailableError(`nats not ready: ${(error as Error).message}`, { cause: error });
    }
    this.connected = true;
    void this.watch(this.nc);
    this.refreshTimer = setInterval(() => void this.refresh(), Math.max(100, Math.floor(this.options.presenceTtlMs / 3)));
    this.refreshTimer.unref();
  }

  async command(command: ControlCommand): Promise<number> {
    const replies = await this.gather({ kind: 'command', command });
    return replies.reduce((sum, reply) => sum + (typeof reply.affected === 'number' ? reply.affected : 0), 0);
  }

  async info(): Promise<NodeInfo[]> {
    const replies = await this.gather({ kind: 'info' });
    const nodes = replies.flatMap((reply) => (reply.info === undefined ? [] : [reply.info]));
    return nodes.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  async channels(pattern: string | undefined, cursor: string | undefined, limit: number): Promise<{ channels: ChannelCount[]; cursor?: string }> {
    this.requireReady();
    if (!(limit >= 1)) return { channels: [] };
    const replies = await this.gather({ kind: 'channels', pattern, after: cursor, limit });
    return mergeChannels(
      replies.flatMap((reply) => (Array.isArray(reply.channels) ? [reply.channels] : [])),
      limit,
    );
  }

  presenceAdd(topic: string, entry: PresenceEntry): void {
    if (this.closed || this.presenceStore === null) return;
    this.presenceStore.add(topic, entry);
  }

  presenceRemove(topic: string, entry: PresenceEntry): void {
    if (this.closed || this.presenceStore === null) return;
    this.presenceStore.remove(topic, entry);
  }

  async presence(topic: string, limit: number): Promise<PresenceEntry[]> {
    const store = this.requireReady();
    return store.list(topic, limit).catch(unavailable);
  }

  async presenceStats(topic: string): Promise<PresenceStats> {
    const store = this.requireReady();
    return store.stats(topic).catch(unavailable);
  }

  publishJoinLeave(event: JoinLeaveEvent): void {
    if (this.closed || this.nc === null || !this.connected) return;
    this.nc.publish(this.joinLeaveSubject(event.topic), encoder.encode(JSON.stringify(event)));
  }

  watchJoinLeave(topic: string, watching: boolean): void {
    if (this.closed) return;
    const current = this.watched.get(topic);
    if (watching) {
      if (current !== undefined) return;
      this.watched.set(topic, this.nc === null ? null : this.subscribeJoinLeave(topic));
    } else if (current !== undefined) {
      this.watched.delete(topic);
      current?.unsubscribe();
    }
  }

  /** Resolves once the subscriptions changed so far are in force on the server. */
  async settled(): Promise<void> {
    if (this.nc !== null && this.connected && !this.closed) await this.nc.flush().catch(() => undefined);
  }

  /** Leave the registry and presence at once (others stop counting this node), then disconnect. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.refreshTimer !== null) clearInterval(this.refreshTimer);
    const nc = this.nc;
    if (nc === null) return;
    if (this.connected) await this.presenceStore?.leave(this.nodeId).catch((error: Error) => this.events.onError?.(error));
    this.connected = false;
    this.handler = null;
    await nc.close().catch(() => undefined);
  }

  private requireReady(): NatsPresence {
    if (this.closed || this.presenceStore === null || !this.connected) {
      throw new EngineUnavailableError(`control plane is ${this.closed ? 'closed' : 'not connected'}`);
    }
    return this.presenceStore;
  }

  private joinLeaveSubject(topic: string): string {
    return `${this.options.prefix}.jl.${encodeToken(topic)}`;
  }

  private subscribeJoinLeave(topic: string): Subscription {
    return this.nc!.subscribe(this.joinLeaveSubject(topic), {
      callback: (error, message) => {
        if (error !== null || this.handler === null) return;
        try {
          this.handler.onJoinLeave(JSON.parse(decoder.decode(message.data)) as JoinLeaveEvent);
        } catch (failure) {
          this.events.onError?.(failure as Error);
        }
      },
    });
  }

  /** Ask every node; answers until the registry's node count answered or the timeout. */
  private async gather(request: ControlRequest): Promise<ControlReply[]> {
    const store = this.requireReady();
    const nc = this.nc!;
    const expected = await store.nodeCount().catch(unavailable);
    const inbox = createInbox();
    const replies: ControlReply[] = [];
    await new Promise<void>((resolve) => {
      let subscription: Subscription | null = null;
      const timer = setTimeout(() => finish(), this.options.replyTimeoutMs);
      const finish = (): void => {
        clearTimeout(timer);
        subscription?.unsubscribe();
        resolve();
      };
      subscription = nc.subscribe(inbox, {
        callback: (error, message) => {
          if (error !== null) return;
          try {
            replies.push(JSON.parse(decoder.decode(message.data)) as ControlReply);
          } catch (failure) {
            this.events.onError?.(failure as Error);
          }
          if (replies.length >= expected) finish();
        },
      });
      nc.publish(`${this.options.prefix}.ctl`, encoder.encode(JSON.stringify(request)), { reply: inbox });
    });
    return replies;
  }

  /** A request from any node (this one included): apply it here and answer. */
  private readonly onRequest = (error: Error | null, message: Msg): void => {
    const handler = this.handler;
    if (error !== null || handler === null || message.reply === undefined) return;
    let reply: ControlReply;
    try {
      const request = JSON.parse(decoder.decode(message.data)) as ControlRequest;
      if (request.kind === 'command') reply = { affected: handler.apply(request.command) };
      else if (request.kind === 'info') reply = { info: handler.localInfo() };
      else if (request.kind === 'channels') reply = { channels: handler.localChannels(request.pattern, request.after, request.limit) };
      else throw new Error(`unknown control request ${JSON.stringify((request as { kind?: unknown }).kind)}`);
    } catch (failure) {
      this.events.onError?.(failure as Error);
      reply = {};
    }
    message.respond(encoder.encode(JSON.stringify(reply)));
  };

  private async refresh(): Promise<void> {
    const store = this.presenceStore;
    const handler = this.handler;
    if (store === null || handler === null || !this.connected || this.closed) return;
    try {
      await Promise.all([this.member ? store.register(this.nodeId, handler.localInfo()) : undefined, store.refresh()]);
    } catch (error) {
      this.events.onError?.(error as Error);
    }
  }

  private async watch(nc: NatsConnection): Promise<void> {
    for await (const status of nc.status()) {
      if (this.closed) return;
      if (status.type === 'disconnect') {
        this.connected = false;
        this.link++;
      } else if (status.type === 'reconnect') void this.reconnected(nc, ++this.link);
    }
  }

  /** Buckets bound again (retried until JetStream answers), then registry and presence put again. */
  private async reconnected(nc: NatsConnection, link: number): Promise<void> {
    for (;;) {
      if (this.closed || nc.isClosed() || link !== this.link) return;
      try {
        await this.presenceStore!.open();
        break;
      } catch (error) {
        this.events.onError?.(error as Error);
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
    }
    this.connected = true;
    this.reconnectCount++;
    await this.refresh();
    this.events.onReconnect?.(this.reconnectCount);
  }
}

function unavailable(error: unknown): never {
  if (error instanceof EngineUnavailableError) throw error;
  throw new EngineUnavailableError(`nats: ${(error as Error).message}`, { cause: error });
}
