import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import type { HubCounters } from '../hub/hub.js';
import { PreparedMessage } from '../protocol/prepared-message.js';
import { correctEventLoopDelayGauges } from './event-loop-delay.js';

/** Sampling interval of the event-loop delay histogram (ms). */
const EVENT_LOOP_RESOLUTION_MS = 1000;

/** Live values the metrics read at scrape time (no work on the hot path). */
export interface MetricsSource {
  connections(): number;
  topics(): number;
  users(): number;
  subscriptions(): number;
  hubCounters(): HubCounters;
  slowConsumerEvents(): number;
  /** Connections refused by a connection limit (503/429 before the upgrade). */
  limitRejections(): number;
  /** Totals per transport; absent where the process serves no clients (the cluster primary). */
  transports?(): Readonly<Record<Transport, TransportTotals>>;
}

/** How clients are served: WebSocket, `GET /v1/sse`, `POST /v1/stream` (NDJSON). */
export type Transport = 'websocket' | 'sse' | 'stream';

/** One transport's figures: connections open and opened, and what pushes queued on them. */
export interface TransportTotals {
  open: number;
  opened: number;
  messages: number;
  bytes: number;
}

const TRANSPORTS: readonly Transport[] = ['websocket', 'sse', 'stream'];

/**
 * Herald's Prometheus metrics. Hot-path totals live as plain numbers in the
 * hub and are copied into counters at scrape time; counters for rare events
 * (connections opened, pushes, auth failures) are incremented directly.
 */
export class HeraldMetrics {
  readonly registry = new Registry();
  readonly connectionsTotal: Counter;
  readonly pushesTotal: Counter<'api' | 'result'>;
  readonly authFailuresTotal: Counter<'reason'>;
  readonly badRequestsTotal: Counter;
  readonly subscriptionsRefusedTotal: Counter<'reason'>;

  constructor(source: MetricsSource, options: { defaultMetrics?: boolean } = {}) {
    const registers = [this.registry];
    // The event-loop-delay monitor samples on a timer: at its default 10 ms it alone woke an idle server 100×/s.
    if (options.defaultMetrics !== false) {
      collectDefaultMetrics({ register: this.registry, prefix: 'herald_', eventLoopMonitoringPrecision: EVENT_LOOP_RESOLUTION_MS });
      correctEventLoopDelayGauges(this.registry, 'herald_', EVENT_LOOP_RESOLUTION_MS);
    }
    gauge('herald_connections', 'WebSocket connections currently open.', registers, source.connections);
    gauge('herald_topics', 'Topics with at least one public subscriber.', registers, source.topics);
    gauge('herald_users', 'Distinct logged-in users with an open connection.', registers, source.users);
    gauge('herald_subscriptions', 'Public plus private subscriptions.', registers, source.subscriptions);
    monotonic('herald_messages_sent_total', 'Frames queued to connections by pushes.', registers, () => source.hubCounters().deliveries);
    monotonic('herald_bytes_sent_total', 'Bytes of frames queued to connections by pushes.', registers, () => source.hubCounters().deliveredBytes);
    monotonic('herald_messages_dropped_total', 'Deliveries refused by a connection (closing or over its bound).', registers, () => source.hubCounters().drops);
    monotonic(
      'herald_slow_consumer_events_total',
      'Sends refused because a connection passed its buffered-bytes bound (each closes it under the close policy).',
      registers,
      source.slowConsumerEvents,
    );
    monotonic(
      'herald_deflate_compressions_total',
      'Messages compressed for permessage-deflate subscribers (once per message, shared by all of them).',
      registers,
      () => PreparedMessage.compressions,
    );
    monotonic(
      'herald_connections_refused_total',
      'Connections refused before the upgrade by a connection limit (503/429).',
      registers,
      source.limitRejections,
    );
    monotonic('herald_publications_total', 'Publications routed by this node.', registers, () => source.hubCounters().publications);
    if (source.transports !== undefined) transportMetrics(source.transports.bind(source), registers);
    this.connectionsTotal = new Counter({ name: 'herald_connections_total', help: 'WebSocket connections opened.', registers });
    this.pushesTotal = new Counter({
      name: 'herald_pushes_total',
      help: 'Push requests received, by API and result.',
      labelNames: ['api', 'result'],
      registers,
    });
    this.authFailuresTotal = new Counter({ name: 'herald_auth_failures_total', help: 'Failed logins, by reason.', labelNames: ['reason'], registers });
    this.badRequestsTotal = new Counter({ name: 'herald_bad_requests_total', help: 'Client commands answered 30001.', registers });
    gpushMetrics(source, this.connectionsTotal, registers);
    this.subscriptionsRefusedTotal = new Counter({
      name: 'herald_subscriptions_refused_total',
      help: 'Subscribes answered 30005, by limit: connection (per connection), node_topics (--max-topics), node_subscriptions (--max-subscriptions), namespace_full (a namespace\'s maxSubscribers).',
      labelNames: ['reason'],
      registers,
    });
  }

  async render(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}

function gauge(name: string, help: string, registers: Registry[], read: () => number): void {
  new Gauge({
    name,
    help,
    registers,
    collect() {
      this.set(read());
    },
  });
}

/** A counter mirroring a running total kept elsewhere. */
function monotonic(name: string, help: string, registers: Registry[], read: () => number): void {
  let reported = 0;
  new Counter({
    name,
    help,
    registers,
    collect() {
      const value = read();
      if (value > reported) this.inc(value - reported);
      reported = value;
    },
  });
}

/**
 * gpush's four metric names, with the same meaning, so a gpush dashboard keeps
 * working (PROTOCOL.md, Differences from gpush); Herald's own names carry more.
 */
function gpushMetrics(source: MetricsSource, connectionsTotal: Counter, registers: Registry[]): void {
  gauge('websocket_current_connections', 'Current number of WebSocket connections (gpush name; herald_connections).', registers, source.connections);
  let reported = 0;
  new Counter({
    name: 'websocket_total_connections',
    help: 'Total number of WebSocket connections since startup (gpush name; herald_connections_total).',
    registers,
    async collect() {
      const value = (await connectionsTotal.get()).values[0]?.value ?? 0;
      if (value > reported) this.inc(value - reported);
      reported = value;
    },
  });
  monotonic('websocket_bytes_sent_total', 'Total number of bytes sent via WebSocket (gpush name; herald_bytes_sent_total).', registers, () => source.hubCounters().deliveredBytes);
  monotonic('websocket_messages_sent_total', 'Total number of messages sent via WebSocket (gpush name; herald_messages_sent_total).', registers, () => source.hubCounters().deliveries);
}

/**
 * `herald_transport_*{transport}`: the connection and delivery figures split
 * by transport (`websocket`, `sse`, `stream`), read at scrape time.
 */
function transportMetrics(read: () => Readonly<Record<Transport, TransportTotals>>, registers: Registry[]): void {
  new Gauge({
    name: 'herald_transport_connections',
    help: 'Connections currently open, by transport (websocket, sse, stream).',
    labelNames: ['transport'],
    registers,
    collect() {
      const totals = read();
      for (const transport of TRANSPORTS) this.set({ transport }, totals[transport].open);
    },
  });
  const counters: [string, string, keyof TransportTotals][] = [
    ['herald_transport_connections_total', 'Connections opened, by transport.', 'opened'],
    ['herald_transport_messages_total', 'Messages queued to connections by pushes, by transport.', 'messages'],
    ['herald_transport_bytes_total', 'Bytes queued to connections by pushes, by transport (as written: frames, SSE events, NDJSON lines).', 'bytes'],
  ];
  for (const [name, help, field] of counters) {
    const reported: Record<Transport, number> = { websocket: 0, sse: 0, stream: 0 };
    new Counter({
      name,
      help,
      labelNames: ['transport'],
      registers,
      collect() {
        const totals = read();
        for (const transport of TRANSPORTS) {
          const value = totals[transport][field];
          if (value > reported[transport]) this.inc({ transport }, value - reported[transport]);
          else if (reported[transport] === 0) this.inc({ transport }, 0);
          reported[transport] = Math.max(reported[transport], value);
        }
      },
    });
  }
}
