import { WebhookDispatcher, type DispatcherSettings } from './dispatcher.js';
import type { WebhookEvent, WebhookEventType, WebhookTarget } from './events.js';

/** Who caused a channel event on this node; null when no local connection did (a dead node's topics expired). */
export interface EventCause {
  readonly uid: string | null;
  readonly client: string;
}

/**
 * Cluster-wide occupancy (the Redis engine): told of this node's local
 * transitions, it reports the cluster's — `report` is called once per
 * cluster transition, on the one node whose change caused it (or that
 * noticed a dead node's topics expire).
 */
export interface ClusterOccupancy {
  start(report: (type: 'channel_occupied' | 'channel_vacated', topic: string, cause: EventCause | null) => void, localTopics: () => Iterable<string>): Promise<void>;
  /** This node's first member of `topic` arrived. */
  occupy(topic: string, cause: EventCause): void;
  /** This node's last member of `topic` left. */
  vacate(topic: string, cause: EventCause): void;
  /** Send what is pending, release this node's topics (reporting the vacated ones), disconnect. */
  close(): Promise<void>;
}

/** Members per topic on this node. */
export interface NodeMembers {
  memberCount(topic: string): number;
  memberTopics(): Iterable<string>;
}

/** What {@link Webhooks} reports per URL, for metrics and logs. */
export interface WebhooksEvents {
  onDelivered?(url: string, count: number): void;
  onRequestFailed?(url: string, reason: string, attempt: number): void;
  onDropped?(url: string, count: number): void;
  onDropBurst?(url: string, state: 'started' | 'ended', dropped: number): void;
}

export interface WebhooksOptions extends DispatcherSettings {
  targets: readonly WebhookTarget[];
  nodeId: string;
  /** Emit channel_occupied/vacated; default true (false under --workers with the memory engine). */
  channelEvents?: boolean;
  /** Cluster-wide occupancy; absent: this node's counts are the cluster's (one node). */
  occupancy?: ClusterOccupancy;
  /**
   * The node's members per topic (connections subscribed, publicly or privately), already
   * counting the change when `subscribed`/`unsubscribed` is called: the node keeps these counts
   * anyway (NodeControl), so they are read here, not kept twice.
   */
  members: NodeMembers;
  events?: WebhooksEvents;
}

/**
 * The node's webhook events: it is told of connections opening and closing
 * and of memberships (the hub's first/last subscription of a connection to a
 * topic, as presence is), builds the events the configured URLs want and
 * queues each on their dispatchers. Everything here is synchronous and
 * allocation-light: an event nobody wants is not even built.
 *
 * Occupancy: from the node's members per topic, a topic's 0→1 and 1→0 on
 * this node are channel_occupied / channel_vacated when this node is the
 * cluster, else they go to the {@link ClusterOccupancy}, which reports the
 * cluster's transitions.
 */
export class Webhooks {
  private readonly nodeId: string;
  private readonly sinks: { dispatcher: WebhookDispatcher; wants: ReadonlySet<WebhookEventType> }[];
  private readonly wanted: ReadonlySet<WebhookEventType>;
  private readonly countMembers: boolean;
  private readonly occupancy: ClusterOccupancy | undefined;
  private readonly members: NodeMembers;

  constructor(options: WebhooksOptions) {
    this.nodeId = options.nodeId;
    this.members = options.members;
    const events = options.events ?? {};
    this.sinks = options.targets.map((target) => {
      // What metrics and logs name: no credentials or query string (they may hold secrets).
      const url = urlLabel(target.url);
      const dispatcher = new WebhookDispatcher({
        ...options,
        url: target.url,
        secret: target.secret,
        events: {
          onDelivered: (count) => events.onDelivered?.(url, count),
          onRequestFailed: (reason, attempt) => events.onRequestFailed?.(url, reason, attempt),
          onDropped: (count) => events.onDropped?.(url, count),
          onDropBurst: (state, dropped) => events.onDropBurst?.(url, state, dropped),
        },
      });
      return { dispatcher, wants: target.events };
    });
    const wanted = new Set<WebhookEventType>();
    for (const target of options.targets) for (const type of target.events) wanted.add(type);
    if (options.channelEvents === false) {
      wanted.delete('channel_occupied');
      wanted.delete('channel_vacated');
    }
    this.wanted = wanted;
    this.countMembers = wanted.has('channel_occupied') || wanted.has('channel_vacated');
    this.occupancy = this.countMembers ? options.occupancy : undefined;
  }


  async start(): Promise<void> {
    await this.occupancy?.start(
      (type, topic, cause) => this.emit(type, cause?.uid ?? null, cause?.client ?? null, topic),
      () => this.members.memberTopics(),
    );
  }

  connected(client: string, uid: string | null): void {
    if (this.wanted.has('connect')) this.emit('connect', uid, client);
  }

  disconnected(client: string, uid: string | null): void {
    if (this.wanted.has('disconnect')) this.emit('disconnect', uid, client);
  }

  subscribed(client: string, uid: string | null, topic: string, isPrivate: boolean): void {
    if (this.wanted.has('subscribe')) this.emit('subscribe', uid, client, topic, isPrivate);
    if (!this.countMembers || this.members.memberCount(topic) !== 1) return;
    if (this.occupancy !== undefined) this.occupancy.occupy(topic, { uid, client });
    else if (this.wanted.has('channel_occupied')) this.emit('channel_occupied', uid, client, topic);
  }

  unsubscribed(client: string, uid: string | null, topic: string, isPrivate: boolean): void {
    if (this.wanted.has('unsubscribe')) this.emit('unsubscribe', uid, client, topic, isPrivate);
    if (!this.countMembers || this.members.memberCount(topic) !== 0) return;
    if (this.occupancy !== undefined) this.occupancy.vacate(topic, { uid, client });
    else if (this.wanted.has('channel_vacated')) this.emit('channel_vacated', uid, client, topic);
  }

  /**
   * After the node's clients are gone: release the cluster occupancy (its
   * last vacated events included), then give every URL up to `boundMs` to
   * take what is queued; the rest is dropped and counted.
   */
  async close(boundMs: number): Promise<void> {
    const started = Date.now();
    await this.occupancy?.close().catch(() => undefined);
    const left = Math.max(0, boundMs - (Date.now() - started));
    await Promise.all(this.sinks.map((sink) => sink.dispatcher.close(left)));
  }

  private emit(type: WebhookEventType, uid: string | null, client: string | null, topic?: string, isPrivate?: boolean): void {
    const event: WebhookEvent =
      topic === undefined
        ? { type, time: Date.now(), node: this.nodeId, uid, client }
        : isPrivate === undefined
          ? { type, time: Date.now(), node: this.nodeId, uid, client, topic }
          : { type, time: Date.now(), node: this.nodeId, uid, client, topic, private: isPrivate };
    // One object shared by every URL that wants it (it is never changed after this).
    for (const sink of this.sinks) if (sink.wants.has(type)) sink.dispatcher.enqueue(event);
  }
}

/** `url` as metrics and logs show it: scheme, host, port and path only. */
export function urlLabel(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.origin}${parsed.pathname}`;
  } catch {
    return '(invalid url)';
  }
}
