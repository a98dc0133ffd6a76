import { connect, type Msg, type NatsConnection, type Subscription } from 'nats';
import {
  EngineUnavailableError,
  streamOf,
  type Engine,
  type EngineHandler,
  type HistoryResult,
  type Publication,
  type StreamPosition,
} from './engine.js';
import { NatsStreamStore, parseHeaders, publicationsOf } from './nats-stream-store.js';
import { interestTail, routeOfTail, subjectTail, tailOfStream, validPrefix } from './nats-subjects.js';
import { streamLimits } from './redis-scripts.js';
import type { HistoryFor, HistoryLimits } from '../streams.js';

/** Things worth logging or counting; every callback is optional. */
export interface NatsEngineEvents {
  /** The connection reported an error, a message could not be parsed, or the delivery handler threw. */
  onError?(error: Error): void;
  /** The connection is back after it was lost and every subscription is in force again. */
  onReconnect?(reconnects: number): void;
}

/** Options of a {@link NatsEngine}. */
export interface NatsEngineOptions {
  /** Seed server URLs; default `nats://127.0.0.1:4222`. */
  servers?: string[];
  /** Subject prefix and JetStream stream name (one token of [A-Za-z0-9_-]); default `herald`. */
  prefix?: string;
  /** Publications kept per stream; default 100, 0 keeps positions only. */
  historySize?: number;
  /** A stream with no publication for this long is forgotten (history, seq and epoch), in ms; default 5 min. */
  historyTtlMs?: number;
  /** Other history limits for some topics (their namespace's); every node must give the same. */
  historyFor?: HistoryFor;
  /** A JetStream request with no answer after this many ms fails (publish rejects); default 2,000. */
  requestTimeoutMs?: number;
  /** Budget of `start()` reaching NATS, in ms; default 10,000. */
  connectTimeoutMs?: number;
  /** Wait between reconnect attempts in ms; default 250. */
  reconnectWaitMs?: number;
  events?: NatsEngineEvents;
}

/**
 * The NATS engine: nodes share publications through core NATS subjects and
 * keep sequence numbers and history in one JetStream stream (see
 * nats-stream-store.ts for numbering, epochs and history; nats-subjects.ts for
 * subject names).
 *
 * **Fan-out with interest routing.** A publication is a JetStream publish to
 * its stream's subject `P.s.<tail>`; JetStream stores it and republishes the
 * stored message (stream config `republish`) to `P.r.<tail>` — only stored
 * messages, in the order they were stored. Nodes receive with plain core NATS
 * subscriptions: `P.r.all` always, `P.r.t.<topic>` while they hold the topic,
 * `P.r.u.<uid>.>` while they hold the user (so the server sends a node
 * nothing it has no audience for). Per stream there is one subject and, on a
 * node, one subscription covering it, so deliveries keep the stream's order.
 *
 * **Reconnects.** The client reconnects on its own (to any seed) and sends
 * every subscription again. Core NATS does not buffer for absent subscribers,
 * so what was published meanwhile never arrives live: once the server has
 * answered a flush after the reconnect (the subscriptions are in force), the
 * handler is told `onResubscribed` for every interest and the node fills the
 * gap from history (OrderedDelivery). A slow consumer the server cut off is
 * the same case. While disconnected, `publish`, `history` and `head` reject at
 * once with EngineUnavailableError (the client would otherwise buffer them).
 *
 * Guarantees (the Engine contract): `publish` resolves once JetStream
 * acknowledged the message (stored, and republished to every subscribed node);
 * it rejects with EngineUnavailableError when NATS is down, on timeout (then
 * the message may or may not be stored), or when JetStream refuses it.
 */
export class NatsEngine implements Engine {
  readonly mayMissDeliveries = true;
  private readonly options: Required<Omit<NatsEngineOptions, 'events' | 'historyFor'>>;
  private readonly defaults: HistoryLimits;
  private readonly historyFor: HistoryFor | undefined;
  private readonly events: NatsEngineEvents;
  /** Subscriptions by subject tail; the wanted interest is exactly the keys. */
  private readonly subscriptions = new Map<string, Subscription>();
  private nc: NatsConnection | null = null;
  private store: NatsStreamStore | null = null;
  private handler: EngineHandler | null = null;
  private connected = false;
  private closed = false;
  private reconnectCount = 0;
  /** Counts connection changes; a reconnect's set-up that is overtaken by another change gives up. */
  private link = 0;

  constructor(options: NatsEngineOptions = {}) {
    this.options = {
      servers: options.servers ?? ['nats://127.0.0.1:4222'],
      prefix: options.prefix ?? 'herald',
      historySize: options.historySize ?? 100,
      historyTtlMs: options.historyTtlMs ?? 5 * 60_000,
      requestTimeoutMs: options.requestTimeoutMs ?? 2_000,
      connectTimeoutMs: options.connectTimeoutMs ?? 10_000,
      reconnectWaitMs: options.reconnectWaitMs ?? 250,
    };
    if (!validPrefix(this.options.prefix)) throw new RangeError(`prefix must be 1-64 of [A-Za-z0-9_-], got ${JSON.stringify(this.options.prefix)}`);
    if (!Number.isSafeInteger(this.options.historySize) || this.options.historySize < 0) {
      throw new RangeError(`historySize must be a non-negative integer, got ${this.options.historySize}`);
    }
    if (!(this.options.historyTtlMs >= 1)) throw new RangeError(`historyTtlMs must be at least 1, got ${this.options.historyTtlMs}`);
    this.defaults = { size: this.options.historySize, ttlMs: this.options.historyTtlMs };
    this.historyFor = options.historyFor;
    this.events = options.events ?? {};
  }

  get ready(): boolean {
    return this.connected && !this.closed && this.handler !== null;
  }

  /** Times the connection came back after it was lost. */
  get reconnects(): number {
    return this.reconnectCount;
  }

  /** Connect, create or update the JetStream stream, subscribe `all` and the interest registered so far. */
  async start(handler: EngineHandler): Promise<void> {
    if (this.closed) throw new EngineUnavailableError('nats engine is closed');
    if (this.handler !== null) throw new Error('nats engine already started');
    this.handler = handler;
    try {
      this.nc = await connect({
        servers: this.options.servers,
        name: `herald-${this.options.prefix}`,
        timeout: this.options.connectTimeoutMs,
        reconnect: true,
        maxReconnectAttempts: -1,
        reconnectTimeWait: this.options.reconnectWaitMs,
        reconnectJitter: 50,
      });
      const jsm = await this.nc.jetstreamManager({ timeout: this.options.requestTimeoutMs });
      this.store = new NatsStreamStore(this.nc.jetstream({ timeout: this.options.requestTimeoutMs }), jsm, {
        name: this.options.prefix,
        timeoutMs: this.options.requestTimeoutMs,
      });
      await this.store.ensure(this.defaults);
    } catch (error) {
      this.handler = null;
      await this.nc?.close().catch(() => undefined);
      this.nc = null;
      throw new EngineUnavailableError(`nats not ready: ${(error as Error).message}`, { cause: error });
    }
    this.connected = true;
    void this.watch(this.nc);
    this.want('all', true);
    for (const [tail, subscription] of [...this.subscriptions]) if (subscription === placeholder) this.subscribe(tail);
    await this.settled();
  }

  publish(publication: Publication): Promise<StreamPosition | undefined> {
    const store = this.usable();
    if (store === undefined) return Promise.reject(this.unavailableNow());
    const stream = streamOf(publication);
    return store.append(subjectTail(publication.uid, publication.topic), publication.data, this.limits(stream).ttlMs).catch(unavailable);
  }

  async history(stream: string, since: StreamPosition | undefined, limit?: number): Promise<HistoryResult> {
    // A resume subscribes and then reads: the subscription must be in force before the read.
    await this.settled();
    const store = this.usable();
    if (store === undefined) throw this.unavailableNow();
    const tail = this.tailOf(stream);
    const { size, ttlMs } = this.limits(stream);
    return store.history(tail, since, limit, Math.min(size, this.options.historySize), ttlMs).catch(unavailable);
  }

  async removeHistory(stream: string): Promise<void> {
    const store = this.usable();
    if (store === undefined) throw this.unavailableNow();
    await store.remove(this.tailOf(stream)).catch(unavailable);
  }

  async head(stream: string): Promise<StreamPosition> {
    await null; // interest changes of this turn go out first
    await this.settled();
    const store = this.usable();
    if (store === undefined) throw this.unavailableNow();
    return store.head(this.tailOf(stream), this.limits(stream).ttlMs).catch(unavailable);
  }

  subscribeTopic(topic: string): void {
    this.want(interestTail({ topic }), true);
  }

  unsubscribeTopic(topic: string): void {
    this.want(interestTail({ topic }), false);
  }

  subscribeUser(uid: string): void {
    this.want(interestTail({ uid }), true);
  }

  unsubscribeUser(uid: string): void {
    this.want(interestTail({ uid }), false);
  }

  /** Resolves once the interest changes made so far are in force on the server (a flush answered), at once while disconnected. */
  async settled(): Promise<void> {
    if (this.nc === null || !this.connected || this.closed) return;
    try {
      await this.nc.flush();
    } catch {
      // Disconnected meanwhile: the reconnect subscribes everything and reports it.
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.handler = null;
    this.connected = false;
    await this.nc?.close().catch(() => undefined);
  }

  private usable(): NatsStreamStore | undefined {
    return this.ready && this.store !== null ? this.store : undefined;
  }

  private unavailableNow(): EngineUnavailableError {
    return new EngineUnavailableError(`nats engine is ${this.closed ? 'closed' : 'not connected'}`);
  }

  private tailOf(stream: string): string {
    const tail = tailOfStream(stream);
    if (tail === undefined) throw new RangeError(`not a stream key: ${JSON.stringify(stream)}`);
    return tail;
  }

  private limits(stream: string): HistoryLimits {
    return streamLimits(stream, this.defaults, this.historyFor);
  }

  private want(tail: string, on: boolean): void {
    const current = this.subscriptions.get(tail);
    // Interest calls come from the hub and must never throw, also after close (a connection
    // closing while the node stops): then only the wanted set changes.
    const live = this.nc !== null && !this.closed;
    try {
      if (on) {
        if (current !== undefined) return;
        this.subscriptions.set(tail, live ? this.subscribe(tail) : placeholder);
      } else if (current !== undefined) {
        this.subscriptions.delete(tail);
        if (current !== placeholder && live) current.unsubscribe();
      }
    } catch (error) {
      this.events.onError?.(error as Error);
    }
  }

  private subscribe(tail: string): Subscription {
    const subscription = this.nc!.subscribe(`${this.options.prefix}.r.${tail}`, { callback: this.onMessage });
    this.subscriptions.set(tail, subscription);
    return subscription;
  }

  /** Follow the connection's status: disconnected → not ready; reconnected → stream ensured, subscriptions confirmed, gaps reported. */
  private async watch(nc: NatsConnection): Promise<void> {
    for await (const status of nc.status()) {
      if (this.closed) return;
      if (status.type === 'disconnect') {
        this.connected = false;
        this.link++;
      } else if (status.type === 'error') this.events.onError?.(new Error(String(status.data)));
      else if (status.type === 'reconnect') void this.reconnected(nc, ++this.link);
    }
  }

  private async reconnected(nc: NatsConnection, link: number): Promise<void> {
    // Retried until it works (JetStream may answer only a moment after the server accepts
    // connections), or the connection changes again, or the engine closes.
    for (;;) {
      if (this.closed || nc.isClosed() || link !== this.link) return;
      try {
        // A server that lost its JetStream store comes back without the stream.
        await this.store!.ensure(this.defaults);
        await nc.flush();
        break;
      } catch (error) {
        this.events.onError?.(error as Error);
        await new Promise((resolve) => setTimeout(resolve, this.options.reconnectWaitMs));
      }
    }
    if (this.closed || nc.isClosed() || link !== this.link) return;
    this.connected = true;
    this.reconnectCount++;
    this.events.onReconnect?.(this.reconnectCount);
    const handler = this.handler;
    if (handler?.onResubscribed === undefined) return;
    for (const tail of [...this.subscriptions.keys()]) {
      const route = tail === 'all' ? {} : routeOfTail(tail.endsWith('.>') ? `${tail.slice(0, -2)}.u` : tail);
      if (route === undefined) continue;
      try {
        handler.onResubscribed(tail.endsWith('.>') ? { uid: route.uid! } : route);
      } catch (error) {
        this.events.onError?.(error as Error);
      }
    }
  }

  /** Called by the client for every message on a subscription, in arrival order. */
  private readonly onMessage = (error: Error | null, message: Msg): void => {
    const handler = this.handler;
    if (handler === null) return;
    if (error !== null) {
      this.events.onError?.(error);
      return;
    }
    const prefix = `${this.options.prefix}.r.`;
    const parsed = parseHeaders(message.headers);
    const route = message.subject.startsWith(prefix) ? routeOfTail(message.subject.slice(prefix.length)) : undefined;
    const publications = parsed === undefined ? undefined : publicationsOf(message.data, parsed);
    if (publications === undefined || route === undefined) {
      this.events.onError?.(new Error(`unparseable message on subject ${message.subject}`));
      return;
    }
    // A marker (seq 0) carries none; a batch several, delivered in seq order.
    for (const publication of publications) {
      try {
        handler.onPublication({ ...route, ...publication });
      } catch (error) {
        this.events.onError?.(error as Error);
      }
    }
  };
}

/** Stands for a subscription wanted before the connection exists (start subscribes it). */
const placeholder = { unsubscribe() {} } as unknown as Subscription;

function unavailable(error: unknown): never {
  if (error instanceof EngineUnavailableError) throw error;
  throw new EngineUnavailableError(`nats: ${(error as Error).message}`, { cause: error });
}
