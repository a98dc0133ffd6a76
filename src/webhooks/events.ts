/** What a webhook receives. Plain data, no I/O. */

import type { WebhookEventType } from '../config/webhook-options.js';

// The vocabulary and the `webhooks` key's validation live with the option (the config layer imports nothing).
export { WEBHOOK_EVENT_TYPES, WebhookConfigError, parseWebhookTargets, type WebhookEventType, type WebhookTarget } from '../config/webhook-options.js';

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

