import type { HeraldMetrics } from './metrics.js';

/** `GET /v1/stats`: the console's counters, as plain JSON. */
export interface ConsoleStats {
  connections: number;
  topics: number;
  users: number;
  subscriptions: number;
  messagesSent: number;
  bytesSent: number;
  drops: number;
  publications: number;
  /** Seconds since this process started. */
  uptimeSeconds: number;
  /** Connections open and messages queued by pushes, per transport (`herald_transport_*`). */
  transports: Record<'websocket' | 'sse' | 'stream', { connections: number; messagesSent: number }>;
}

/** Which Prometheus sample each field reads. */
const SAMPLES: Readonly<Record<Exclude<keyof ConsoleStats, 'uptimeSeconds' | 'transports'>, string>> = {
  connections: 'herald_connections',
  topics: 'herald_topics',
  users: 'herald_users',
  subscriptions: 'herald_subscriptions',
  messagesSent: 'herald_messages_sent_total',
  bytesSent: 'herald_bytes_sent_total',
  drops: 'herald_messages_dropped_total',
  publications: 'herald_publications_total',
};

/**
 * Read the stats from exactly what `/metrics` serves. Going through
 * `render()` keeps one source of truth, and under `--workers` it is the only
 * place the workers' values are summed (the primary has no hub of its own).
 */
export async function readStats(metrics: HeraldMetrics): Promise<ConsoleStats> {
  const values = new Map<string, number>();
  for (const line of (await metrics.render()).split('\n')) {
    const space = line.indexOf(' ');
    if (space > 0 && line.charCodeAt(0) !== 35 /* # */) values.set(line.slice(0, space), Number(line.slice(space + 1)));
  }
  const stats = { uptimeSeconds: Math.floor(process.uptime()) } as ConsoleStats;
  for (const [field, sample] of Object.entries(SAMPLES) as [keyof typeof SAMPLES, string][]) {
    const value = values.get(sample);
    stats[field] = value === undefined || !Number.isFinite(value) ? 0 : value;
  }
  const sample = (name: string): number => {
    const value = values.get(name);
    return value === undefined || !Number.isFinite(value) ? 0 : value;
  };
  stats.transports = { websocket: { connections: 0, messagesSent: 0 }, sse: { connections: 0, messagesSent: 0 }, stream: { connections: 0, messagesSent: 0 } };
  for (const transport of ['websocket', 'sse', 'stream'] as const) {
    stats.transports[transport] = {
      connections: sample(`herald_transport_connections{transport="${transport}"}`),
      messagesSent: sample(`herald_transport_messages_total{transport="${transport}"}`),
    };
  }
  return stats;
}
