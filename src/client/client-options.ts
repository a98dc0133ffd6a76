import { resolveFallbackOptions, type ResolvedFallbackOptions } from './transport-fallback.js';
import type { HeraldClientOptions, WebSocketConstructor } from './types.js';

/** {@link HeraldClientOptions} with every default applied. */
export interface ResolvedClientOptions {
  url: string;
  /** herald.v1: envelopes, request ids, resume. */
  enveloped: boolean;
  Socket: WebSocketConstructor;
  token: HeraldClientOptions['token'];
  heartbeatMs: number;
  baseMs: number;
  maxMs: number;
  maxAttempts: number;
  requestTimeoutMs: number;
  getSubscriptionToken: HeraldClientOptions['getSubscriptionToken'];
  /** The HTTP-stream fallback; undefined when off. */
  fallback: ResolvedFallbackOptions | undefined;
}

/** Check `options` and apply the defaults; misuse throws TypeError or RangeError. */
export function resolveClientOptions(options: HeraldClientOptions): ResolvedClientOptions {
  if (typeof options !== 'object' || options === null) throw new TypeError('options must be an object');
  if (typeof options.url !== 'string' || options.url.length === 0) throw new TypeError('options.url must be a ws:// or wss:// URL');
  const protocol = options.protocol ?? 'herald.v1';
  if (protocol !== 'herald.v1' && protocol !== 'gpush') throw new TypeError("options.protocol must be 'herald.v1' or 'gpush'");
  const Socket = options.WebSocket ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
  if (typeof Socket !== 'function') {
    throw new TypeError('no global WebSocket (Node < 22): pass a WebSocket class as options.WebSocket, e.g. the ws package');
  }
  const token = options.token;
  if (token !== undefined && typeof token !== 'string' && typeof token !== 'function') {
    throw new TypeError('options.token must be a string or a function returning one');
  }
  const getSubscriptionToken = options.getSubscriptionToken;
  if (getSubscriptionToken !== undefined && typeof getSubscriptionToken !== 'function') {
    throw new TypeError('options.getSubscriptionToken must be a function');
  }
  const reconnect = options.reconnect ?? {};
  return {
    url: options.url,
    enveloped: protocol === 'herald.v1',
    Socket,
    token,
    heartbeatMs: checkNumber('heartbeatMs', options.heartbeatMs ?? 25_000, 0),
    baseMs: checkNumber('reconnect.baseMs', reconnect.baseMs ?? 500, 1),
    maxMs: checkNumber('reconnect.maxMs', reconnect.maxMs ?? 30_000, 1),
    maxAttempts: checkNumber('reconnect.maxAttempts', reconnect.maxAttempts ?? Infinity, 0, true),
    requestTimeoutMs: checkNumber('requestTimeoutMs', options.requestTimeoutMs ?? 10_000, 1),
    getSubscriptionToken,
    fallback: resolveFallbackOptions(options.fallback, options.url, protocol === 'herald.v1'),
  };
}

function checkNumber(name: string, value: number, min: number, allowInfinity = false): number {
  if (typeof value !== 'number' || Number.isNaN(value) || (!allowInfinity && !Number.isFinite(value))) {
    throw new TypeError(`options.${name} must be a ${allowInfinity ? '' : 'finite '}number`);
  }
  if (value < min) throw new RangeError(`options.${name} must be at least ${min}`);
  return value;
}
