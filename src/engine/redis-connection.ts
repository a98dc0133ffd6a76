import { Cluster, Redis, type RedisOptions } from 'ioredis';

/** Timeouts and reconnect backoff of a {@link failFastRedis} connection, in ms. */
export interface FailFastTimings {
  commandTimeoutMs: number;
  connectTimeoutMs: number;
  reconnectBaseMs: number;
  reconnectMaxMs: number;
}

/**
 * A lazily connected ioredis client that fails fast instead of queueing: no
 * offline queue, no retried or re-sent commands, no automatic resubscribe
 * (the Redis engine and the Redis control plane keep their own wanted
 * channels and their own state to restore), reconnecting with jittered
 * exponential backoff. Connect it with {@link whenReady}.
 */
export function failFastRedis(url: string, name: string, timings: FailFastTimings, scripts?: RedisOptions['scripts']): Redis {
  const { commandTimeoutMs, connectTimeoutMs, reconnectBaseMs, reconnectMaxMs } = timings;
  return new Redis(url, {
    lazyConnect: true,
    connectionName: name,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    autoResendUnfulfilledCommands: false,
    autoResubscribe: false,
    commandTimeout: commandTimeoutMs,
    connectTimeout: connectTimeoutMs,
    retryStrategy: (attempt) => backoff(attempt, reconnectBaseMs, reconnectMaxMs),
    scripts,
  });
}

/** Connect `redis` and resolve when it is ready, or reject after `timeoutMs` (it keeps retrying meanwhile). */
export function whenReady(redis: Redis | Cluster, timeoutMs: number): Promise<void> {
  redis.connect().catch(() => {}); // failures are retried by retryStrategy and reported through 'error'
  return new Promise((resolve, reject) => {
    const onReady = (): void => {
      clearTimeout(timer);
      resolve();
    };
    const timer = setTimeout(() => {
      redis.off('ready', onReady);
      reject(new Error(`no connection to redis within ${timeoutMs} ms`));
    }, timeoutMs);
    redis.once('ready', onReady);
  });
}

/** QUIT when connected (pending replies arrive first), else drop the socket. */
export async function quit(redis: Redis | Cluster): Promise<void> {
  if (redis.status === 'ready') {
    try {
      await redis.quit();
      return;
    } catch {
      // fall through: drop the socket
    }
  }
  redis.disconnect();
}

/** Exponential backoff with ±20 % jitter: base, 2·base, 4·base… up to max. */
function backoff(attempt: number, baseMs: number, maxMs: number): number {
  const delay = Math.min(baseMs * 2 ** Math.min(attempt - 1, 30), maxMs);
  return Math.round(delay * (0.8 + Math.random() * 0.4));
}

/**
 * An ioredis `Cluster` that fails fast like {@link failFastRedis}: no offline
 * queue, no re-send after a dropped connection (the command may have run);
 * MOVED/ASK and a failover's CLUSTERDOWN are followed (the command did not run).
 * `urls` are seeds; the rest of the cluster is learnt from them.
 */
export function failFastCluster(
  urls: string[],
  name: string,
  timings: FailFastTimings & { slotsRefreshMs?: number },
  scripts?: RedisOptions['scripts'],
): Cluster {
  const { commandTimeoutMs, connectTimeoutMs, reconnectBaseMs, reconnectMaxMs } = timings;
  return new Cluster(urls.map(clusterSeed), {
    lazyConnect: true,
    enableOfflineQueue: false,
    slotsRefreshInterval: timings.slotsRefreshMs ?? 2_000,
    retryDelayOnFailover: 100,
    retryDelayOnClusterDown: 100,
    clusterRetryStrategy: (attempt) => backoff(attempt, reconnectBaseMs, reconnectMaxMs),
    scripts,
    redisOptions: {
      connectionName: name,
      maxRetriesPerRequest: 0,
      autoResendUnfulfilledCommands: false,
      commandTimeout: commandTimeoutMs,
      connectTimeout: connectTimeoutMs,
    },
  });
}

/** `redis://host:port` as a Cluster seed. */
export function clusterSeed(url: string): { host: string; port: number } {
  const parsed = new URL(url);
  return { host: parsed.hostname, port: parsed.port === '' ? 6379 : Number(parsed.port) };
}
