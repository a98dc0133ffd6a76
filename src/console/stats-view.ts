/**
 * The console's live counters (runs in the browser, served as
 * `/console/stats-view.js`): `GET /v1/stats` polled every second, the send
 * rate computed between two polls and drawn as a sparkline of the last minute
 * (sparkline.ts), a stale look while the server does not answer.
 */
import { element } from './dom.js';
import { SampleRing, sparklinePoints } from './sparkline.js';

/** Counters are polled this often (ms). */
const STATS_INTERVAL_MS = 1000;
/** A stats request taking longer than this (ms) is abandoned, so a stuck one never freezes the counters. */
export const STATS_TIMEOUT_MS = 3000;

const stats = {
  connections: element('stat-connections'),
  transports: element('stat-transports'),
  topics: element('stat-topics'),
  users: element('stat-users'),
  subscriptions: element('stat-subscriptions'),
  rate: element('stat-rate'),
  sent: element('stat-sent'),
  drops: element('stat-drops'),
  uptime: element('stat-uptime'),
  sparkline: element('stat-sparkline'),
};
/** The recent messages/s samples, held in the page only. */
const rates = new SampleRing();
let previous: { sent: number; at: number } | undefined;

interface Stats {
  connections: number;
  topics: number;
  users: number;
  subscriptions: number;
  messagesSent: number;
  drops: number;
  uptimeSeconds: number;
  /** Absent from an older server. */
  transports?: Record<'websocket' | 'sse' | 'stream', { connections: number }>;
}

/** Read `/v1/stats` now and every STATS_INTERVAL_MS, for as long as the page is open. */
export async function pollStats(): Promise<void> {
  const box = element('stats-error');
  try {
    const res = await fetch('/v1/stats', { signal: AbortSignal.timeout(STATS_TIMEOUT_MS) });
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    showStats((await res.json()) as Stats, performance.now());
    box.hidden = true;
    element('stats').className = 'stats';
  } catch (error) {
    box.textContent = `Counters unavailable: ${(error as Error).message}`;
    box.hidden = false;
    element('stats').className = 'stats stale';
    stats.rate.textContent = '–';
    previous = undefined;
  } finally {
    setTimeout(() => void pollStats(), STATS_INTERVAL_MS);
  }
}

function showStats(s: Stats, now: number): void {
  stats.connections.textContent = count(s.connections);
  const t = s.transports;
  stats.transports.textContent =
    t === undefined ? '–' : `WebSocket ${count(t.websocket.connections)} · SSE ${count(t.sse.connections)} · stream ${count(t.stream.connections)}`;
  stats.topics.textContent = count(s.topics);
  stats.users.textContent = count(s.users);
  stats.subscriptions.textContent = count(s.subscriptions);
  stats.sent.textContent = count(s.messagesSent);
  stats.drops.textContent = count(s.drops);
  stats.uptime.textContent = duration(s.uptimeSeconds);
  // A counter that went down means a new server process: start the rate (and its sparkline) over.
  if (previous !== undefined && s.messagesSent < previous.sent) rates.clear();
  if (previous !== undefined && s.messagesSent >= previous.sent && now > previous.at) {
    const rate = ((s.messagesSent - previous.sent) * 1000) / (now - previous.at);
    stats.rate.textContent = rate < 10 ? rate.toFixed(1) : count(Math.round(rate));
    rates.push(rate);
    stats.sparkline.setAttribute('points', sparklinePoints(rates.values(), 120, 24));
  }
  previous = { sent: s.messagesSent, at: now };
}

const count = (n: number): string => n.toLocaleString('en-US');

function duration(seconds: number): string {
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  return h > 0 ? `${h}h ${m}m` : m > 0 ? `${m}m ${s}s` : `${s}s`;
}
