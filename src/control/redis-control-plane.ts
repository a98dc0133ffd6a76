import { randomBytes } from 'node:crypto';
import type { Cluster, Redis } from 'ioredis';
import { failFastCluster, failFastRedis, quit, whenReady } from '../engine/redis-connection.js';
import { checkClusterPrefix } from '../engine/redis-cluster-keys.js';
import { ClusterScriptLoader } from '../engine/redis-cluster-script-loader.js';
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
import { RedisNodeRegistry, REGISTRY_SCRIPTS, type RegistryScriptCommands } from './redis-node-registry.js';
import { PRESENCE_SCRIPTS, RedisPresence, type PresenceScriptCommands } from './redis-presence.js';
import { clusterNames, singleRedisNames, type ControlNames } from './redis-control-names.js';
import { ClusterSubscriber, SingleRedisSubscriber, type ControlSubscriber } from './redis-control-subscriber.js';
import { parseJoinLeave, parseReply, parseRequest, type ControlReply, type ControlRequest } from './redis-control-messages.js';
import { mergeChannels } from './merge-channels.js';
import { PendingRequests, unavailable } from './redis-requests.js';

/** Which of the control plane's two Redis connections an event is about. */
export type ControlConnectionRole = 'command' | 'subscriber';

/** Things worth logging; every callback is optional. */
export interface RedisControlPlaneEvents {
  /** A connection reported an error, a script failed, a message could not be parsed, or the handler threw. */
  onError?(error: Error, connection: ControlConnectionRole): void;
  /** A connection is ready again after it was lost. */
  onReconnect?(connection: ControlConnectionRole, reconnects: number): void;
}

export interface RedisControlPlaneOptions {
  /** Redis URL; default `redis://127.0.0.1:6379`. Ignored when `clusterUrls` is set. */
  url?: string;
  /**
   * Seed URLs of a Redis Cluster (`--redis-cluster`): keys hash-tagged per
   * group (redis-control-names.ts), commands through an ioredis `Cluster`,
   * channels on sharded pub/sub. Unset: one Redis at `url`.
   */
  clusterUrls?: string[];
  /** Prepended to every key and channel; default `herald:` (the engine's keys and these do not collide). */
  prefix?: string;
  /** This node's id: 1–64 of `A–Z a–z 0–9 _ -`; default 10 random base64url characters. */
  nodeId?: string;
  /** A node that stops refreshing disappears from presence and info within this, in ms; default 30,000. */
  presenceTtlMs?: number;
  /** How long `command` and `channels` wait for the other nodes' answers, in ms; default 2,000. */
  replyTimeoutMs?: number;
  /** A Redis command with no reply after this many ms fails; default 2,000. */
  commandTimeoutMs?: number;
  /**
   * False: this plane only asks (the `--workers` primary, which serves the
   * server API but holds no connections). It is not listed in the registry,
   * answers no request, and `command`, `channels` and `info` gather from the
   * registered nodes only, with no local part; its handler is never called.
   * Default true.
   */
  member?: boolean;
  /** Budget of `start()` reaching Redis, in ms; default 10,000. */
  connectTimeoutMs?: number;
  /** First reconnect delay in ms, doubled per failed attempt; default 100. */
  reconnectBaseMs?: number;
  /** Reconnect delay cap in ms; default 5,000. */
  reconnectMaxMs?: number;
  events?: RedisControlPlaneEvents;
}

type CommandConnection = (Redis | Cluster) & PresenceScriptCommands & RegistryScriptCommands;

const NODE_ID = /^[A-Za-z0-9_-]{1,64}$/;

/**
 * What a RedisControlPlane uses for the options left out: `--redis-prefix`,
 * `--presence-ttl` and `--redis-url`'s defaults (equal to the option table's,
 * checked by test/config/node-defaults.test.ts; `herald serve` always passes them).
 */
export const REDIS_CONTROL_PLANE_DEFAULTS = { prefix: 'herald:', presenceTtlMs: 30_000, url: 'redis://127.0.0.1:6379' } as const;

/**
 * The control plane over Redis: every node of one prefix forms the cluster.
 *
 * **Connections.** One for commands (scripts, PUBLISH, reads) named
 * `herald-control-<nodeId>`, one in subscriber mode named
 * `herald-control-subscriber-<nodeId>`. Like the engine's, they fail fast (no
 * offline queue, a command timeout) and reconnect with backoff.
 *
 * **Registry** (RedisNodeRegistry): each node's NodeInfo under a key with the
 * presence TTL, indexed by a sorted set scored by expiry; refreshed every
 * TTL/3 on an unref'd timer.
 *
 * **Commands, channels and info figures** are scatter-gather (the asking side:
 * PendingRequests, redis-requests.ts): the origin PUBLISHes a request
 * (id, origin, body) on `P control`; every other node applies it through its
 * handler and PUBLISHes its answer on `P control:reply:<origin>`; the origin
 * applies it locally. The origin is done when every live node of the registry
 * has answered, or as many nodes as the PUBLISH reached, or after
 * `replyTimeoutMs` — a node that has not answered by then is left out. (A
 * request that cannot be sent rejects, but may already have been applied
 * locally: like a publish, a retry may apply it twice — commands are idempotent.)
 *
 * **Presence** (RedisPresence): per topic, a hash of entries, a sorted set of
 * expiries and a hash of per-user counts; stats are two HLENs.
 *
 * **Join/leave** events go through `P jl:<topic>`, which a node SUBSCRIBEs
 * while one of its clients asked for the topic's events.
 *
 * **Redis down.** `presenceAdd`/`presenceRemove` only change the local map
 * (re-added in full once the command connection is back); `publishJoinLeave`
 * is dropped; `command`, `info`, `channels`, `presence` and `presenceStats`
 * reject with EngineUnavailableError (the API answers 503); reads need only
 * the command connection, requests the subscriber one too.
 *
 * **Non-member** (`member: false`, the `--workers` primary): the same reads
 * and requests, but the plane is not a node of the cluster — not registered,
 * not subscribed to requests, no local part in what it gathers.
 */
export class RedisControlPlane implements ControlPlane {
  readonly nodeId: string;
  private readonly options: Required<Omit<RedisControlPlaneOptions, 'events' | 'url' | 'clusterUrls' | 'nodeId' | 'member'>>;
  private readonly member: boolean;
  private readonly events: RedisControlPlaneEvents;
  private readonly redis: CommandConnection;
  private readonly subscriber: ControlSubscriber;
  /** Set on a Redis Cluster: keeps the scripts on every node (see ClusterScriptLoader). */
  private readonly scriptLoader: ClusterScriptLoader | null = null;
  private readonly registry: RedisNodeRegistry;
  private readonly presenceStore: RedisPresence;
  private readonly names: ControlNames;
  private readonly controlChannel: string;
  private readonly replyChannel: string;
  /** Watched join/leave channels → their topic. */
  private readonly joinLeaveTopics = new Map<string, string>();
  /** This node's scatter-gather requests in flight (redis-requests.ts). */
  private readonly requests: PendingRequests;
  private handler: ControlHandler | null = null;
  private started = false;
  private closed = false;
  private everReady = false;
  private reconnectCount = 0;
  private refreshTimer: NodeJS.Timeout | null = null;

  constructor(options: RedisControlPlaneOptions = {}) {
    this.nodeId = options.nodeId ?? randomBytes(8).toString('base64url').slice(0, 10);
    if (!NODE_ID.test(this.nodeId)) throw new RangeError(`nodeId must be 1-64 of A-Z a-z 0-9 _ -, got ${JSON.stringify(this.nodeId)}`);
    this.options = {
      prefix: options.prefix ?? REDIS_CONTROL_PLANE_DEFAULTS.prefix,
      presenceTtlMs: options.presenceTtlMs ?? REDIS_CONTROL_PLANE_DEFAULTS.presenceTtlMs,
      replyTimeoutMs: options.replyTimeoutMs ?? 2_000,
      commandTimeoutMs: options.commandTimeoutMs ?? 2_000,
      connectTimeoutMs: options.connectTimeoutMs ?? 10_000,
      reconnectBaseMs: options.reconnectBaseMs ?? 100,
      reconnectMaxMs: options.reconnectMaxMs ?? 5_000,
    };
    if (!(this.options.presenceTtlMs >= 300)) throw new RangeError(`presenceTtlMs must be at least 300, got ${this.options.presenceTtlMs}`);
    this.events = options.events ?? {};
    this.member = options.member ?? true;
    const { prefix, presenceTtlMs } = this.options;
    const clusterUrls = options.clusterUrls;
    if (clusterUrls !== undefined && clusterUrls.length === 0) throw new RangeError('a Redis Cluster needs at least one seed URL');
    if (clusterUrls !== undefined) checkClusterPrefix(prefix);
    this.names = clusterUrls === undefined ? singleRedisNames(prefix) : clusterNames(prefix);
    const scripts = { ...PRESENCE_SCRIPTS, ...REGISTRY_SCRIPTS };
    const commandName = `herald-control-${this.nodeId}`;
    const subscriberName = `herald-control-subscriber-${this.nodeId}`;
    const active = (): boolean => this.started && !this.closed;
    const subscriberEvents = {
      onMessage: this.onMessage,
      onError: (error: Error) => this.events.onError?.(error, 'subscriber'),
      onReconnect: () => this.events.onReconnect?.('subscriber', ++this.reconnectCount),
    };
    // Fail fast: nothing waits for a reconnect; presence is re-added from the local map instead.
    if (clusterUrls === undefined) {
      const url = options.url ?? REDIS_CONTROL_PLANE_DEFAULTS.url;
      this.redis = failFastRedis(url, commandName, this.options, scripts) as CommandConnection;
      this.subscriber = new SingleRedisSubscriber(url, subscriberName, this.options, active, subscriberEvents);
    } else {
      const cluster = failFastCluster(clusterUrls, commandName, this.options, scripts);
      this.redis = cluster as CommandConnection;
      this.scriptLoader = new ClusterScriptLoader(cluster, Object.values(scripts).map((script) => script.lua), this.options.commandTimeoutMs);
      cluster.on('refresh', () => void this.scriptLoader?.sync());
      cluster.on('node error', (error: Error) => this.events.onError?.(error, 'command'));
      this.subscriber = new ClusterSubscriber(cluster, subscriberName, this.options, active, subscriberEvents);
    }
    this.redis.on('error', (error: Error) => this.events.onError?.(error, 'command'));
    this.redis.on('ready', () => this.onCommandReady());
    this.registry = new RedisNodeRegistry(this.redis, this.names.registry, presenceTtlMs);
    this.presenceStore = new RedisPresence(this.redis, this.names.presence, presenceTtlMs, (error) => this.events.onError?.(error, 'command'));
    this.controlChannel = this.names.control;
    this.replyChannel = this.names.reply(this.nodeId);
    const publish =
      clusterUrls === undefined
        ? (channel: string, message: string) => this.redis.publish(channel, message)
        : // SPUBLISH: the shard of the channel's slot only, and the count of its subscribers (all of them: they SSUBSCRIBE on that master).
          (channel: string, message: string) => (this.redis as Cluster).spublish(channel, message).then(Number);
    this.publish = publish;
    this.requests = new PendingRequests({
      nodeId: this.nodeId,
      channel: this.controlChannel,
      replyTimeoutMs: this.options.replyTimeoutMs,
      publish,
      liveIds: () => this.registry.liveIds(),
      closed: () => this.closed,
    });
    // A non-member receives no requests: PUBLISH then counts only the nodes that answer.
    if (this.member) this.subscriber.want(this.controlChannel, true);
    this.subscriber.want(this.replyChannel, true);
  }

  /** PUBLISH on one Redis, SPUBLISH on a cluster; resolves with the subscribers reached. */
  private readonly publish: (channel: string, message: string) => Promise<number>;

  /** True while both connections are up. */
  get ready(): boolean {
    return this.started && !this.closed && this.redis.status === 'ready' && this.subscriber.ready;
  }

  /** Presence entries this node holds locally (and refreshes). */
  get localPresenceSize(): number {
    return this.presenceStore.localSize;
  }

  /**
   * Connect, subscribe the control channels, register this node, add the
   * presence entries reported before the start, and start the refresh timer.
   * Rejects with EngineUnavailableError when Redis is not ready within `connectTimeoutMs`.
   */
  async start(handler: ControlHandler): Promise<void> {
    if (this.closed) throw new EngineUnavailableError('control plane is closed');
    if (this.handler !== null) throw new Error('control plane already started');
    this.handler = handler;
    try {
      await Promise.all([whenReady(this.redis, this.options.connectTimeoutMs), this.subscriber.connect(this.options.connectTimeoutMs)]);
      await this.scriptLoader?.sync();
    } catch (error) {
      this.redis.disconnect();
      this.subscriber.disconnect();
      this.handler = null;
      throw new EngineUnavailableError(`control plane: redis not ready: ${(error as Error).message}`, { cause: error });
    }
    this.started = true;
    this.subscriber.begin();
    // Listen before being listed: once other nodes see this one, it answers their requests.
    await this.settled();
    if (!this.member) return;
    try {
      await this.registry.register(handler.localInfo());
    } catch (error) {
      this.events.onError?.(error as Error, 'command'); // the refresh retries
    }
    await this.presenceStore.readdAll();
    const period = Math.max(100, Math.floor(this.options.presenceTtlMs / 3));
    this.refreshTimer = setInterval(this.refresh, period);
    this.refreshTimer.unref();
  }

  async command(command: ControlCommand): Promise<number> {
    const handler = this.requireReady(true);
    let total = this.member ? this.applyLocally(() => handler.apply(command), 0) : 0;
    const answers = await this.requests.gather({ kind: 'command', command });
    for (const answer of answers) if (typeof answer.affected === 'number') total += answer.affected;
    return total;
  }

  async info(): Promise<NodeInfo[]> {
    const handler = this.requireReady();
    let nodes: NodeInfo[];
    try {
      nodes = await this.registry.live();
    } catch (error) {
      throw unavailable(error);
    }
    // Figures as of now: every live node is asked (this one locally); a node that does not answer in
    // time keeps the figures of its last registry refresh (at most TTL/3 old).
    const fresh = new Map<string, NodeInfo>();
    if (this.subscriber.ready) {
      for (const answer of await this.requests.gather({ kind: 'info' })) if (answer.info !== undefined) fresh.set(answer.node, answer.info);
    }
    const result = nodes.filter((node) => node.id !== this.nodeId).map((node) => ({ ...(fresh.get(node.id) ?? node), id: node.id }));
    if (this.member) result.push({ ...handler.localInfo(), id: this.nodeId });
    return result.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  async channels(pattern: string | undefined, cursor: string | undefined, limit: number): Promise<{ channels: ChannelCount[]; cursor?: string }> {
    const handler = this.requireReady(true);
    if (!(limit >= 1)) return { channels: [] };
    const lists = this.member ? [this.applyLocally(() => handler.localChannels(pattern, cursor, limit), [])] : [];
    const answers = await this.requests.gather({ kind: 'channels', pattern, after: cursor, limit });
    for (const answer of answers) if (answer.channels !== undefined) lists.push(answer.channels);
    return mergeChannels(lists, limit);
  }

  presenceAdd(topic: string, entry: PresenceEntry): void {
    if (this.closed) return;
    this.presenceStore.add(topic, entry);
  }

  presenceRemove(topic: string, entry: PresenceEntry): void {
    if (this.closed) return;
    this.presenceStore.remove(topic, entry);
  }

  async presence(topic: string, limit: number): Promise<PresenceEntry[]> {
    this.requireReady();
    try {
      return await this.presenceStore.list(topic, limit);
    } catch (error) {
      throw unavailable(error);
    }
  }

  async presenceStats(topic: string): Promise<PresenceStats> {
    this.requireReady();
    try {
      return await this.presenceStore.stats(topic);
    } catch (error) {
      throw unavailable(error);
    }
  }

  publishJoinLeave(event: JoinLeaveEvent): void {
    if (!this.started || this.closed || this.redis.status !== 'ready') return; // dropped: events are best effort
    this.publish(this.names.joinLeave(event.topic), JSON.stringify(event)).catch(this.commandError);
  }

  watchJoinLeave(topic: string, watching: boolean): void {
    if (this.closed) return;
    const channel = this.names.joinLeave(topic);
    if (watching) this.joinLeaveTopics.set(channel, topic);
    else this.joinLeaveTopics.delete(channel);
    this.subscriber.want(channel, watching);
  }

  /**
   * Resolves once the subscription changes made so far (join/leave watches)
   * have been answered by Redis on the current subscriber connection. For
   * tests and orderly starts.
   */
  settled(): Promise<void> {
    return this.subscriber.settled();
  }

  /**
   * Stop refreshing, remove this node's registry entry and presence entries
   * (so it vanishes at once rather than within the TTL), quit both
   * connections. Requests still waiting for answers resolve with what they have.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.refreshTimer !== null) clearInterval(this.refreshTimer);
    this.refreshTimer = null;
    this.requests.finishAll();
    if (this.started && this.member && this.redis.status === 'ready') {
      await Promise.allSettled([this.registry.unregister(this.nodeId), this.presenceStore.removeAll()]);
    }
    this.handler = null;
    await Promise.all([quit(this.redis), this.subscriber.close()]);
  }

  /**
   * The handler, or EngineUnavailableError when this node cannot reach the
   * cluster right now. Reads need the command connection; requests
   * (`command`, `channels`) the subscriber connection too, for the answers.
   */
  private requireReady(needsAnswers = false): ControlHandler {
    const handler = this.handler;
    const up = this.started && !this.closed && this.redis.status === 'ready' && (!needsAnswers || this.subscriber.ready);
    if (handler === null || !up) {
      throw new EngineUnavailableError(`control plane is ${this.closed ? 'closed' : 'not connected to redis'}`);
    }
    return handler;
  }

  private applyLocally<T>(run: () => T, fallback: T): T {
    try {
      return run();
    } catch (error) {
      this.events.onError?.(error as Error, 'subscriber');
      return fallback;
    }
  }

  /** Answer another node's request (or note that our own came round). */
  private answer(request: ControlRequest): void {
    if (request.origin === this.nodeId) return this.requests.ownRequestSeen(request.id);
    const handler = this.handler;
    if (handler === null || !this.member || this.redis.status !== 'ready') return; // the origin leaves us out after its timeout
    const reply: ControlReply = { id: request.id, node: this.nodeId };
    if (request.kind === 'command') reply.affected = this.applyLocally(() => handler.apply(request.command), 0);
    else if (request.kind === 'info') reply.info = { ...handler.localInfo(), id: this.nodeId };
    else reply.channels = this.applyLocally(() => handler.localChannels(request.pattern, request.after, request.limit), []);
    this.publish(this.names.reply(request.origin), JSON.stringify(reply)).catch(this.commandError);
  }

  /** Every message on a subscribed channel, in arrival order. */
  private readonly onMessage = (channel: string, message: string): void => {
    if (this.handler === null) return;
    if (channel === this.controlChannel) {
      const request = parseRequest(message);
      if (request === undefined) return this.badMessage(channel);
      return this.answer(request);
    }
    if (channel === this.replyChannel) {
      const reply = parseReply(message);
      if (reply === undefined) return this.badMessage(channel);
      return this.requests.reply(reply);
    }
    const topic = this.joinLeaveTopics.get(channel);
    if (topic !== undefined) {
      const event = parseJoinLeave(message, topic);
      if (event === undefined) return this.badMessage(channel);
      try {
        this.handler.onJoinLeave(event);
      } catch (error) {
        this.events.onError?.(error as Error, 'subscriber');
      }
    }
  };

  private badMessage(channel: string): void {
    this.events.onError?.(new Error(`unparseable control message on channel ${channel}`), 'subscriber');
  }

  /** Every TTL/3: this node's registry entry and presence entries. */
  private readonly refresh = (): void => {
    const handler = this.handler;
    if (handler === null || this.closed || this.redis.status !== 'ready') return;
    this.registry.register(handler.localInfo()).catch(this.commandError);
    this.presenceStore.refresh().catch(this.commandError);
  };

  private readonly commandError = (error: Error): void => {
    this.events.onError?.(error, 'command');
  };

  /** The command connection is ready: after a lost connection, list this node again. */
  private onCommandReady(): void {
    const again = this.everReady;
    this.everReady = true;
    if (again) this.events.onReconnect?.('command', ++this.reconnectCount);
    const handler = this.handler;
    if (!again || !this.started || this.closed || handler === null || !this.member) return;
    // Redis may have restarted empty, and adds/removes made meanwhile were not sent: list this node again.
    this.registry.register(handler.localInfo()).catch(this.commandError);
    this.presenceStore.readdAll().catch(this.commandError);
  }
}
