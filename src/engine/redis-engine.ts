import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { RedisChannelSet } from './redis-channel-set.js';
import { failFastRedis, quit, whenReady } from './redis-connection.js';
import {
  EngineUnavailableError,
  streamOf,
  type Delivery,
  type Engine,
  type EngineHandler,
  type HistoryResult,
  type Publication,
  type StreamPosition,
} from './engine.js';
import type { HistoryFor, HistoryLimits } from '../streams.js';
import { HISTORY_LUA, PUBLISH_LUA, parseMessage, streamKeys, streamLimits, toDeliveries, type RawEntry } from './redis-scripts.js';

/** Which of the engine's two Redis connections an event is about. */
export type RedisConnectionRole = 'command' | 'subscriber';

/** Things worth logging or counting; every callback is optional. */
export interface RedisEngineEvents {
  /**
   * A connection reported an error (refused connects while Redis is down come
   * here, once per attempt), or a message on a routing channel could not be
   * parsed, or the delivery handler threw.
   */
  onError?(error: Error, connection: RedisConnectionRole): void;
  /** A connection is ready again after it was lost; `reconnects` counts both connections. */
  onReconnect?(connection: RedisConnectionRole, reconnects: number): void;
}

/** Options of a {@link RedisEngine}. */
export interface RedisEngineOptions {
  /** Redis URL; default `redis://127.0.0.1:6379`. */
  url?: string;
  /** Prepended to every key and channel, so several deployments can share one Redis; default `herald:`. */
  prefix?: string;
  /** Publications kept per stream for `history` (XADD MAXLEN ~); default 100, 0 keeps positions only. */
  historySize?: number;
  /** A stream with no publication for this long expires (history, seq and epoch), in ms; default 5 min. */
  historyTtlMs?: number;
  /** Other history limits for some topics (their namespace's); every node must give the same. */
  historyFor?: HistoryFor;
  /**
   * A command with no reply after this many ms fails (`publish` rejects with
   * EngineUnavailableError) — a hung Redis must not hang the push API; default 2,000.
   */
  commandTimeoutMs?: number;
  /** Budget of one connection attempt, and of `start()` reaching Redis, in ms; default 10,000. */
  connectTimeoutMs?: number;
  /** First reconnect delay in ms, doubled per failed attempt; default 100. */
  reconnectBaseMs?: number;
  /** Reconnect delay cap in ms; default 5,000. */
  reconnectMaxMs?: number;
  events?: RedisEngineEvents;
}

/** The custom commands the command connection gets from ioredis `scripts` (EVALSHA, EVAL on NOSCRIPT). */
export interface ScriptCommands {
  heraldPublish(...args: (string | Buffer | number)[]): Promise<[seq: number, epoch: string]>;
  heraldHistoryBuffer(...args: (string | number)[]): Promise<[seq: number, epoch: Buffer, entries?: RawEntry[], since?: number]>;
}

/**
 * The Redis engine: nodes share publications, sequence numbers and history
 * through one Redis (design §4).
 *
 * **Connections.** One for commands (the publish and history scripts), one in
 * subscriber mode. Both fail fast rather than queue: no offline queue, no
 * retry of in-flight commands, a command timeout. Both reconnect with
 * exponential backoff; `ready` is true only while both are up.
 *
 * **Streams** (see `streamOf`) live in three keys per stream — seq, epoch and
 * a Redis stream of recent entries (see redis-scripts.ts) — so any node
 * answers `history` for a publication made through any other node.
 *
 * **Interest routing.** A publication goes to one channel: `<prefix>u:<uid>`
 * when it has a uid (with or without topic), else `<prefix>t:<topic>`, else
 * `<prefix>all`. A node SUBSCRIBEs `all` when it starts, a topic channel while
 * it has local subscribers to the topic (`subscribeTopic`), a user channel
 * while it has connections of that user (`subscribeUser`), so Redis sends a
 * node nothing it has no local audience for. Interest calls are synchronous:
 * they edit the wanted channel set, and one microtask later the difference
 * from what the connection has is sent, in order — a subscribe and an
 * unsubscribe in the same tick cancel out. After a reconnect every wanted
 * channel is subscribed again; once Redis confirms, the handler is told
 * (`onResubscribed`), so the node fills what it missed from history at once.
 * `head` reads a stream's position after the pending SUBSCRIBEs are
 * answered: the node's starting point for a stream it just gained interest in.
 *
 * **Publish** is one Lua script: new incarnation with a fresh epoch if the
 * stream's keys are gone, INCR seq, XADD `0-<seq>`, PEXPIRE, PUBLISH of the
 * framed message (header line + raw bytes, see `parseMessage`). The payload
 * crosses the network once per node reached.
 *
 * **History** serves exactly the last `historySize` publications of a stream
 * (the same window as MemoryEngine; MAXLEN ~ may keep a few more in Redis,
 * they are not served), read together with the position in one script. A
 * stream's keys expire `historyTtlMs` after its last publication.
 *
 * Needs a standalone Redis ≥ 5 (streams): the scripts touch three keys of one
 * stream and PUBLISH. On a Redis Cluster, RedisClusterEngine keeps them in one
 * slot with hash tags and uses SPUBLISH.
 *
 * Guarantees (the Engine contract):
 * - `publish` resolves once the script ran: the publication is in its stream
 *   and in the output buffer of every subscribed node. It rejects with
 *   EngineUnavailableError when the command connection is down (at once), on
 *   timeout, or when the connection drops mid-command — then the publication
 *   may or may not have been made (a retry may duplicate it).
 * - Per stream, every node receives publications in seq order: scripts run
 *   one at a time, and a stream always maps to one channel.
 * - At most once per node. While the subscriber connection is down,
 *   publications to this node are lost; `history` recovers them while the
 *   stream still holds them. If Redis loses the keys (restart without
 *   persistence, TTL, eviction) the epoch changes and old positions answer
 *   `recovered: false`.
 */
export class RedisEngine implements Engine {
  /** Publications made while the subscriber connection was down never arrive live; the node refills them from history. */
  readonly mayMissDeliveries = true;
  /** Channels this node wants; once {@link settled}, exactly those the subscriber connection has. */
  readonly channels: ReadonlySet<string>;
  private readonly options: Required<Omit<RedisEngineOptions, 'events' | 'url' | 'historyFor'>>;
  readonly historyFor: HistoryFor | undefined;
  private readonly defaultLimits: HistoryLimits;
  private readonly events: RedisEngineEvents;
  private readonly command: Redis & ScriptCommands;
  private readonly subscriber: Redis;
  /** The channels this node wants, kept in step with the subscriber connection (restorations reported). */
  private readonly channelSet: RedisChannelSet;
  private handler: EngineHandler | null = null;
  private started = false;
  private closed = false;
  private everReady = { command: false, subscriber: false };
  private reconnectCount = 0;
  /** Epoch candidates: random per engine, plus a counter, so each new incarnation's epoch is unique. */
  private readonly epochBase = randomBytes(6).toString('base64url');
  /**
   * Names this engine's Redis connections (`CLIENT SETNAME herald-<role>-<id>`),
   * so an operator (or a test) can tell the nodes' connections apart in
   * `CLIENT LIST` and act on one node's only.
   */
  readonly instanceId = this.epochBase;
  private epochCounter = 0;

  constructor(options: RedisEngineOptions = {}) {
    this.options = {
      prefix: options.prefix ?? 'herald:',
      historySize: options.historySize ?? 100,
      historyTtlMs: options.historyTtlMs ?? 5 * 60_000,
      commandTimeoutMs: options.commandTimeoutMs ?? 2_000,
      connectTimeoutMs: options.connectTimeoutMs ?? 10_000,
      reconnectBaseMs: options.reconnectBaseMs ?? 100,
      reconnectMaxMs: options.reconnectMaxMs ?? 5_000,
    };
    if (!Number.isSafeInteger(this.options.historySize) || this.options.historySize < 0) {
      throw new RangeError(`historySize must be a non-negative integer, got ${this.options.historySize}`);
    }
    if (!(this.options.historyTtlMs >= 1)) throw new RangeError(`historyTtlMs must be at least 1, got ${this.options.historyTtlMs}`);
    this.events = options.events ?? {};
    this.historyFor = options.historyFor;
    this.defaultLimits = { size: this.options.historySize, ttlMs: this.options.historyTtlMs };
    const url = options.url ?? 'redis://127.0.0.1:6379';
    this.command = this.connection(url, 'command') as Redis & ScriptCommands;
    this.subscriber = this.connection(url, 'subscriber');
    this.subscriber.on('messageBuffer', this.onMessage);
    this.channelSet = new RedisChannelSet(
      this.subscriber,
      this.options.reconnectBaseMs,
      () => this.started && !this.closed,
      (error) => this.events.onError?.(error, 'subscriber'),
      (channels) => this.restored(channels),
    );
    this.subscriber.on('close', () => this.channelSet.lost());
    this.channels = this.channelSet.channels;
    this.channelSet.want(`${this.options.prefix}all`, true);
  }

  /** True while both connections are up (publish can succeed and this node receives). */
  get ready(): boolean {
    return this.started && !this.closed && this.command.status === 'ready' && this.subscriber.status === 'ready';
  }

  /** Times a connection came back after it was lost (both connections counted). */
  get reconnects(): number {
    return this.reconnectCount;
  }

  /**
   * Connect both connections and subscribe `all` plus any interest registered
   * so far. Rejects with EngineUnavailableError when Redis is not ready within
   * `connectTimeoutMs`.
   */
  async start(handler: EngineHandler): Promise<void> {
    if (this.closed) throw new EngineUnavailableError('redis engine is closed');
    if (this.handler !== null) throw new Error('redis engine already started');
    this.handler = handler;
    try {
      await Promise.all([whenReady(this.command, this.options.connectTimeoutMs), whenReady(this.subscriber, this.options.connectTimeoutMs)]);
    } catch (error) {
      this.command.disconnect();
      this.subscriber.disconnect();
      this.handler = null;
      throw new EngineUnavailableError(`redis not ready: ${(error as Error).message}`, { cause: error });
    }
    this.started = true;
    await this.settled();
  }

  publish(publication: Publication): Promise<StreamPosition | undefined> {
    if (!this.started || this.closed || this.command.status !== 'ready') {
      return Promise.reject(new EngineUnavailableError(`redis engine is ${this.closed ? 'closed' : 'not connected'}`));
    }
    const { uid, topic, data } = publication;
    const stream = streamOf(publication);
    const { size, ttlMs } = this.limits(stream);
    return this.command
      .heraldPublish(
        ...streamKeys(this.options.prefix, stream),
        this.nextEpoch(),
        size,
        ttlMs,
        this.channelOf(uid, topic),
        uid === undefined ? '0' : '1',
        uid ?? '',
        topic === undefined ? '0' : '1',
        topic ?? '',
        data,
      )
      .then(toPosition, unavailable);
  }

  /**
   * Position and entries are read by one script, so they agree. Asking about
   * a stream that has no keys starts its incarnation (seq 0), so the answer
   * is a position that later publications continue.
   */
  async history(stream: string, since: StreamPosition | undefined, limit?: number): Promise<HistoryResult> {
    // A resume subscribes and then reads history: the SUBSCRIBE must be in force before the read,
    // or a publication landing between the two would be neither replayed nor delivered live.
    await this.settled();
    if (!this.started || this.closed || this.command.status !== 'ready') {
      throw new EngineUnavailableError(`redis engine is ${this.closed ? 'closed' : 'not connected'}`);
    }
    const fromOldest = since === undefined && limit !== undefined;
    const sinceSeq = fromOldest ? -2 : since !== undefined && Number.isSafeInteger(since.seq) && since.seq >= 0 ? since.seq : -1;
    const { size, ttlMs } = this.limits(stream);
    let reply: Awaited<ReturnType<ScriptCommands['heraldHistoryBuffer']>>;
    try {
      reply = await this.command.heraldHistoryBuffer(
        ...streamKeys(this.options.prefix, stream),
        this.nextEpoch(),
        ttlMs,
        size,
        sinceSeq,
        since?.epoch ?? '',
        limit ?? 0,
      );
    } catch (error) {
      return unavailable(error);
    }
    const position = { seq: Number(reply[0]), epoch: reply[1].toString('latin1') };
    if (fromOldest) {
      const publications = reply[2] === undefined ? undefined : toDeliveries(reply[2], Number(reply[3]), position, limit);
      return publications === undefined ? { recovered: false, position } : { recovered: true, publications, position };
    }
    if (since === undefined) return { recovered: true, publications: [], position };
    if (sinceSeq < 0 || since.epoch !== position.epoch || sinceSeq > position.seq) return { recovered: false, position };
    if (sinceSeq === position.seq) return { recovered: true, publications: [], position };
    const publications = reply[2] === undefined ? undefined : toDeliveries(reply[2], sinceSeq, position, limit);
    if (publications === undefined) return { recovered: false, position };
    return { recovered: true, publications, position };
  }

  /**
   * DEL of the stream's three keys, in one command: the next publish finds no
   * incarnation and starts a new one (seq 1, a new epoch), so positions of
   * before are refused (`recovered: false`) and nodes following the stream
   * see a new epoch starting at 1, which is no gap.
   */
  async removeHistory(stream: string): Promise<void> {
    if (!this.started || this.closed || this.command.status !== 'ready') {
      throw new EngineUnavailableError(`redis engine is ${this.closed ? 'closed' : 'not connected'}`);
    }
    try {
      await this.command.del(...streamKeys(this.options.prefix, stream));
    } catch (error) {
      unavailable(error);
    }
  }

  /**
   * MGET of the stream's seq and epoch keys — read-only, so asking about a
   * stream nobody published to leaves nothing behind — after the interest
   * changes made so far are answered on the subscriber connection.
   */
  async head(stream: string): Promise<StreamPosition> {
    // One turn later: interest changes of this turn go out first, in one batch.
    await null;
    await this.channelSet.sent();
    if (!this.started || this.closed || this.command.status !== 'ready') {
      throw new EngineUnavailableError(`redis engine is ${this.closed ? 'closed' : 'not connected'}`);
    }
    const { prefix } = this.options;
    let reply: (string | null)[];
    try {
      reply = await this.command.mget(`${prefix}seq:${stream}`, `${prefix}epoch:${stream}`);
    } catch (error) {
      return unavailable(error);
    }
    const [seq, epoch] = reply;
    // Both keys make an incarnation (see redis-scripts.ts); without them the next publish starts one at seq 1.
    if (seq === null || epoch === null) return { seq: 0, epoch: '' };
    return { seq: Number(seq), epoch };
  }

  subscribeTopic(topic: string): void {
    this.want(`${this.options.prefix}t:${topic}`, true);
  }

  unsubscribeTopic(topic: string): void {
    this.want(`${this.options.prefix}t:${topic}`, false);
  }

  subscribeUser(uid: string): void {
    this.want(`${this.options.prefix}u:${uid}`, true);
  }

  unsubscribeUser(uid: string): void {
    this.want(`${this.options.prefix}u:${uid}`, false);
  }

  /**
   * Resolves once the interest changes made so far have been sent and
   * answered on the current subscriber connection (at once while it is down:
   * its reconnect subscribes everything wanted). For tests and orderly starts.
   */
  async settled(): Promise<void> {
    await this.channelSet.settled();
  }

  /** Quit both connections; publish and history reject afterwards. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.handler = null;
    await Promise.all([quit(this.command), quit(this.subscriber)]);
  }

  private connection(url: string, role: RedisConnectionRole): Redis {
    // Fail fast instead of queueing: a publish must never wait for a reconnect; the engine resubscribes
    // itself (its wanted set is the truth, not ioredis's).
    const scripts =
      role === 'command'
        ? { heraldPublish: { lua: PUBLISH_LUA, numberOfKeys: 3 }, heraldHistory: { lua: HISTORY_LUA, numberOfKeys: 3 } }
        : undefined;
    const redis = failFastRedis(url, `herald-${role}-${this.instanceId}`, this.options, scripts);
    redis.on('error', (error: Error) => this.events.onError?.(error, role));
    redis.on('ready', () => this.onReady(role));
    return redis;
  }

  private onReady(role: RedisConnectionRole): void {
    if (this.everReady[role]) {
      this.reconnectCount++;
      this.events.onReconnect?.(role, this.reconnectCount);
    }
    this.everReady[role] = true;
    if (role === 'subscriber') this.channelSet.sync();
  }

  /** The stream's history size and TTL: its topic's namespace's, or the engine's. */
  private limits(stream: string): HistoryLimits {
    return streamLimits(stream, this.defaultLimits, this.historyFor);
  }

  private channelOf(uid: string | undefined, topic: string | undefined): string {
    const prefix = this.options.prefix;
    if (uid !== undefined) return `${prefix}u:${uid}`;
    return topic !== undefined ? `${prefix}t:${topic}` : `${prefix}all`;
  }

  private nextEpoch(): string {
    return `${this.epochBase}${(this.epochCounter++).toString(36)}`;
  }

  private want(channel: string, on: boolean): void {
    this.channelSet.want(channel, on);
  }

  /** Tell the handler which lost subscriptions (still wanted) are in force again. */
  private restored(channels: string[]): void {
    const handler = this.handler;
    if (handler?.onResubscribed === undefined) return;
    const { prefix } = this.options;
    for (const channel of channels) {
      if (!channel.startsWith(prefix)) continue;
      const name = channel.slice(prefix.length);
      const interest = name === 'all' ? {} : name.startsWith('t:') ? { topic: name.slice(2) } : { uid: name.slice(2) };
      try {
        handler.onResubscribed(interest);
      } catch (error) {
        this.events.onError?.(error as Error, 'subscriber');
      }
    }
  }

  /** Called by ioredis for every message on a subscribed channel, in arrival order. */
  private readonly onMessage = (channel: Buffer, message: Buffer): void => {
    const handler = this.handler;
    if (handler === null) return;
    const parsed = parseMessage(message);
    if (parsed === undefined) {
      this.events.onError?.(new Error(`unparseable message on channel ${channel.toString()}`), 'subscriber');
      return;
    }
    const delivery: Delivery = {
      uid: parsed.uid,
      topic: parsed.topic,
      data: parsed.data,
      position: { seq: parsed.seq, epoch: parsed.epoch },
    };
    try {
      handler.onPublication(delivery);
    } catch (error) {
      this.events.onError?.(error as Error, 'subscriber');
    }
  };
}

function toPosition(reply: [seq: number, epoch: string]): StreamPosition {
  return { seq: Number(reply[0]), epoch: String(reply[1]) };
}

function unavailable(error: unknown): never {
  throw new EngineUnavailableError(`redis: ${(error as Error).message}`, { cause: error });
}
