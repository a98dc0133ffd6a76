/**
 * The subscribing half of RedisControlPlane, on one Redis (classic pub/sub on
 * one subscriber connection) or on a Redis Cluster (sharded pub/sub through
 * the engine's RedisShardSubscribers: one connection per master holding a
 * wanted channel's slot, following moved slots and failovers). The plane
 * sees the same few operations either way.
 */
import type { Cluster, Redis } from 'ioredis';
import { RedisChannelSet } from '../engine/redis-channel-set.js';
import { failFastRedis, quit, whenReady, type FailFastTimings } from '../engine/redis-connection.js';
import { RedisShardSubscribers } from '../engine/redis-shard-subscribers.js';

/** What a {@link ControlSubscriber} reports. */
export interface ControlSubscriberEvents {
  onMessage(channel: string, message: string): void;
  onError(error: Error): void;
  /** Ready again after a lost connection. */
  onReconnect(): void;
}

export interface ControlSubscriber {
  /** True while every connection holding wanted channels is up. */
  readonly ready: boolean;
  want(channel: string, on: boolean): void;
  /** Resolves once the changes made so far are answered. */
  settled(): Promise<void>;
  /** Connect (rejects after `timeoutMs`). */
  connect(timeoutMs: number): Promise<void>;
  /** Once the plane is started (and its command connection ready): subscribe what is wanted. */
  begin(): void;
  /** Drop the connections now (a failed start). */
  disconnect(): void;
  close(): Promise<void>;
}

/** Classic SUBSCRIBE on one connection. */
export class SingleRedisSubscriber implements ControlSubscriber {
  private readonly redis: Redis;
  private readonly channels: RedisChannelSet;
  private everReady = false;

  constructor(url: string, name: string, timings: FailFastTimings, active: () => boolean, events: ControlSubscriberEvents) {
    this.redis = failFastRedis(url, name, timings);
    this.redis.on('message', events.onMessage);
    this.redis.on('error', events.onError);
    this.channels = new RedisChannelSet(this.redis, timings.reconnectBaseMs, active, events.onError);
    this.redis.on('close', () => this.channels.lost());
    this.redis.on('ready', () => {
      if (this.everReady) events.onReconnect();
      this.everReady = true;
      this.channels.sync();
    });
  }

  get ready(): boolean {
    return this.redis.status === 'ready';
  }

  want(channel: string, on: boolean): void {
    this.channels.want(channel, on);
  }

  settled(): Promise<void> {
    return this.channels.settled();
  }

  connect(timeoutMs: number): Promise<void> {
    return whenReady(this.redis, timeoutMs);
  }

  begin(): void {
    this.channels.sync();
  }

  disconnect(): void {
    this.redis.disconnect();
  }

  close(): Promise<void> {
    return quit(this.redis);
  }
}

/** SSUBSCRIBE on the master of each wanted channel's slot (the command connection's slot map). */
export class ClusterSubscriber implements ControlSubscriber {
  private readonly shards: RedisShardSubscribers;

  constructor(private readonly cluster: Cluster, name: string, timings: FailFastTimings, active: () => boolean, events: ControlSubscriberEvents) {
    this.shards = new RedisShardSubscribers(cluster, name, timings, active, {
      onMessage: (channel, message) => events.onMessage(channel.toString(), message.toString()),
      // A lost control channel loses only the requests and events sent meanwhile: nothing to fill in.
      onRestored: () => {},
      onError: events.onError,
      onReconnect: () => events.onReconnect(),
    });
  }

  get ready(): boolean {
    return this.cluster.status === 'ready' && this.shards.ready;
  }

  want(channel: string, on: boolean): void {
    this.shards.want(channel, on);
  }

  settled(): Promise<void> {
    return this.shards.settled();
  }

  /** Shard connections are made in `begin`, from the command connection's slot map. */
  async connect(): Promise<void> {}

  begin(): void {
    this.shards.start();
  }

  disconnect(): void {
    void this.shards.close();
  }

  close(): Promise<void> {
    return this.shards.close();
  }
}
