import type { Registry } from 'prom-client';
import { BackendConnectProxy } from './connect-proxy.js';
import { ProxyMetrics, type ProxyLogger } from './proxy-metrics.js';
import { BackendSubscribeProxy } from './subscribe-proxy.js';

/** The `--subscribe-proxy-*` and `--connect-proxy-*` settings (fields of HeraldConfig). */
export interface ProxySettings {
  readonly subscribeProxyUrl?: string;
  readonly subscribeProxyTimeoutMs?: number;
  readonly subscribeProxyConcurrency?: number;
  readonly subscribeProxyQueue?: number;
  readonly subscribeProxyCacheMs?: number;
  readonly connectProxyUrl?: string;
  readonly connectProxyTimeoutMs?: number;
  readonly connectProxyConcurrency?: number;
  readonly connectProxyQueue?: number;
  readonly connectProxyHeaders?: readonly string[];
}

/** The proxies a process runs (each absent when its URL is not set) and their metrics. */
export interface Proxies {
  readonly subscribeProxy: BackendSubscribeProxy | undefined;
  readonly connectProxy: BackendConnectProxy | undefined;
  /** Add `herald_proxy_*` to the node's registry (the proxies are built before the node). */
  registerMetrics(registry: Registry): void;
  /** Fail pending checks and release the backend connections. Idempotent. */
  close(): void;
}

/** Build the configured proxies. Throws a TypeError or RangeError on a bad setting (the option table checks them first). */
export function createProxies(settings: ProxySettings, logger?: ProxyLogger): Proxies {
  const metrics = new ProxyMetrics();
  const subscribeProxy =
    settings.subscribeProxyUrl === undefined
      ? undefined
      : new BackendSubscribeProxy({
          url: settings.subscribeProxyUrl,
          timeoutMs: settings.subscribeProxyTimeoutMs,
          concurrency: settings.subscribeProxyConcurrency,
          queue: settings.subscribeProxyQueue,
          cacheMs: settings.subscribeProxyCacheMs,
          logger,
          metrics,
        });
  const connectProxy =
    settings.connectProxyUrl === undefined
      ? undefined
      : new BackendConnectProxy({
          url: settings.connectProxyUrl,
          timeoutMs: settings.connectProxyTimeoutMs,
          concurrency: settings.connectProxyConcurrency,
          queue: settings.connectProxyQueue,
          headers: settings.connectProxyHeaders,
          logger,
          metrics,
        });
  return {
    subscribeProxy,
    connectProxy,
    registerMetrics: (registry) => {
      if (subscribeProxy !== undefined || connectProxy !== undefined) metrics.register(registry);
    },
    close: () => {
      subscribeProxy?.close();
      connectProxy?.close();
    },
  };
}
