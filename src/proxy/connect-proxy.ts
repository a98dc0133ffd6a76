import type { ConnectCheck, ConnectProxy, ConnectVerdict } from '../session/proxy-hooks.js';
import { parseConnectAnswer } from './backend-answers.js';
import type { BackendCaller, CallOutcome } from './backend-caller.js';
import { createEndpoint, FAILURE_REASONS, type BackendEndpointOptions } from './backend-endpoint.js';
import type { ThrottledLog } from './proxy-metrics.js';
import { ProxyMetrics, type ProxyResult } from './proxy-metrics.js';

/** Options of a {@link BackendConnectProxy}. */
export interface BackendConnectProxyOptions extends BackendEndpointOptions {
  /** Upgrade headers sent to the backend (case-insensitive names); default `["cookie"]`. */
  headers?: readonly string[];
  /** Where the calls are counted; default: a private, unregistered one. */
  metrics?: ProxyMetrics;
}

export const DEFAULT_FORWARDED_HEADERS: readonly string[] = ['cookie'];

/**
 * The connect proxy of PROTOCOL.md ("Backend proxies"): asks the backend whether a new connection
 * may open and as whom, forwarding the configured upgrade headers, the peer's address and the
 * protocol. Never cached (a cookie is a session that may end at any time).
 */
export class BackendConnectProxy implements ConnectProxy {
  /** Lower-case names of the headers forwarded; the session may pass only these (others are dropped here anyway). */
  readonly forwardedHeaders: readonly string[];
  readonly #caller: BackendCaller;
  readonly #log: ThrottledLog;
  readonly #metrics: ProxyMetrics;

  /** Throws a TypeError on a bad URL or header name, a RangeError on a bad limit. */
  constructor(options: BackendConnectProxyOptions) {
    this.forwardedHeaders = (options.headers ?? DEFAULT_FORWARDED_HEADERS).map(headerName);
    ({ caller: this.#caller, log: this.#log } = createEndpoint(options, 'Connect', 'connect proxy'));
    this.#metrics = options.metrics ?? new ProxyMetrics();
  }

  /** Never rejects; see proxy-hooks.ts for the verdicts. */
  check(request: ConnectCheck): Promise<ConnectVerdict> {
    const started = performance.now();
    const headers: Record<string, string> = {};
    for (const name of this.forwardedHeaders) {
      const value = request.headers[name];
      if (value !== undefined) headers[name] = value;
    }
    const body = { client: request.client, ip: request.ip, protocol: request.protocol, headers };
    return this.#caller
      .call(body, request.signal)
      .then((outcome) => {
        const [result, verdict] = this.#verdictOf(outcome, request.client);
        this.#metrics.record('connect', result, (performance.now() - started) / 1000);
        return verdict;
      })
      .catch((): ConnectVerdict => ({ allowed: false, unavailable: true, reason: FAILURE_REASONS.unavailable }));
  }

  /** Fail every pending and later check "backend unavailable". */
  close(): void {
    this.#caller.close();
  }

  #verdictOf(outcome: CallOutcome, client: string): [ProxyResult, ConnectVerdict] {
    if (!outcome.ok) return [outcome.failure, { allowed: false, unavailable: true, reason: FAILURE_REASONS[outcome.failure] }];
    try {
      const verdict = parseConnectAnswer(outcome.answer);
      return [verdict.allowed ? 'allowed' : 'refused', verdict];
    } catch (error) {
      this.#log.warn({ client, err: (error as Error).message }, 'connect proxy: malformed answer from the backend');
      return ['unavailable', { allowed: false, unavailable: true, reason: FAILURE_REASONS.unavailable }];
    }
  }
}

/** RFC 9110 §5.1 token, lower-cased as Node's `IncomingMessage.headers` keys are. */
function headerName(name: string): string {
  const trimmed = name.trim().toLowerCase();
  if (!/^[!#$%&'*+.^_`|~0-9a-z-]+$/.test(trimmed)) throw new TypeError(`not an HTTP header name: ${JSON.stringify(name)}`);
  return trimmed;
}
