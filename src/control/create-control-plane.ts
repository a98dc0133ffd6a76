import type { Logger } from 'pino';
import type { ControlPlane } from './control-plane.js';
import { MemoryControlPlane, randomNodeId } from './memory-control-plane.js';
import { redisControlPlaneFromConfig } from './redis-control-plane.js';

/** The control-plane options of the configuration. */
export interface ControlPlaneConfig {
  engine: 'memory' | 'redis';
  redisUrl: string;
  redisPrefix: string;
  /** `--node-id`; unset: random. */
  nodeId?: string;
  /** `--presence-ttl` (ms), Redis only. */
  presenceTtlMs: number;
}

/**
 * Build the control plane that goes with the configured engine (see
 * `createEngine`): the memory engine's is {@link MemoryControlPlane} (this
 * process), the Redis engine's a `RedisControlPlane` on the same Redis and
 * prefix (every node of the cluster). The one place that chooses.
 */
export function createControlPlane(config: ControlPlaneConfig, logger: Logger): ControlPlane {
  const nodeId = config.nodeId ?? randomNodeId();
  if (config.engine === 'redis') {
    return redisControlPlaneFromConfig({ redisUrl: config.redisUrl, redisPrefix: config.redisPrefix, presenceTtlMs: config.presenceTtlMs, nodeId }, logger);
  }
  return new MemoryControlPlane({ nodeId });
}
