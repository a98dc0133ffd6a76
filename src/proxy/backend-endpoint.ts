import { BackendCaller, type BackendFailure, type BackendTransport } from './backend-caller.js';
import { GrpcTransport, type BackendMethod } from './grpc-transport.js';
import { HttpTransport } from './http-transport.js';
import type { ProxyLogger } from './proxy-metrics.js';
import { ThrottledLog } from './proxy-metrics.js';

/** The reasons of proxy-hooks.ts for a check the backend did not answer. */
export const FAILURE_REASONS: Readonly<Record<BackendFailure, string>> = {
  unavailable: 'backend unavailable',
  timeout: 'backend timeout',
  overloaded: 'backend overloaded',
};

/** Settings shared by both proxies (the `--*-proxy-*` options). */
export interface BackendEndpointOptions {
  /** `http://…`, `https://…` (POST JSON) or `grpc://host:port`, `grpcs://host:port` (herald.v1.Backend). */
  url: string;
  /** Deadline per check in ms, queueing included; default 2000. */
  timeoutMs?: number;
  /** Checks in flight at once; default 64. */
  concurrency?: number;
  /** Checks waiting beyond `concurrency`; more are answered "backend overloaded" at once. Default 1000. */
  queue?: number;
  /** Where failures of the backend are reported (throttled to a line a second). */
  logger?: ProxyLogger;
}

/** The transport `url` names. Throws a TypeError on another scheme or a malformed URL. */
export function createTransport(url: string, method: BackendMethod, maxSockets: number | undefined): BackendTransport {
  let scheme: string;
  try {
    scheme = new URL(url).protocol;
  } catch {
    throw new TypeError(`backend URL is not a URL: ${JSON.stringify(url)}`);
  }
  if (scheme === 'grpc:' || scheme === 'grpcs:') return new GrpcTransport({ url, method });
  return new HttpTransport({ url, maxSockets });
}

/** A caller for `options.url`, and the throttled log both it and the answer parser write to. */
export function createEndpoint(
  options: BackendEndpointOptions,
  method: BackendMethod,
  what: string,
): { caller: BackendCaller; log: ThrottledLog } {
  const transport = createTransport(options.url, method, options.concurrency);
  const log = new ThrottledLog(options.logger);
  const shown = withoutCredentials(options.url);
  const caller = new BackendCaller({
    transport,
    timeoutMs: options.timeoutMs,
    concurrency: options.concurrency,
    queue: options.queue,
    onError: (error) => log.warn({ url: shown, err: error.message }, `${what}: backend unavailable`),
  });
  return { caller, log };
}

/** The URL for a log line: user and password left out. */
function withoutCredentials(url: string): string {
  const parsed = new URL(url);
  parsed.username = '';
  parsed.password = '';
  return parsed.href;
}
