/**
 * `npm start` / `herald serve`: run a gateway with the embedded memory engine —
 * one process, or with `--workers N` a primary (push APIs) and N workers
 * (WebSocket clients) sharing the port. Options come from flags, HERALD_*
 * environment variables and an optional JSON config file (see `--help`).
 */
import cluster from 'node:cluster';
import * as grpc from '@grpc/grpc-js';
import { pino, type Logger } from 'pino';
import { createLoginVerifier, type LoginVerifier } from './auth/index.js';
import { runClusterPrimary } from './cluster/cluster-primary.js';
import { runClusterWorker } from './cluster/cluster-worker.js';
import { ConfigError, formatHelp, loadConfig, type LoadedConfig } from './config/index.js';
import { createControlPlane } from './control/create-control-plane.js';
import { createEngine, splitRedisUrls } from './engine/create-engine.js';
import { chooseTransport, TransportError, type TransportChoice } from './gateway/transport-choice.js';
import { ListenError } from './listen-error.js';
import { logSerializers } from './logging/error-serializer.js';
import { createLogDestination, defaultLogFormat } from './logging/log-destination.js';
import { HeraldNode } from './node.js';
import { createProxies, type Proxies } from './proxy/create-proxies.js';
import { watchShutdownSignals } from './shutdown-signals.js';
import { TlsCertificates } from './tls/tls-certificates.js';

async function main(argv: string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(formatHelp());
    return 0;
  }
  let config: LoadedConfig;
  try {
    config = loadConfig({ argv, env: process.env });
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`herald: invalid configuration\n${error.message}\n`);
      return 2;
    }
    throw error;
  }
  const isWorker = cluster.isWorker && process.env.HERALD_CLUSTER_WORKER === '1';
  const logger = pino(
    {
      level: config.logLevel,
      base: isWorker ? { service: 'herald', worker: cluster.worker?.id } : { service: 'herald' },
      serializers: logSerializers,
    },
    createLogDestination({ format: config.logFormat ?? defaultLogFormat() }),
  );
  // grpc-js writes its own errors to stderr (a failed bind prints "E No address added…" next to ours).
  grpc.setLogger(grpcLogger(logger));
  if (!isWorker) for (const warning of config.warnings) logger.warn(warning);
  // Every promise chain a connection starts ends in a catch that closes only that connection (1011).
  // Should one still slip through, it is a bug to log, not a reason to drop every client: Node's
  // default would end the process (a worker under --workers).
  process.on('unhandledRejection', (reason) => {
    logger.error({ err: reason }, 'unhandled promise rejection (a bug); the process keeps serving');
  });

  if (isWorker) {
    // The primary decides when a worker stops; a signal to the process group is its business.
    process.on('SIGINT', () => {});
    process.on('SIGTERM', () => {});
    await runClusterWorker(config, await buildVerifier(config), logger);
    return 0;
  }
  if (config.workers > 1) return runPrimary(config, logger);
  return runSingle(config, logger);
}

async function runSingle(config: LoadedConfig, logger: Logger): Promise<number> {
  let verifier: LoginVerifier | undefined;
  try {
    verifier = await buildVerifier(config);
  } catch (error) {
    process.stderr.write(`herald: ${(error as Error).message}\n`);
    return 2;
  }
  let tls: TlsCertificates | undefined;
  try {
    tls = config.tlsCertFile === undefined ? undefined : new TlsCertificates(config.tlsCertFile, config.tlsKeyFile as string);
  } catch (error) {
    process.stderr.write(`herald: ${(error as Error).message}\n`);
    return 2;
  }
  if (tls !== undefined) {
    const certificates = tls;
    process.on('SIGHUP', () => {
      try {
        certificates.reload();
        logger.info({ cert: certificates.certFile }, 'TLS certificate reloaded');
      } catch (error) {
        logger.error({ err: error }, 'TLS reload failed; the previous certificate stays in service');
      }
    });
  }
  let transport: TransportChoice;
  try {
    // TLS connections run on tls sockets whatever the mode (config rules refuse `raw` with TLS).
    transport = tls !== undefined ? { transport: 'net' } : await chooseTransport(config.transport);
  } catch (error) {
    return startFailed(error, logger);
  }
  if (transport.fallbackReason !== undefined) {
    logger.warn({ reason: transport.fallbackReason }, 'raw TCP handles failed their self-check; serving on net');
  }
  let proxies: Proxies;
  try {
    proxies = createProxies(config, logger);
  } catch (error) {
    process.stderr.write(`herald: ${(error as Error).message}\n`);
    return 2;
  }
  const engine = createEngine(config, logger);
  const node = new HeraldNode({
    ...config,
    transport: transport.transport,
    verifier,
    logger,
    tls,
    engine,
    controlPlane: createControlPlane(config, logger),
    subscribeProxy: proxies.subscribeProxy,
    connectProxy: proxies.connectProxy,
    webhookRedis: webhookRedisOf(config),
    // One node's counts are not the cluster's, and occupancy is only kept cluster-wide on Redis so far.
    webhookChannelEvents: config.engine !== 'nats',
  });
  if (config.engine === 'nats' && config.webhooks?.some((hook) => hook.events.has('channel_occupied') || hook.events.has('channel_vacated'))) {
    logger.warn('webhooks: channel_occupied/channel_vacated are not sent with --engine nats yet (cluster-wide occupancy needs --engine redis); the other events are');
  }
  proxies.registerMetrics(node.metrics.registry);
  let addresses;
  try {
    addresses = await node.start();
  } catch (error) {
    await node.stop().catch(() => undefined);
    proxies.close();
    return startFailed(error, logger);
  }
  // Handlers first: a signal sent as soon as "herald started" appears must drain, not kill.
  // The proxies close after the drain: a connection still being admitted is answered, not cut.
  const stopped = untilSignal(config, logger, () => node.stop().finally(() => proxies.close()));
  logger.info(
    {
      ws: `${tls ? 'wss' : 'ws'}://${addresses.ws.address}:${addresses.ws.port}${config.wsPath}`,
      api: addresses.api && `${tls ? 'https' : 'http'}://${addresses.api.address}:${addresses.api.port}`,
      grpcTls: tls !== undefined,
      grpc: `${config.grpcHost}:${addresses.grpcPort}`,
      transport: node.ws.transport,
      engine: engineLabel(config),
      login: loginMode(config),
      pushAuth: config.pushTokens?.length ? 'bearer' : 'open',
      subscribeProxy: config.subscribeProxyUrl !== undefined || undefined,
      connectProxy: config.connectProxyUrl !== undefined || undefined,
    },
    'herald started',
  );
  await stopped;
  return 0;
}

async function runPrimary(config: LoadedConfig, logger: Logger): Promise<number> {
  try {
    await buildVerifier(config); // fail fast on a bad key file, before forking workers
  } catch (error) {
    process.stderr.write(`herald: ${(error as Error).message}\n`);
    return 2;
  }
  if (config.engine === 'memory' && config.webhooks?.some((hook) => hook.events.has('channel_occupied') || hook.events.has('channel_vacated'))) {
    // Each worker counts only its own subscribers; the group-wide count would need the primary in every subscribe.
    logger.warn('webhooks: channel_occupied/channel_vacated are not sent under --workers with the memory engine (use --engine redis); the other events are');
  }
  let primary;
  try {
    primary = await runClusterPrimary(config, logger);
  } catch (error) {
    return startFailed(error, logger);
  }
  const { api, grpcPort, wsPort } = primary.addresses;
  const stopped = untilSignal(config, logger, () => primary.stop());
  logger.info(
    {
      ws: `ws://${config.wsHost}:${wsPort}${config.wsPath}`,
      api: `http://${api.address}:${api.port}`,
      grpc: `${config.grpcHost}:${grpcPort}`,
      workers: config.workers,
      transport: primary.transport,
      engine: config.engine === 'memory' ? 'memory (forwarded to workers)' : engineLabel(config),
      login: loginMode(config),
      pushAuth: config.pushTokens?.length ? 'bearer' : 'open',
    },
    'herald started',
  );
  await stopped;
  return 0;
}

/** Cluster-wide channel occupancy for webhooks goes through the engine's Redis, with the presence TTL for dead nodes. */
function webhookRedisOf(config: LoadedConfig): { url: string; clusterUrls?: string[]; prefix: string; ttlMs: number } | undefined {
  if (config.engine !== 'redis') return undefined;
  const clusterUrls = config.redisCluster ? splitRedisUrls(config.redisUrl) : undefined;
  return { url: config.redisUrl, clusterUrls, prefix: config.redisPrefix, ttlMs: config.presenceTtlMs };
}

/** A port in use (or any bind failure) is a mistake to correct, not a crash: one line saying what to change. */
function startFailed(error: unknown, logger: Logger): number {
  if (error instanceof ListenError || error instanceof TransportError) process.stderr.write(`herald: ${error.message}\n`);
  else logger.fatal({ err: error }, 'could not start');
  return 1;
}

/** grpc-js's log, as debug records of ours: what it reports (bind failures, bad calls) reaches us as errors anyway. */
function grpcLogger(logger: Logger): Partial<Console> {
  const log = (...args: unknown[]): void => {
    if (logger.isLevelEnabled('debug')) logger.debug({ component: 'grpc-js' }, args.map(String).join(' '));
  };
  return { error: log, info: log, debug: log };
}

function buildVerifier(config: LoadedConfig): Promise<LoginVerifier | undefined> {
  const jwtKey = config.jwtSecret ?? config.jwtPublicKeyFile ?? config.jwtJwksFile;
  return createLoginVerifier({
    jwt:
      jwtKey === undefined
        ? undefined
        : {
            secret: config.jwtSecret,
            publicKeyFile: config.jwtPublicKeyFile,
            jwksFile: config.jwtJwksFile,
            algorithms: config.jwtAlgorithms?.length ? [...config.jwtAlgorithms] : undefined,
            issuer: config.jwtIssuer,
            audience: config.jwtAudience,
          },
    authUrl: config.authUrl !== undefined ? { url: config.authUrl, timeoutMs: config.authTimeoutMs } : undefined,
  });
}

function loginMode(config: LoadedConfig): string {
  if (config.authUrl !== undefined) return 'auth-url';
  return config.jwtSecret ?? config.jwtPublicKeyFile ?? config.jwtJwksFile ? 'jwt' : 'none';
}

/** Wait for SIGTERM/SIGINT, then drain; a second Ctrl-C or an overrun ends the process at once. */
function untilSignal(config: LoadedConfig, logger: Logger, stop: () => Promise<void>): Promise<void> {
  return new Promise<void>((resolve) => {
    const onDrain = (signal: NodeJS.Signals): void => {
      logger.info({ signal }, 'draining: closing clients with 1001');
      setTimeout(() => process.exit(1), config.shutdownTimeoutMs + 1000).unref();
      stop().then(
        () => {
          logger.info('herald stopped');
          resolve();
        },
        (error: unknown) => {
          logger.error({ err: error }, 'error while draining');
          resolve();
        },
      );
    };
    watchShutdownSignals(process, { onDrain, onForce: () => process.exit(130) });
  });
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`herald: ${(error as Error)?.stack ?? String(error)}\n`);
    process.exit(1);
  },
);

/** The engine as the start line names it: `redis-cluster` for `--engine redis --redis-cluster`. */
function engineLabel(config: LoadedConfig): string {
  return config.engine === 'redis' && config.redisCluster ? 'redis-cluster' : config.engine;
}
