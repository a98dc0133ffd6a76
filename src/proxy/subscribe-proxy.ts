import type { SubscribeCheck, SubscribeProxy, SubscribeVerdict } from '../session/proxy-hooks.js';
import { parseSubscribeAnswer } from './backend-answers.js';
import type { BackendCaller, CallOutcome } from './backend-caller.js';
import { createEndpoint, FAILURE_REASONS, type BackendEndpointOptions } from './backend-endpoint.js';
import type { ThrottledLog } from './proxy-metrics.js';
import { ProxyMetrics, type ProxyResult } from './proxy-metrics.js';

/** Options of a {@link BackendSubscribeProxy}. */
export interface BackendSubscribeProxyOptions extends BackendEndpointOptions {
  /**
   * Keep an "allowed" answer this long (ms) for the same (uid, topic, private), so a reconnect storm
   * does not ask again; default 0 (off). Refusals are never kept. An answer with `expireAt` is kept
   * no later than that. Revoking access in the backend takes effect for new subscribes only after
   * this long: keep it short.
   */
  cacheMs?: number;
  /** Most answers kept; the oldest goes first. Default 100,000. */
  maxCacheEntries?: number;
  /** Where the calls are counted; default: a private, unregistered one. */
  metrics?: ProxyMetrics;
  /** The clock of the cache (epoch ms); default Date.now. Tests move it. */
  now?(): number;
}

interface CachedAnswer {
  readonly verdict: SubscribeVerdict;
  /** Epoch ms after which the answer is asked again. */
  readonly until: number;
}

export const DEFAULT_MAX_CACHE_ENTRIES = 100_000;

/**
 * The subscribe proxy of PROTOCOL.md ("Backend proxies"): asks the backend whether a connection
 * may subscribe, over HTTP or gRPC, within a {@link BackendCaller}'s bounds. Positive answers are
 * cached (see `cacheMs`), and identical checks in flight at once — (uid, topic, private) — share
 * one backend call: the backend sees the first one's `client` and `protocol`.
 */
export class BackendSubscribeProxy implements SubscribeProxy {
  readonly #caller: BackendCaller;
  readonly #log: ThrottledLog;
  readonly #metrics: ProxyMetrics;
  readonly #cacheMs: number;
  readonly #maxCacheEntries: number;
  readonly #now: () => number;
  /** Insertion order is age order: a refreshed entry is deleted and set again. */
  readonly #cache = new Map<string, CachedAnswer>();
  readonly #pending = new Map<string, Promise<SubscribeVerdict>>();

  /** Throws a TypeError on a bad URL, a RangeError on a bad limit. */
  constructor(options: BackendSubscribeProxyOptions) {
    ({ caller: this.#caller, log: this.#log } = createEndpoint(options, 'Subscribe', 'subscribe proxy'));
    this.#metrics = options.metrics ?? new ProxyMetrics();
    this.#cacheMs = options.cacheMs ?? 0;
    this.#maxCacheEntries = options.maxCacheEntries ?? DEFAULT_MAX_CACHE_ENTRIES;
    if (!Number.isSafeInteger(this.#cacheMs) || this.#cacheMs < 0) throw new RangeError(`cacheMs must be an integer >= 0, got ${this.#cacheMs}`);
    if (!Number.isSafeInteger(this.#maxCacheEntries) || this.#maxCacheEntries < 1) {
      throw new RangeError(`maxCacheEntries must be an integer >= 1, got ${this.#maxCacheEntries}`);
    }
    this.#now = options.now ?? Date.now;
  }

  /** Answers kept (expired ones included until they are read or pushed out). */
  get cacheSize(): number {
    return this.#cache.size;
  }

  /** Never rejects; see proxy-hooks.ts for the verdicts. */
  check(request: SubscribeCheck): Promise<SubscribeVerdict> {
    const key = cacheKey(request);
    const cached = this.#cached(key);
    if (cached !== undefined) {
      this.#metrics.record('subscribe', 'cached');
      return Promise.resolve(cached);
    }
    const pending = this.#pending.get(key);
    if (pending !== undefined) {
      this.#metrics.record('subscribe', 'coalesced');
      return pending;
    }
    const started = performance.now();
    const body = { client: request.client, uid: request.uid, topic: request.topic, private: request.private, protocol: request.protocol };
    const verdict = this.#caller
      .call(body)
      .then((outcome) => {
        const [result, answer] = this.#verdictOf(outcome, request.topic);
        this.#metrics.record('subscribe', result, (performance.now() - started) / 1000);
        if (answer.allowed) this.#remember(key, answer);
        return answer;
      })
      .catch((): SubscribeVerdict => ({ allowed: false, reason: FAILURE_REASONS.unavailable }))
      .finally(() => this.#pending.delete(key));
    this.#pending.set(key, verdict);
    return verdict;
  }

  /** Fail every pending and later check "backend unavailable"; forget the cache. */
  close(): void {
    this.#caller.close();
    this.#cache.clear();
  }

  #verdictOf(outcome: CallOutcome, topic: string): [ProxyResult, SubscribeVerdict] {
    if (!outcome.ok) return [outcome.failure, { allowed: false, reason: FAILURE_REASONS[outcome.failure] }];
    try {
      const verdict = parseSubscribeAnswer(outcome.answer);
      return [verdict.allowed ? 'allowed' : 'refused', verdict];
    } catch (error) {
      this.#log.warn({ topic, err: (error as Error).message }, 'subscribe proxy: malformed answer from the backend');
      return ['unavailable', { allowed: false, reason: FAILURE_REASONS.unavailable }];
    }
  }

  #cached(key: string): SubscribeVerdict | undefined {
    if (this.#cacheMs === 0) return undefined;
    const entry = this.#cache.get(key);
    if (entry === undefined) return undefined;
    if (entry.until > this.#now()) return entry.verdict;
    this.#cache.delete(key);
    return undefined;
  }

  #remember(key: string, verdict: SubscribeVerdict): void {
    if (this.#cacheMs === 0) return;
    const expiresAt = verdict.allowed ? verdict.expiresAt : undefined;
    const until = Math.min(this.#now() + this.#cacheMs, expiresAt ?? Infinity);
    // An answer already past its expiry would only push a useful one out.
    if (until <= this.#now()) return;
    this.#cache.delete(key);
    this.#cache.set(key, { verdict, until });
    if (this.#cache.size > this.#maxCacheEntries) this.#cache.delete(this.#cache.keys().next().value as string);
  }
}

/**
 * One string per (uid, topic, private). Neither a uid nor a topic contains control characters
 * (util/topic-rules.ts), so NUL separates them; an anonymous connection has no `u` part.
 */
function cacheKey(request: SubscribeCheck): string {
  return `${request.private ? 'p' : 's'}${request.uid === null ? '' : `u${request.uid}`}\u0000${request.topic}`;
}
