import type { Logger } from 'pino';
import type { Engine } from './engine.js';
import { MemoryEngine } from './memory-engine.js';
import { RedisEngine } from './redis-engine.js';
import { NatsEngine } from './nats-engine.js';
import { natsServers } from './nats-subjects.js';
import type { HistoryFor } from '../streams.js';

/** The engine options of the configuration. */
export interface EngineConfig {
  engine: 'memory' | 'redis' | 'nats';
  redisUrl: string;
  redisPrefix: string;
  natsUrl: string;
  natsPrefix: string;
  historySize: number;
  historyTtlMs: number;
  /** The topic namespaces (util/namespaces.ts), whose history limits the engine applies per topic. */
  namespaces?: { historyLimits(): HistoryFor | undefined } | undefined;
}

/**
 * Build the configured engine. Redis (and NATS) connection errors are logged at most once
 * per 10 s per connection (a down Redis fails every reconnect attempt).
 */
export function createEngine(config: EngineConfig, logger: Logger): Engine {
  const historyFor = config.namespaces?.historyLimits();
  const history = { size: config.historySize, ttlMs: config.historyTtlMs, historyFor };
  if (config.engine === 'memory') return new MemoryEngine({ history });
  const lastLogged = new Map<string, number>();
  if (config.engine === 'nats') {
    return new NatsEngine({
      servers: natsServers(config.natsUrl),
      prefix: config.natsPrefix,
      historySize: config.historySize,
      historyTtlMs: config.historyTtlMs,
      historyFor,
      events: {
        onError(error) {
          const now = Date.now();
          if (now - (lastLogged.get('nats') ?? 0) < 10_000) return;
          lastLogged.set('nats', now);
          logger.warn({ err: error.message }, 'nats engine error');
        },
        onReconnect(reconnects) {
          logger.info({ reconnects }, 'nats reconnected; interest resubscribed');
        },
      },
    });
  }
  return new RedisEngine({
    url: config.redisUrl,
    prefix: config.redisPrefix,
    historySize: config.historySize,
    historyTtlMs: config.historyTtlMs,
    historyFor,
    events: {
      onError(error, connection) {
        const now = Date.now();
        if (now - (lastLogged.get(connection) ?? 0) < 10_000) return;
        lastLogged.set(connection, now);
        logger.warn({ err: error.message, connection }, 'redis connection error');
      },
      onReconnect(connection, reconnects) {
        logger.info({ connection, reconnects }, 'redis reconnected; interest resubscribed');
      },
    },
  });
}
