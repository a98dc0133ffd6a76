import type { Logger } from 'pino';
import type { ControlPlane } from './control-plane.js';
import { MemoryControlPlane, randomNodeId } from './memory-control-plane.js';
import { RedisControlPlane } from './redis-control-plane.js';
import { NatsControlPlane } from './nats-control-plane.js';
import { natsServers } from '../engine/nats-subjects.js';
import { splitRedisUrls } from '../engine/create-engine.js';

/** The control-plane options of the configuration. */
export interface ControlPlaneConfig {
  engine: 'memory' | 'redis' | 'nats';
  redisUrl: string;
  redisPrefix: string;
  natsUrl: string;
  natsPrefix: string;
  /** `--redis-cluster`: `redisUrl` lists the seeds of a Redis Cluster. */
  redisCluster?: boolean;
  /** `--node-id`; unset: random. */
  nodeId?: string;
  /** `--presence-ttl` (ms), Redis and NATS only. */
  presenceTtlMs: number;
}

/**
 * Build the control plane that goes with the configured engine (see
 * `createEngine`): the memory engine's is {@link MemoryControlPlane} (this
 * process), the Redis engine's a `RedisControlPlane` on the same Redis and
 * prefix (every node of the cluster), the NATS engine's a `NatsControlPlane`
 * on the same NATS and prefix. The one place that chooses.
 */
export function createControlPlane(config: ControlPlaneConfig, logger: Logger): ControlPlane {
  const nodeId = config.nodeId ?? randomNodeId();
  if (config.engine === 'redis') {
    const { redisUrl, redisPrefix, presenceTtlMs, redisCluster } = config;
    return redisControlPlaneFromConfig({ redisUrl, redisPrefix, presenceTtlMs, redisCluster, nodeId }, logger);
  }
  if (config.engine === 'nats') return natsControlPlaneFromConfig({ ...config, nodeId }, logger);
  return new MemoryControlPlane({ nodeId });
}

/**
 * The configured NATS control plane (same servers and prefix as the engine).
 * With `member: false`, a plane that only asks (the `--workers` primary).
 * Errors are logged at most once per 10 s.
 */
export function natsControlPlaneFromConfig(
  config: { natsUrl: string; natsPrefix: string; presenceTtlMs: number; nodeId?: string; member?: boolean },
  logger?: Logger,
): NatsControlPlane {
  let lastLogged = 0;
  return new NatsControlPlane({
    servers: natsServers(config.natsUrl),
    prefix: config.natsPrefix,
    presenceTtlMs: config.presenceTtlMs,
    nodeId: config.nodeId,
    member: config.member,
    events:
      logger === undefined
        ? undefined
        : {
            onError(error) {
              if (Date.now() - lastLogged < 10_000) return;
              lastLogged = Date.now();
              logger.warn({ err: error.message }, 'control plane: nats error');
            },
            onReconnect(reconnects) {
              logger.info({ reconnects }, 'control plane: nats reconnected; presence put again');
            },
          },
  });
}

/** What `redisControlPlaneFromConfig` reads from the configuration. */
export interface RedisControlPlaneConfig {
  redisUrl: string;
  redisPrefix: string;
  /** `--redis-cluster`: `redisUrl` lists a Redis Cluster's seeds. */
  redisCluster?: boolean;
  /** `--presence-ttl` (ms). */
  presenceTtlMs: number;
  /** `--node-id`; undefined: random. */
  nodeId?: string;
  /** False: a plane that only asks (see {@link RedisControlPlaneOptions.member}). */
  member?: boolean;
}

/**
 * The configured Redis control plane. With a logger, connection errors are
 * logged at most once per 10 s per connection (a down Redis fails every
 * reconnect attempt).
 */
export function redisControlPlaneFromConfig(config: RedisControlPlaneConfig, logger?: Logger): RedisControlPlane {
  const lastLogged = new Map<string, number>();
  return new RedisControlPlane({
    url: config.redisUrl,
    clusterUrls: config.redisCluster === true ? splitRedisUrls(config.redisUrl) : undefined,
    prefix: config.redisPrefix,
    presenceTtlMs: config.presenceTtlMs,
    nodeId: config.nodeId,
    member: config.member,
    events:
      logger === undefined
        ? undefined
        : {
            onError(error, connection) {
              const now = Date.now();
              if (now - (lastLogged.get(connection) ?? 0) < 10_000) return;
              lastLogged.set(connection, now);
              logger.warn({ err: error.message, connection }, 'control plane: redis error');
            },
            onReconnect(connection, reconnects) {
              logger.info({ connection, reconnects }, 'control plane: redis reconnected; presence re-added');
            },
          },
  });
}
