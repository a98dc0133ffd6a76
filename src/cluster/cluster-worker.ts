import cluster from 'node:cluster';
import type { Logger } from 'pino';
import type { LoginVerifier } from '../auth/login-verifier.js';
import type { HeraldConfig } from '../config/index.js';
import type { TcpHandle } from '../gateway/raw-tcp.js';
import { createControlPlane } from '../control/create-control-plane.js';
import { randomNodeId } from '../control/memory-control-plane.js';
import { createEngine } from '../engine/create-engine.js';
import { HeraldNode } from '../node.js';
import { createProxies } from '../proxy/create-proxies.js';
import { ClusterWorkerEngine, type PrimaryMessage, type WorkerMessage } from './cluster-engines.js';
import { workerNodeId } from './cluster-control.js';
import { ClusterWorkerControl } from './cluster-worker-control.js';

/**
 * Run one worker of `--workers N`: a gateway node (WebSocket clients, hub,
 * heartbeats, logins) on the primary's shared listening handle (raw) or on the
 * port node:cluster shares (net), fed by the primary with every publication.
 * Its control plane: with the memory engine, the primary over IPC
 * ({@link ClusterWorkerControl}); with Redis, a `RedisControlPlane` of its
 * own, as any node. Resolves when the primary asks it to drain and it has.
 */
export function runClusterWorker(config: HeraldConfig, verifier: LoginVerifier | undefined, logger: Logger): Promise<void> {
  const forwarded = config.engine === 'memory' ? new ClusterWorkerEngine() : undefined;
  const engine = forwarded ?? createEngine(config, logger);
  let node: HeraldNode | undefined;
  let control: ClusterWorkerControl | undefined;
  // Each worker asks the backend itself: the proxies' concurrency cap and queue are per process.
  const proxies = createProxies(config, logger);
  const reply = (message: WorkerMessage): void => {
    process.send?.(message);
  };
  return new Promise((resolve) => {
    process.on('message', (message: PrimaryMessage, handle?: TcpHandle) => {
      if (typeof message !== 'object' || message === null) return logger.warn({ message }, 'unexpected message from the primary');
      switch (message.t) {
        case 'pub':
          return forwarded?.deliver(message.items);
        case 'listen': {
          const nodeId = typeof message.nodeId === 'string' ? message.nodeId : workerNodeId(randomNodeId(), cluster.worker?.id ?? 0);
          if (forwarded !== undefined) {
            control = new ClusterWorkerControl({
              nodeId,
              send: reply,
              onError: (error) => logger.warn({ err: error.message }, 'control plane: IPC'),
            });
          }
          const controlPlane = control ?? createControlPlane({ ...config, nodeId }, logger);
          // Without a handle (net transport) the node listens on wsHost:wsPort, which node:cluster shares.
          node = new HeraldNode({
            ...config,
            transport: message.transport,
            verifier,
            logger,
            engine,
            controlPlane,
            wsHandle: handle,
            pushApi: false,
            subscribeProxy: proxies.subscribeProxy,
            connectProxy: proxies.connectProxy,
            // Webhook channel events: cluster-wide over Redis; with the memory engine a worker's counts are not the group's (main.ts warns).
            webhookRedis: config.engine === 'redis' ? { url: config.redisUrl, prefix: config.redisPrefix, ttlMs: config.presenceTtlMs } : undefined,
            webhookChannelEvents: config.engine === 'redis',
          });
          proxies.registerMetrics(node.metrics.registry);
          node.start().then(
            ({ ws }) => reply({ t: 'ready', port: ws.port }),
            (error: unknown) => reply({ t: 'failed', message: (error as Error).message }),
          );
          return;
        }
        case 'metrics':
          void node?.metrics.registry.getMetricsAsJSON().then((data) => reply({ t: 'metrics', id: message.id, data }));
          return;
        case 'drain':
          void (node?.stop() ?? Promise.resolve()).finally(() => proxies.close()).then(resolve);
          return;
        default:
          if (control?.receive(message) !== true) logger.warn({ t: (message as { t?: unknown }).t }, 'unexpected message from the primary');
      }
    });
    reply({ t: 'hello' });
  });
}
