/**
 * Option table rows: webhooks (the `webhooks` key and the dispatchers'
 * batching, retry and bound settings), and the validation of the key's JSON
 * value. Assembled, in `--help` order, by `option-definitions.ts` (see its header).
 */
import type { OptionDefinition } from './option-types.js';

/** Every webhook event type, in the order the docs list them. */
export const WEBHOOK_EVENT_TYPES = ['connect', 'disconnect', 'subscribe', 'unsubscribe', 'channel_occupied', 'channel_vacated'] as const;

export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];

/** One entry of the `webhooks` config key, validated. */
export interface WebhookTarget {
  readonly url: string;
  readonly secret: string;
  /** The event types this URL receives. */
  readonly events: ReadonlySet<WebhookEventType>;
}

/** Thrown by {@link parseWebhookTargets}; `path` names the bad field, e.g. `webhooks[0].url`. */
export class WebhookConfigError extends Error {
  constructor(
    readonly path: string,
    problem: string,
  ) {
    super(`${path}: ${problem}`);
    this.name = 'WebhookConfigError';
  }
}

const FIELDS = new Set(['url', 'secret', 'events']);

/**
 * Validate the JSON value of the `webhooks` key: an array of
 * `{url, secret, events?}` (url http/https, secret a non-empty string, events
 * a non-empty subset of {@link WEBHOOK_EVENT_TYPES}, default all). Unknown
 * fields are refused so a typo (`"secrets"`) is not silently ignored.
 */
export function parseWebhookTargets(value: unknown, key = 'webhooks'): WebhookTarget[] {
  if (!Array.isArray(value)) throw new WebhookConfigError(key, 'must be an array of {"url", "secret", "events"?}');
  return value.map((entry: unknown, index) => parseTarget(entry, `${key}[${index}]`));
}

function parseTarget(entry: unknown, path: string): WebhookTarget {
  if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) {
    throw new WebhookConfigError(path, 'must be an object {"url", "secret", "events"?}');
  }
  const fields = entry as Record<string, unknown>;
  for (const name of Object.keys(fields)) {
    if (!FIELDS.has(name)) throw new WebhookConfigError(`${path}.${name}`, 'unknown field (expected url, secret, events)');
  }
  const { url, secret, events } = fields;
  if (typeof url !== 'string') throw new WebhookConfigError(`${path}.url`, 'must be a string (an http:// or https:// URL)');
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new WebhookConfigError(`${path}.url`, `not a URL: ${JSON.stringify(url)}`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new WebhookConfigError(`${path}.url`, `must be http:// or https://, got ${JSON.stringify(parsed.protocol)}`);
  }
  if (typeof secret !== 'string' || secret.length === 0) throw new WebhookConfigError(`${path}.secret`, 'must be a non-empty string');
  return { url, secret, events: parseEvents(events, `${path}.events`) };
}

function parseEvents(value: unknown, path: string): ReadonlySet<WebhookEventType> {
  if (value === undefined) return new Set(WEBHOOK_EVENT_TYPES);
  if (!Array.isArray(value) || value.length === 0) {
    throw new WebhookConfigError(path, `must be a non-empty array of ${WEBHOOK_EVENT_TYPES.join(', ')}`);
  }
  const events = new Set<WebhookEventType>();
  value.forEach((type: unknown, index) => {
    if (typeof type !== 'string' || !(WEBHOOK_EVENT_TYPES as readonly string[]).includes(type)) {
      throw new WebhookConfigError(`${path}[${index}]`, `unknown event ${JSON.stringify(type)} (expected one of ${WEBHOOK_EVENT_TYPES.join(', ')})`);
    }
    events.add(type as WebhookEventType);
  });
  return events;
}

export const WEBHOOK_OPTIONS = [
  // Webhooks
  {
    scope: 'node',
    key: 'webhooks', flag: '--webhooks', env: 'HERALD_WEBHOOKS', type: 'json', secret: true, placeholder: 'json',
    // `null` is "none", as for `namespaces`: a config template may write the key with no value.
    parse: (json: unknown): readonly WebhookTarget[] => (json === null ? [] : parseWebhookTargets(json)),
    description: 'URLs told of connects, disconnects, subscribes, unsubscribes and channels occupied/vacated, '
      + 'usually in the config file: [{"url": "https://…", "secret": "…", "events"?: ["connect", …]}]; null: none. '
      + 'Batches are POSTed as {"events": […]} signed in X-Herald-Signature (PROTOCOL.md, Webhooks).',
  },
  {
    scope: 'node',
    key: 'webhookBatchSize', flag: '--webhook-batch-size', env: 'HERALD_WEBHOOK_BATCH_SIZE', type: 'int', default: 100,
    min: 1, max: 10_000, description: 'Most events in one webhook request.',
  },
  {
    scope: 'node',
    key: 'webhookBatchWaitMs', flag: '--webhook-batch-wait', env: 'HERALD_WEBHOOK_BATCH_WAIT', type: 'duration',
    default: 100, min: 0, description: 'How long a webhook event waits for its batch to fill before it is sent anyway.',
  },
  {
    scope: 'node',
    key: 'webhookMaxQueuedEvents', flag: '--webhook-max-queued-events', env: 'HERALD_WEBHOOK_MAX_QUEUED_EVENTS',
    type: 'int', default: 100_000, min: 1,
    description: 'Events held per webhook URL while it is slow or down; beyond, new events are dropped, counted in '
      + 'herald_webhook_events_dropped_total and logged.',
  },
  {
    scope: 'node',
    key: 'webhookTimeoutMs', flag: '--webhook-timeout', env: 'HERALD_WEBHOOK_TIMEOUT', type: 'duration', default: 5_000,
    min: 1, description: 'Time a webhook request has for its answer before it counts as failed and is retried.',
  },
  {
    scope: 'node',
    key: 'webhookRetryMinMs', flag: '--webhook-retry-min', env: 'HERALD_WEBHOOK_RETRY_MIN', type: 'duration',
    default: 500, min: 1, description: 'First delay before a failed webhook batch is sent again; doubled per failure.',
  },
  {
    scope: 'node',
    key: 'webhookRetryMaxMs', flag: '--webhook-retry-max', env: 'HERALD_WEBHOOK_RETRY_MAX', type: 'duration',
    default: 30_000, min: 1, description: 'Longest delay between two attempts of a webhook batch.',
  },
] as const satisfies readonly OptionDefinition[];
