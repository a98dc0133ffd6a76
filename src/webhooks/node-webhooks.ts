import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { HubClient } from '../hub/hub-client.js';
import type { MembershipListener } from '../hub/hub.js';
import type { WebhookTarget } from './events.js';
import { RedisOccupancy } from './redis-occupancy.js';
import { webhookMetrics } from './webhook-metrics.js';
import { Webhooks, type NodeMembers } from './webhooks.js';

/** The webhook settings of a `HeraldNode` (HeraldNodeOptions extends this); the CLI options of the same names. */
export interface NodeWebhookOptions {
  /** Webhook URLs (`webhooks` config key); none or empty → no webhook events are built. */
  webhooks?: readonly WebhookTarget[];
  webhookBatchSize?: number;
  webhookBatchWaitMs?: number;
  webhookMaxQueuedEvents?: number;
  webhookTimeoutMs?: number;
  webhookRetryMinMs?: number;
  webhookRetryMaxMs?: number;
  /**
   * Redis engine: channel_occupied/vacated cluster-wide through this Redis
   * (main.ts sets it from --redis-url, --redis-prefix, --presence-ttl); unset:
   * this node's own counts.
   */
  webhookRedis?: { url: string; clusterUrls?: string[]; prefix: string; ttlMs: number };
  /** False: no channel events (memory-engine workers: one worker's counts are not the group's); default true. */
  webhookChannelEvents?: boolean;
}

/** Whether `options` lists any webhook URL. */
export function hasWebhooks(options: NodeWebhookOptions): boolean {
  return options.webhooks !== undefined && options.webhooks.length > 0;
}

/** The node's {@link Webhooks} (counters on `registry`, lines on `logger`), or undefined without URLs. */
export function createNodeWebhooks(
  options: NodeWebhookOptions,
  nodeId: string,
  members: NodeMembers,
  registry: Registry,
  logger: Logger,
): Webhooks | undefined {
  if (!hasWebhooks(options)) return undefined;
  const redis = options.webhookRedis;
  return new Webhooks({
    targets: options.webhooks as readonly WebhookTarget[],
    nodeId,
    members,
    batchSize: options.webhookBatchSize,
    batchWaitMs: options.webhookBatchWaitMs,
    maxQueuedEvents: options.webhookMaxQueuedEvents,
    timeoutMs: options.webhookTimeoutMs,
    retryMinMs: options.webhookRetryMinMs,
    retryMaxMs: options.webhookRetryMaxMs,
    channelEvents: options.webhookChannelEvents,
    occupancy:
      redis === undefined
        ? undefined
        : new RedisOccupancy({
            ...redis,
            nodeId,
            onError: throttled((error) => logger.warn({ err: error.message }, 'webhooks: channel occupancy on redis failed; resynced when it answers')),
          }),
    events: webhookMetrics(registry, logger),
  });
}

/**
 * The hub's membership changes to `first` (the node's control plane side)
 * and then to the webhooks, which are reached through a getter because the
 * hub is built before them. `clientIdOf` spells a client's id.
 */
export function withWebhooks(first: MembershipListener, webhooks: () => Webhooks, clientIdOf: (client: HubClient) => string): MembershipListener {
  return {
    onJoin(client, topic, isPrivate) {
      first.onJoin(client, topic, isPrivate);
      webhooks().subscribed(clientIdOf(client), client.uid, topic, isPrivate);
    },
    onLeave(client, topic, isPrivate) {
      first.onLeave(client, topic, isPrivate);
      webhooks().unsubscribed(clientIdOf(client), client.uid, topic, isPrivate);
    },
    onIdentity(client, previous) {
      first.onIdentity?.(client, previous);
    },
  };
}

/** At most one call per 10 s (a down Redis fails every attempt). */
function throttled(log: (error: Error) => void): (error: Error) => void {
  let last = 0;
  return (error) => {
    const now = Date.now();
    if (now - last < 10_000) return;
    last = now;
    log(error);
  };
}
