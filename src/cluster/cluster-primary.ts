import cluster, { type Worker } from 'node:cluster';
import { AggregatorRegistry, type MetricObjectWithValues, type MetricValue } from 'prom-client';
import type { Logger } from 'pino';
import { HeraldMetrics } from '../api/metrics.js';
import { PushApis, type PushApiAddresses } from '../api/push-apis.js';
import type { HeraldConfig } from '../config/index.js';
import { bindRawTcp, type TcpHandle } from '../gateway/raw-tcp.js';
import { chooseTransport } from '../gateway/transport-choice.js';
import { consolePages, consoleWsAddress } from '../console/console-routes.js';
import { createEngine } from '../engine/create-engine.js';
import { listening } from '../listen-error.js';
import { ClusterPrimaryEngine, type PrimaryMessage, type WorkerMessage } from './cluster-engines.js';
import { NO_LOCAL_NODE, primaryControlPlane, workerNodeId } from './cluster-control.js';

type MetricsJson = MetricObjectWithValues<MetricValue<string>>[];

/** A running cluster primary. */
export interface ClusterPrimary {
  addresses: PushApiAddresses & { wsPort: number };
  /** The transport the workers serve connections on (see --transport). */
  transport: 'raw' | 'net';
  /** Drain every worker (clients get 1001), then stop the push APIs. */
  stop(): Promise<void>;
}

/**
 * Run the primary of `--workers N`. With the raw transport it binds the
 * WebSocket port once and shares the bound handle with N `node:cluster`
 * workers, each of which listens on it (the kernel gives every new connection
 * to one of them; the primary never accepts). With `net` (asked for, or `auto`
 * after a failed self-check of the raw handles) each worker listens on the
 * port through `net.Server`, which node:cluster shares (on Linux the primary
 * accepts and hands connections round-robin to the workers). The primary
 * serves the push APIs and forwards each publication to every worker once. A
 * worker that dies is replaced, on the same shared port.
 *
 * The server API is served here too, through a control plane that holds no
 * connections: with the memory engine, {@link ClusterPrimaryControl} (the
 * workers' presence kept here, commands sent to them over IPC); with Redis, a
 * non-member `RedisControlPlane` asking the workers, which are nodes of the
 * Redis cluster. Worker k's node id is `<--node-id or random>-w<k>`.
 */
export async function runClusterPrimary(config: HeraldConfig, logger: Logger): Promise<ClusterPrimary> {
  cluster.setupPrimary({ serialization: 'advanced' });
  const { transport, fallbackReason } = await chooseTransport(config.transport);
  if (fallbackReason !== undefined) {
    logger.warn({ reason: fallbackReason }, 'raw TCP handles failed their self-check; workers serve on net');
  }
  const handle =
    transport === 'raw'
      ? await listening('ws', config.wsHost, config.wsPort, () => bindRawTcp(config.wsHost, config.wsPort))
      : undefined;
  // Memory mode: the primary forwards every push to every worker. Redis mode: the primary publishes to
  // Redis like any node, and each worker subscribes to what its own clients need.
  const forwarder = config.engine === 'memory' ? new ClusterPrimaryEngine() : undefined;
  const engine = forwarder ?? createEngine(config, logger);
  const { control, ipcControl, baseNodeId } = primaryControlPlane(config, logger);
  const readyWorkers = new Set<Worker>();
  const workers = new Set<Worker>();
  let draining = false;
  let wsPort = 0;

  const metrics = new ClusterMetrics(workers);
  const apis = new PushApis({
    ...config,
    engine,
    control,
    metrics,
    logger,
    limits: {
      maxPushBytes: config.maxPushBytes,
      maxTopicLength: config.maxTopicLength,
      topicPattern: config.topicPattern === undefined ? undefined : new RegExp(config.topicPattern, 'u'),
    },
    isReady: () => !draining && engine.ready && readyWorkers.size === config.workers,
    // TLS with --workers is refused by the config rules: the workers' listener is plain ws://.
    pages: consolePages(() => (wsPort === 0 ? undefined : consoleWsAddress(config.wsHost, wsPort, { wsPath: config.wsPath }))),
  });

  const startWorker = (): Promise<void> =>
    new Promise((resolve, reject) => {
      const worker = cluster.fork({ HERALD_CLUSTER_WORKER: '1' });
      workers.add(worker);
      const nodeId = workerNodeId(baseNodeId, worker.id);
      ipcControl?.attach(worker, nodeId);
      worker.on('message', (message: WorkerMessage) => {
        if (ipcControl?.receive(worker, message)) return;
        if (typeof message !== 'object' || message === null) return logger.warn({ worker: worker.id }, 'unexpected message from a worker');
        if (message.t === 'hello') {
          send(worker, { t: 'listen', transport, nodeId }, handle);
        } else if (message.t === 'ready') {
          wsPort = message.port;
          forwarder?.addWorker(worker);
          ipcControl?.ready(worker);
          readyWorkers.add(worker);
          resolve();
        } else if (message.t === 'failed') {
          reject(new Error(`worker ${worker.id}: ${message.message}`));
        } else if (message.t === 'metrics') {
          metrics.answer(message.id, message.data as MetricsJson);
        }
      });
      worker.once('exit', (code, signal) => {
        workers.delete(worker);
        readyWorkers.delete(worker);
        forwarder?.removeWorker(worker);
        ipcControl?.detach(worker);
        reject(new Error(`worker ${worker.id} exited (${signal ?? code}) before it was ready`));
        if (draining) return;
        logger.error({ worker: worker.id, code, signal }, 'worker died; starting a new one');
        setTimeout(() => startWorker().catch((error: unknown) => logger.error({ err: error }, 'worker restart failed')), 500).unref();
      });
    });

  let addresses: PushApiAddresses;
  try {
    await engine.start({ onPublication() {} });
    await control.start(NO_LOCAL_NODE);
    await Promise.all(Array.from({ length: config.workers }, startWorker));
    addresses = await apis.listen();
  } catch (error) {
    draining = true;
    for (const worker of workers) worker.kill();
    handle?.close(() => {});
    await control.close().catch(() => undefined);
    throw error;
  }
  return {
    addresses: { ...addresses, wsPort },
    transport,
    async stop() {
      draining = true;
      const exits = [...workers].map((worker) => new Promise<void>((resolve) => worker.once('exit', () => resolve())));
      for (const worker of workers) send(worker, { t: 'drain' });
      const timer = setTimeout(() => {
        for (const worker of workers) worker.kill('SIGKILL');
      }, config.shutdownTimeoutMs);
      await Promise.all(exits);
      clearTimeout(timer);
      await apis.close(500);
      await Promise.all([engine.close(), control.close()]);
      handle?.close(() => {});
    },
  };
}

function send(worker: Worker, message: PrimaryMessage, handle?: TcpHandle): void {
  if (worker.isConnected()) worker.send(message, handle as never);
}

/** The primary's metrics: its own (push counters) summed with every worker's, at scrape time. */
class ClusterMetrics extends HeraldMetrics {
  private readonly workers: Set<Worker>;
  private nextId = 1;
  private readonly pending = new Map<number, (data: MetricsJson) => void>();

  constructor(workers: Set<Worker>) {
    const zero = () => 0;
    super({
      connections: zero,
      topics: zero,
      users: zero,
      subscriptions: zero,
      slowConsumerEvents: zero,
      limitRejections: zero,
      hubCounters: () => ({ publications: 0, deliveries: 0, deliveredBytes: 0, drops: 0 }),
    });
    this.workers = workers;
  }

  answer(id: number, data: MetricsJson): void {
    this.pending.get(id)?.(data);
    this.pending.delete(id);
  }

  override async render(): Promise<string> {
    const asks = [...this.workers].map(
      (worker) =>
        new Promise<MetricsJson | undefined>((resolve) => {
          const id = this.nextId++;
          const timer = setTimeout(() => {
            this.pending.delete(id);
            resolve(undefined);
          }, 2000);
          this.pending.set(id, (data) => {
            clearTimeout(timer);
            resolve(data);
          });
          send(worker, { t: 'metrics', id });
        }),
    );
    const parts = [await this.registry.getMetricsAsJSON(), ...(await Promise.all(asks))].filter(
      (part): part is MetricsJson => part !== undefined,
    );
    return AggregatorRegistry.aggregate(parts).metrics();
  }
}
