import { Redis, type RedisOptions } from 'ioredis';

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
export function whenReady(redis: Redis, timeoutMs: number): Promise<void> {
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
export async function quit(redis: Redis): Promise<void> {
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
