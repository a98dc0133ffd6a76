/**
 * prom-client's event-loop delay gauges (`nodejs_eventloop_lag_{min,max,mean,
 * stddev,p50,p90,p99}_seconds`) as they should read. It copies Node's
 * `monitorEventLoopDelay` histogram into them at each scrape and resets it, so:
 *
 * - with no sample since the last scrape (right after start, or two scrapes
 *   within one sampling interval) they showed the empty histogram's sentinels:
 *   min 9223372036.85 (2^63 − 1 ns), mean and stddev NaN;
 * - every sample is the time between two runs of a repeating timer, which
 *   includes the interval itself: at the 1 s resolution Herald uses (so that an
 *   idle server is not woken 100 times a second), an idle loop read as 1 s of lag.
 *
 * The gauges' `set` is wrapped: an empty histogram reads 0, and the sampling
 * interval is taken off every value but the standard deviation.
 */
import type { Gauge, Registry } from 'prom-client';

const GAUGES = ['min', 'max', 'mean', 'stddev', 'p50', 'p90', 'p99'] as const;

/** Anything at or above this many seconds (the empty histogram's 2^63 − 1 ns is 9.2e9 s) is the sentinel, not a sample. */
const SENTINEL_SECONDS = 1e9;

/** One gauge value as reported: `raw` seconds from the histogram, less the sampling interval; 0 for a sentinel. */
export function eventLoopDelaySeconds(raw: number, intervalSeconds: number): number {
  if (!Number.isFinite(raw) || raw >= SENTINEL_SECONDS) return 0;
  // Rounded to the nanosecond the histogram counts in (1.000341504 − 1 is not 0.000341504 in binary).
  return Math.max(0, Math.round((raw - intervalSeconds) * 1e9) / 1e9);
}

/** Correct the gauges collectDefaultMetrics registered with `prefix` and `eventLoopMonitoringPrecision: resolutionMs`. */
export function correctEventLoopDelayGauges(registry: Registry, prefix: string, resolutionMs: number): void {
  for (const stat of GAUGES) {
    const gauge = registry.getSingleMetric(`${prefix}nodejs_eventloop_lag_${stat}_seconds`) as Gauge | undefined;
    if (gauge === undefined) continue;
    const interval = stat === 'stddev' ? 0 : resolutionMs / 1000;
    const set = gauge.set.bind(gauge) as (...args: unknown[]) => void;
    gauge.set = ((...args: unknown[]) => {
      const last = args.length - 1;
      args[last] = eventLoopDelaySeconds(args[last] as number, interval);
      set(...args);
    }) as Gauge['set'];
  }
}
