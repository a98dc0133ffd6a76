import { Counter, Histogram, type Registry } from 'prom-client';

/** Which proxy asked. */
export type ProxyKind = 'subscribe' | 'connect';

/**
 * How a check ended: the backend's verdict (`allowed`, `refused`), a failure (`unavailable` —
 * network, bad status or a malformed answer —, `timeout`, `overloaded`), `cached` (answered
 * from the subscribe proxy's cache) or `coalesced` (joined an identical check in flight): the last
 * two made no backend call.
 */
export type ProxyResult = 'allowed' | 'refused' | 'unavailable' | 'timeout' | 'overloaded' | 'cached' | 'coalesced';

/** Latency buckets (seconds): a local backend answers in ~1 ms, the default deadline is 2 s. */
const BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5];

/**
 * `herald_proxy_calls_total{kind,result}` and `herald_proxy_call_seconds{kind}` (time from the
 * check to its verdict, queueing included; cache hits are not timed). The proxies are built before
 * the node that owns the registry, so they record into this object and the metrics appear once
 * {@link register} is called (records before that are dropped: there is nothing to scrape yet).
 */
export class ProxyMetrics {
  #calls: Counter<'kind' | 'result'> | undefined;
  #seconds: Histogram<'kind'> | undefined;

  /** Create the metrics in `registry` (once; a second call is ignored). */
  register(registry: Registry): void {
    if (this.#calls !== undefined) return;
    const registers = [registry];
    this.#calls = new Counter({
      name: 'herald_proxy_calls_total',
      help: 'Subscribe and connect proxy checks, by result (allowed, refused, unavailable, timeout, overloaded; cached and coalesced made no backend call).',
      labelNames: ['kind', 'result'],
      registers,
    });
    this.#seconds = new Histogram({
      name: 'herald_proxy_call_seconds',
      help: 'Time from a proxy check to the backend verdict (queueing included; cache hits excluded).',
      labelNames: ['kind'],
      buckets: BUCKETS,
      registers,
    });
  }

  record(kind: ProxyKind, result: ProxyResult, seconds?: number): void {
    this.#calls?.inc({ kind, result });
    if (seconds !== undefined) this.#seconds?.observe({ kind }, seconds);
  }
}

/** The few logger methods a proxy uses (pino's Logger fits). */
export interface ProxyLogger {
  warn(object: object, message: string): void;
}

/**
 * A backend answering garbage to every check would write a line per subscribe: one line per
 * `intervalMs` at most, the next one counting those left out.
 */
export class ThrottledLog {
  #last = -Infinity;
  #suppressed = 0;

  constructor(
    private readonly logger: ProxyLogger | undefined,
    private readonly intervalMs = 1000,
  ) {}

  warn(object: Record<string, unknown>, message: string): void {
    const now = performance.now();
    if (now - this.#last < this.intervalMs) {
      this.#suppressed++;
      return;
    }
    this.#last = now;
    const suppressed = this.#suppressed;
    this.#suppressed = 0;
    this.logger?.warn(suppressed > 0 ? { ...object, suppressed } : object, message);
  }
}
