import { randomBytes } from 'node:crypto';
import { Cluster } from 'ioredis';
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
import { checkClusterPrefix, clusterChannel, clusterStreamKeys } from './redis-cluster-keys.js';
import type { RedisEngineEvents, RedisEngineOptions, ScriptCommands } from './redis-engine.js';
import { CLUSTER_HISTORY_LUA, SPUBLISH_LUA, SPUBLISH_MANY_LUA, parseMessage, streamLimits, toDeliveries, type RawEntry } from './redis-scripts.js';
import { RedisShardSubscribers } from './redis-shard-subscribers.js';
import { ClusterScriptLoader } from './redis-cluster-script-loader.js';
import { takeBatch } from './nats-batch.js';

/** The cluster engine's extra script command: several publications of one stream (SPUBLISH_MANY_LUA). */
interface ClusterScriptCommands extends ScriptCommands {
  heraldPublishMany(...args: (string | Buffer | number)[]): Promise<[lastSeq: number, epoch: string]>;
}

/** A publish waiting for its stream's call in flight. */
interface QueuedPublish {
  data: Buffer;
  resolve(position: StreamPosition): void;
  reject(error: unknown): void;
}

/** Options of a {@link RedisClusterEngine}: those of RedisEngine, with seed URLs. */
export interface RedisClusterEngineOptions extends Omit<RedisEngineOptions, 'url'> {
  /** Seed nodes (`redis://host:port`); the rest of the cluster is discovered from them. */
  urls: string[];
  /** How often the slot map is read even without a sign of change, in ms; default 2,000. */
  slotsRefreshMs?: number;
}

/**
 * The Redis engine on a Redis Cluster (Redis ≥ 7): the same streams, scripts,
 * message framing and guarantees as {@link RedisEngine} (read its comment
 * first), spread over the cluster's shards by hash slot.
 *
 * **One publication, one shard.** A stream's three keys and the channel its
 * publications go to carry one hash tag (redis-cluster-keys.ts), so the
 * publish script — INCR, XADD, SPUBLISH — runs atomically on the shard that
 * owns the slot, and no other shard sees the publication. Sharded pub/sub
 * (SPUBLISH) delivers only within that shard, unlike cluster PUBLISH, which
 * every node of the cluster forwards.
 *
 * **Connections.** Commands go through an ioredis `Cluster` (it follows MOVED
 * and ASK, and learns a promoted replica from the slot map). Subscriptions are
 * this engine's own: one subscriber connection per master holding wanted
 * channels (RedisShardSubscribers), so it knows which were lost and when they
 * are back. Interest routing as with one Redis: a node SSUBSCRIBEs `{all}`,
 * and a topic's or user's channel while it has local audience for it.
 *
 * **Resharding and failover.** When a slot changes owner, its channels are
 * SSUBSCRIBEd on the new owner and, once confirmed, reported through
 * `onResubscribed`, so the node fills what it missed from history; a client
 * resuming meanwhile gets what the stream holds or `recovered: false` (a
 * failover can lose the last writes not yet replicated: the new master's
 * stream is then behind the seq a client saw, which `history` answers with
 * `recovered: false` rather than replaying other publications under old
 * numbers, because the epoch key carries on but the client's seq is ahead —
 * see `history`).
 */
export class RedisClusterEngine implements Engine {
  readonly mayMissDeliveries = true;
  private readonly options: Required<Omit<RedisClusterEngineOptions, 'events' | 'urls' | 'historyFor'>>;
  readonly historyFor: HistoryFor | undefined;
  private readonly defaultLimits: HistoryLimits;
  private readonly events: RedisEngineEvents;
  private readonly command: Cluster & ClusterScriptCommands;
  /** Streams with a publish call in flight → the publishes queued behind it (see `publish`). */
  private readonly publishQueues = new Map<string, QueuedPublish[]>();
  private readonly subscribers: RedisShardSubscribers;
  private readonly scriptLoader: ClusterScriptLoader;
  /** Wanted channel → the interest it carries (for `onResubscribed`). */
  private readonly interests = new Map<string, { uid?: string; topic?: string }>();
  private handler: EngineHandler | null = null;
  private started = false;
  private closed = false;
  private reconnectCount = 0;
  private readonly epochBase = randomBytes(6).toString('base64url');
  /** Names this engine's connections (`herald-<role>-<id>`), as RedisEngine does. */
  readonly instanceId = this.epochBase;
  private epochCounter = 0;

  constructor(options: RedisClusterEngineOptions) {
    this.options = {
      prefix: options.prefix ?? 'herald:',
      historySize: options.historySize ?? 100,
      historyTtlMs: options.historyTtlMs ?? 5 * 60_000,
      commandTimeoutMs: options.commandTimeoutMs ?? 2_000,
      connectTimeoutMs: options.connectTimeoutMs ?? 10_000,
      reconnectBaseMs: options.reconnectBaseMs ?? 100,
      reconnectMaxMs: options.reconnectMaxMs ?? 5_000,
      slotsRefreshMs: options.slotsRefreshMs ?? 2_000,
    };
    checkClusterPrefix(this.options.prefix);
    if (!Number.isSafeInteger(this.options.historySize) || this.options.historySize < 0) {
      throw new RangeError(`historySize must be a non-negative integer, got ${this.options.historySize}`);
    }
    if (!(this.options.historyTtlMs >= 1)) throw new RangeError(`historyTtlMs must be at least 1, got ${this.options.historyTtlMs}`);
    if (options.urls.length === 0) throw new RangeError('a Redis Cluster needs at least one seed URL');
    this.events = options.events ?? {};
    this.historyFor = options.historyFor;
    this.defaultLimits = { size: this.options.historySize, ttlMs: this.options.historyTtlMs };
    const { commandTimeoutMs, connectTimeoutMs, reconnectBaseMs, reconnectMaxMs } = this.options;
    this.command = new Cluster(options.urls.map(seedOf), {
      lazyConnect: true,
      // Fail fast, as RedisEngine: a publish never waits in a queue for a reconnect, and is never re-sent
      // after a dropped connection (it may have run). MOVED/ASK are re-sent: the command did not run.
      enableOfflineQueue: false,
      slotsRefreshInterval: this.options.slotsRefreshMs,
      retryDelayOnFailover: 100,
      retryDelayOnClusterDown: 100,
      clusterRetryStrategy: (attempt) => Math.min(reconnectBaseMs * 2 ** Math.min(attempt - 1, 30), reconnectMaxMs),
      scripts: {
        heraldPublish: { lua: SPUBLISH_LUA, numberOfKeys: 3 },
        heraldPublishMany: { lua: SPUBLISH_MANY_LUA, numberOfKeys: 3 },
        heraldHistory: { lua: CLUSTER_HISTORY_LUA, numberOfKeys: 3 } },
      redisOptions: {
        connectionName: `herald-command-${this.instanceId}`,
        maxRetriesPerRequest: 0,
        autoResendUnfulfilledCommands: false,
        commandTimeout: commandTimeoutMs,
        connectTimeout: connectTimeoutMs,
      },
    }) as Cluster & ClusterScriptCommands;
    this.command.on('error', (error: Error) => this.events.onError?.(error, 'command'));
    // Every node, replicas included, gets the scripts (see ClusterScriptLoader), checked on every slot map read.
    this.scriptLoader = new ClusterScriptLoader(this.command, [SPUBLISH_LUA, SPUBLISH_MANY_LUA, CLUSTER_HISTORY_LUA], commandTimeoutMs);
    this.command.on('refresh', () => void this.scriptLoader.sync());
    this.command.on('node error', (error: Error) => this.events.onError?.(error, 'command'));
    this.subscribers = new RedisShardSubscribers(
      this.command,
      `herald-subscriber-${this.instanceId}`,
      { commandTimeoutMs, connectTimeoutMs, reconnectBaseMs, reconnectMaxMs },
      () => this.started && !this.closed,
      {
        onMessage: this.onMessage,
        onRestored: (channels) => this.restored(channels),
        onError: (error) => this.events.onError?.(error, 'subscriber'),
        onReconnect: () => this.events.onReconnect?.('subscriber', ++this.reconnectCount),
      },
    );
    this.want({}, true);
  }

  get ready(): boolean {
    return this.started && !this.closed && this.command.status === 'ready' && this.subscribers.ready;
  }

  get reconnects(): number {
    return this.reconnectCount;
  }

  /** The channels this node wants (on whichever shard). */
  get channels(): ReadonlySet<string> {
    return this.subscribers.channels;
  }

  async start(handler: EngineHandler): Promise<void> {
    if (this.closed) throw new EngineUnavailableError('redis cluster engine is closed');
    if (this.handler !== null) throw new Error('redis cluster engine already started');
    this.handler = handler;
    try {
      await this.connect();
    } catch (error) {
      this.command.disconnect();
      this.handler = null;
      throw new EngineUnavailableError(`redis cluster not ready: ${(error as Error).message}`, { cause: error });
    }
    await this.scriptLoader.sync();
    this.started = true;
    this.subscribers.start();
    await this.settled();
  }

  /**
   * One call in flight per stream; publishes made meanwhile queue and go out
   * together in the next call (SPUBLISH_MANY_LUA), in call order. Pipelining
   * them instead would let ioredis reorder them: it re-sends a command on its
   * own after MOVED, ASK, TRYAGAIN, CLUSTERDOWN or a connection it replaced,
   * while the commands behind it have already run — and the stream's seq
   * follows execution order, not call order. Different streams still go in
   * parallel; a lone publish goes at once, as before.
   */
  publish(publication: Publication): Promise<StreamPosition | undefined> {
    if (!this.usable()) return Promise.reject(this.unavailableNow());
    const stream = streamOf(publication);
    const queue = this.publishQueues.get(stream);
    if (queue !== undefined) {
      return new Promise((resolve, reject) => queue.push({ data: publication.data, resolve, reject }));
    }
    this.publishQueues.set(stream, []);
    const call = this.publishCall(publication, stream, [publication.data]);
    void call.then(
      () => this.sendQueued(publication, stream),
      () => this.sendQueued(publication, stream),
    );
    return call;
  }

  /** The call of `payloads` (of `stream`, addressed as `publication`): the position of the last. */
  private publishCall(publication: Publication, stream: string, payloads: Buffer[]): Promise<StreamPosition> {
    const { uid, topic } = publication;
    const { size, ttlMs } = this.limits(stream);
    const args = [
      ...clusterStreamKeys(this.options.prefix, stream),
      this.nextEpoch(),
      size,
      ttlMs,
      clusterChannel(this.options.prefix, uid !== undefined ? { uid } : topic !== undefined ? { topic } : {}),
      uid === undefined ? '0' : '1',
      uid ?? '',
      topic === undefined ? '0' : '1',
      topic ?? '',
    ];
    let reply: Promise<[seq: number, epoch: string]>;
    try {
      reply = payloads.length === 1 ? this.command.heraldPublish(...args, payloads[0]) : this.command.heraldPublishMany(...args, ...payloads);
    } catch (error) {
      reply = Promise.reject(error);
    }
    return reply.then(toPosition, unavailable);
  }

  /** The stream's call is answered: send what queued behind it (one batch), or mark the stream idle. */
  private sendQueued(publication: Publication, stream: string): void {
    const queue = this.publishQueues.get(stream);
    if (queue === undefined) return;
    if (queue.length === 0) {
      this.publishQueues.delete(stream);
      return;
    }
    const batch = takeBatch(queue);
    const settle = (): void => this.sendQueued(publication, stream);
    if (!this.usable()) {
      const error = this.unavailableNow();
      for (const item of batch) item.reject(error);
      return settle();
    }
    this.publishCall(publication, stream, batch.map((item) => item.data)).then(
      (last) => {
        batch.forEach((item, i) => item.resolve({ seq: last.seq - batch.length + 1 + i, epoch: last.epoch }));
        settle();
      },
      (error: unknown) => {
        for (const item of batch) item.reject(error);
        settle();
      },
    );
  }

  /** As RedisEngine's `history`, on the shard of the stream. */
  async history(stream: string, since: StreamPosition | undefined, limit?: number): Promise<HistoryResult> {
    await this.settled();
    if (!this.usable()) throw this.unavailableNow();
    const fromOldest = since === undefined && limit !== undefined;
    const sinceSeq = fromOldest ? -2 : since !== undefined && Number.isSafeInteger(since.seq) && since.seq >= 0 ? since.seq : -1;
    const { size, ttlMs } = this.limits(stream);
    let reply: Awaited<ReturnType<ScriptCommands['heraldHistoryBuffer']>>;
    try {
      reply = await this.command.heraldHistoryBuffer(
        ...clusterStreamKeys(this.options.prefix, stream),
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
    // A seq ahead of the stream's (a failover lost unreplicated publications) is refused: its numbers will be reused.
    if (sinceSeq < 0 || since.epoch !== position.epoch || sinceSeq > position.seq) return { recovered: false, position };
    if (sinceSeq === position.seq) return { recovered: true, publications: [], position };
    const publications = reply[2] === undefined ? undefined : toDeliveries(reply[2], sinceSeq, position, limit);
    if (publications === undefined) return { recovered: false, position };
    return { recovered: true, publications, position };
  }

  /** DEL of the stream's three keys (one slot, one command). */
  async removeHistory(stream: string): Promise<void> {
    if (!this.usable()) throw this.unavailableNow();
    try {
      await this.command.del(...clusterStreamKeys(this.options.prefix, stream));
    } catch (error) {
      unavailable(error);
    }
  }

  /** MGET of seq and epoch (one slot) once the interest changes made so far are answered. */
  async head(stream: string): Promise<StreamPosition> {
    await null;
    await this.subscribers.sent();
    if (!this.usable()) throw this.unavailableNow();
    const [seqKey, epochKey] = clusterStreamKeys(this.options.prefix, stream);
    let reply: (string | null)[];
    try {
      reply = await this.command.mget(seqKey, epochKey);
    } catch (error) {
      return unavailable(error);
    }
    const [seq, epoch] = reply;
    if (seq === null || epoch === null) return { seq: 0, epoch: '' };
    // `<epoch>@<writer node id>` (see the cluster incarnation in redis-scripts.ts).
    const at = epoch.indexOf('@');
    return { seq: Number(seq), epoch: at < 0 ? epoch : epoch.slice(0, at) };
  }

  subscribeTopic(topic: string): void {
    this.want({ topic }, true);
  }

  unsubscribeTopic(topic: string): void {
    this.want({ topic }, false);
  }

  subscribeUser(uid: string): void {
    this.want({ uid }, true);
  }

  unsubscribeUser(uid: string): void {
    this.want({ uid }, false);
  }

  /** Resolves once the interest changes made so far are answered on every shard. */
  async settled(): Promise<void> {
    await this.subscribers.settled();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.handler = null;
    await this.subscribers.close();
    try {
      await this.command.quit();
    } catch {
      this.command.disconnect();
    }
  }

  /**
   * Connect the command connection and wait for its slot map, or reject after
   * `connectTimeoutMs` naming the last error seen. A seed that is a plain
   * Redis (cluster support disabled) is refused at once: waiting cannot help.
   */
  private connect(): Promise<void> {
    return new Promise((resolve, reject) => {
      let lastError: string | undefined;
      const done = (): void => {
        clearTimeout(timer);
        this.command.off('ready', onReady);
        this.command.off('error', onError);
        this.command.off('node error', onError);
      };
      const timer = setTimeout(() => {
        done();
        const why = lastError === undefined ? '' : ` (last error: ${lastError})`;
        reject(new Error(`no connection to the redis cluster within ${this.options.connectTimeoutMs} ms${why}`));
      }, this.options.connectTimeoutMs);
      const onReady = (): void => {
        done();
        resolve();
      };
      const onError = (error: Error): void => {
        lastError = error.message;
        if (/cluster support disabled/i.test(error.message)) {
          done();
          reject(new Error(`the seed is not a Redis Cluster node (${error.message}): drop --redis-cluster, or give cluster nodes in --redis-url`));
        }
      };
      this.command.once('ready', onReady);
      this.command.on('error', onError);
      this.command.on('node error', onError);
      this.command.connect().catch(() => {}); // retried by clusterRetryStrategy, reported through 'error'
    });
  }

  private usable(): boolean {
    return this.started && !this.closed && this.command.status === 'ready';
  }

  private unavailableNow(): EngineUnavailableError {
    return new EngineUnavailableError(`redis cluster engine is ${this.closed ? 'closed' : 'not connected'}`);
  }

  private limits(stream: string): HistoryLimits {
    return streamLimits(stream, this.defaultLimits, this.historyFor);
  }

  private nextEpoch(): string {
    return `${this.epochBase}${(this.epochCounter++).toString(36)}`;
  }

  private want(interest: { uid?: string; topic?: string }, on: boolean): void {
    const channel = clusterChannel(this.options.prefix, interest);
    if (on) this.interests.set(channel, interest);
    else this.interests.delete(channel);
    this.subscribers.want(channel, on);
  }

  private restored(channels: string[]): void {
    const handler = this.handler;
    if (handler?.onResubscribed === undefined) return;
    for (const channel of channels) {
      const interest = this.interests.get(channel);
      if (interest === undefined) continue;
      try {
        handler.onResubscribed(interest);
      } catch (error) {
        this.events.onError?.(error as Error, 'subscriber');
      }
    }
  }

  private readonly onMessage = (channel: Buffer, message: Buffer): void => {
    const handler = this.handler;
    if (handler === null) return;
    const parsed = parseMessage(message);
    if (parsed === undefined) {
      this.events.onError?.(new Error(`unparseable message on channel ${channel.toString()}`), 'subscriber');
      return;
    }
    const delivery: Delivery = { uid: parsed.uid, topic: parsed.topic, data: parsed.data, position: { seq: parsed.seq, epoch: parsed.epoch } };
    try {
      handler.onPublication(delivery);
    } catch (error) {
      this.events.onError?.(error as Error, 'subscriber');
    }
  };
}

function seedOf(url: string): { host: string; port: number } {
  const parsed = new URL(url);
  return { host: parsed.hostname, port: parsed.port === '' ? 6379 : Number(parsed.port) };
}

function toPosition(reply: [seq: number, epoch: string]): StreamPosition {
  return { seq: Number(reply[0]), epoch: String(reply[1]) };
}

function unavailable(error: unknown): never {
  throw new EngineUnavailableError(`redis cluster: ${(error as Error).message}`, { cause: error });
}
