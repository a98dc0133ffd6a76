/**
 * What a webhook receives: the event vocabulary and the validated shape of
 * the `webhooks` config key. Plain data, no I/O.
 */

/** Every event type, in the order the docs list them. */
export const WEBHOOK_EVENT_TYPES = ['connect', 'disconnect', 'subscribe', 'unsubscribe', 'channel_occupied', 'channel_vacated'] as const;

export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];

/**
 * One event as it is serialized into a batch. `uid` is null for an anonymous
 * connection; `client` is null for a channel event no connection caused here
 * (a dead node's topics vacated after its TTL). `topic` only on
 * subscription and channel events, `private` only on subscribe/unsubscribe.
 */
export interface WebhookEvent {
  readonly type: WebhookEventType;
  /** Epoch milliseconds when this node saw it. */
  readonly time: number;
  /** Id of the node that emitted it. */
  readonly node: string;
  readonly uid: string | null;
  readonly client: string | null;
  readonly topic?: string;
  readonly private?: boolean;
}

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
