import type { Logger } from 'pino';
import type { Engine } from './engine.js';
import { MemoryEngine } from './memory-engine.js';
import { RedisClusterEngine } from './redis-cluster-engine.js';
import { RedisEngine, type RedisEngineEvents } from './redis-engine.js';
import type { HistoryFor } from '../streams.js';

/** The engine options of the configuration. */
export interface EngineConfig {
  engine: 'memory' | 'redis';
  redisUrl: string;
  redisPrefix: string;
  /** `--redis-cluster`: `redisUrl` lists seed nodes of a Redis Cluster. */
  redisCluster?: boolean;
  historySize: number;
  historyTtlMs: number;
  /** The topic namespaces (util/namespaces.ts), whose history limits the engine applies per topic. */
  namespaces?: { historyLimits(): HistoryFor | undefined } | undefined;
}

/**
 * Build the configured engine. Redis connection errors are logged at most once
 * per 10 s per connection (a down Redis fails every reconnect attempt).
 */
export function createEngine(config: EngineConfig, logger: Logger): Engine {
  const historyFor = config.namespaces?.historyLimits();
  const history = { size: config.historySize, ttlMs: config.historyTtlMs, historyFor };
  if (config.engine === 'memory') return new MemoryEngine({ history });
  const lastLogged = new Map<string, number>();
  const events: RedisEngineEvents = {
    onError(error, connection) {
      const now = Date.now();
      if (now - (lastLogged.get(connection) ?? 0) < 10_000) return;
      lastLogged.set(connection, now);
      logger.warn({ err: error.message, connection }, 'redis connection error');
    },
    onReconnect(connection, reconnects) {
      logger.info({ connection, reconnects }, 'redis reconnected; interest resubscribed');
    },
  };
  const common = { prefix: config.redisPrefix, historySize: config.historySize, historyTtlMs: config.historyTtlMs, historyFor, events };
  if (config.redisCluster === true) return new RedisClusterEngine({ ...common, urls: splitRedisUrls(config.redisUrl) });
  return new RedisEngine({ ...common, url: config.redisUrl });
}

/** The comma-separated seed URLs of `--redis-url` (blanks dropped). */
export function splitRedisUrls(value: string): string[] {
  return value
    .split(',')
    .map((url) => url.trim())
    .filter((url) => url !== '');
}
