/**
 * `npm start` / `herald serve`: run one gateway node with the embedded memory
 * engine. Options come from flags, HERALD_* environment variables and an
 * optional JSON config file (see `--help`).
 */
import { pino } from 'pino';
import { createLoginVerifier } from './auth/index.js';
import { ConfigError, formatHelp, loadConfig } from './config/index.js';
import type { LoadedConfig } from './config/index.js';
import { HeraldNode } from './node.js';

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
  const logger = pino({ level: config.logLevel, base: { service: 'herald' } });
  for (const warning of config.warnings) logger.warn(warning);
  let verifier;
  try {
    verifier = await createLoginVerifier({
      jwt:
        config.jwtSecret !== undefined || config.jwtPublicKeyFile !== undefined || config.jwtJwksFile !== undefined
          ? {
              secret: config.jwtSecret,
              publicKeyFile: config.jwtPublicKeyFile,
              jwksFile: config.jwtJwksFile,
              algorithms: config.jwtAlgorithms?.length ? [...config.jwtAlgorithms] : undefined,
              issuer: config.jwtIssuer,
              audience: config.jwtAudience,
            }
          : undefined,
      authUrl: config.authUrl !== undefined ? { url: config.authUrl, timeoutMs: config.authTimeoutMs } : undefined,
    });
  } catch (error) {
    process.stderr.write(`herald: ${(error as Error).message}\n`);
    return 2;
  }
  const node = new HeraldNode({ ...config, verifier, logger });
  let addresses;
  try {
    addresses = await node.start();
  } catch (error) {
    logger.fatal({ err: error }, 'could not start');
    await node.stop().catch(() => undefined);
    return 1;
  }
  logger.info(
    {
      ws: `ws://${addresses.ws.address}:${addresses.ws.port}${config.wsPath}`,
      api: `http://${addresses.api.address}:${addresses.api.port}`,
      grpc: `${config.grpcHost}:${addresses.grpcPort}`,
      pushAuth: config.pushTokens?.length ? 'bearer' : 'open',
      engine: 'memory',
      login: verifier === undefined ? 'none' : config.authUrl !== undefined ? 'auth-url' : 'jwt',
    },
    'herald started',
  );
  await new Promise<void>((resolve) => {
    const onSignal = (signal: NodeJS.Signals): void => {
      logger.info({ signal }, 'draining: closing clients with 1001');
      // A second signal, or a drain that overruns, ends the process at once.
      process.once('SIGINT', () => process.exit(130));
      setTimeout(() => process.exit(1), config.shutdownTimeoutMs + 1000).unref();
      node.stop().then(resolve, (error: unknown) => {
        logger.error({ err: error }, 'error while draining');
        resolve();
      });
    };
    process.once('SIGTERM', onSignal);
    process.once('SIGINT', onSignal);
  });
  logger.info('herald stopped');
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`herald: ${(error as Error)?.stack ?? String(error)}\n`);
    process.exit(1);
  },
);
