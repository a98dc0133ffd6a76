import type { Logger } from 'pino';
import { Counter, type Registry } from 'prom-client';
import type { WebhooksEvents } from './webhooks.js';

/**
 * The webhook counters (labelled by URL: a short list from the config file)
 * and log lines: a failed request at warn on its first attempt and every
 * tenth after (backoff makes them rare), a drop burst once at its start and
 * once at its end with its size.
 */
export function webhookMetrics(registry: Registry, logger: Logger): WebhooksEvents {
  const registers = [registry];
  const delivered = new Counter({ name: 'herald_webhook_events_delivered_total', help: 'Webhook events a receiver acknowledged (2xx), by URL.', labelNames: ['url'], registers });
  const failed = new Counter({ name: 'herald_webhook_requests_failed_total', help: 'Webhook requests that failed (status, timeout, connection) and are retried, by URL.', labelNames: ['url'], registers });
  const dropped = new Counter({ name: 'herald_webhook_events_dropped_total', help: 'Webhook events dropped (queue full, or left at shutdown), by URL.', labelNames: ['url'], registers });
  return {
    onDelivered: (url, count) => delivered.inc({ url }, count),
    onRequestFailed(url, reason, attempt) {
      failed.inc({ url });
      if (attempt === 1 || attempt % 10 === 0) logger.warn({ url, reason, attempt }, 'webhook request failed; retrying with backoff');
    },
    onDropped: (url, count) => dropped.inc({ url }, count),
    onDropBurst(url, state, count) {
      if (state === 'started') logger.warn({ url }, 'webhook queue full: dropping new events until it drains');
      else logger.warn({ url, dropped: count }, 'webhook queue: events were dropped while it was full');
    },
  };
}
