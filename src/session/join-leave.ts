import type { JoinLeaveEvent } from '../control/control-plane.js';
import type { WebSocketConnection } from '../gateway/connection.js';
import { HubClient, topicSetAdd, topicSetDelete, topicSetHas, topicSetValues, type TopicSet } from '../hub/hub-client.js';
import { OpCode } from '../protocol/constants.js';
import { encodeFrame } from '../protocol/frame-encoder.js';

/** A connection as join/leave watching sees it (the session's `SessionClient`). */
export interface JoinLeaveClient extends HubClient {
  readonly conn: WebSocketConnection;
  /** Topics whose join/leave events this connection asked for (herald.v1 `"joinLeave": true`); null when none. */
  joinLeaveTopics: TopicSet;
}

/**
 * Which local connections asked for join/leave events of which topic
 * (herald.v1 subscribe with `"joinLeave": true`), and their delivery.
 *
 * The node is told only of the first and last watcher of a topic
 * (`onWatch(topic, true|false)`), so the control plane routes a topic's
 * events to a node once, however many of its connections watch. A watch
 * lasts while the connection holds a subscription (public or private) to the
 * topic: an unsubscribe, a logout or an expired login that drops the last one,
 * and a close, end it. A connection that never asked carries nothing (its
 * `joinLeaveTopics` stays null), and gpush-protocol connections never watch.
 */
export class JoinLeaveWatchers {
  private readonly byTopic = new Map<string, Set<JoinLeaveClient>>();

  constructor(private readonly onWatch: ((topic: string, watching: boolean) => void) | undefined) {}

  /** Local connections watching `topic`. */
  count(topic: string): number {
    return this.byTopic.get(topic)?.size ?? 0;
  }

  /** `client` wants `topic`'s join/leave events (herald.v1 only: gpush has no envelope for them). */
  watch(client: JoinLeaveClient, topic: string): void {
    if (client.conn.protocol === undefined || topicSetHas(client.joinLeaveTopics, topic)) return;
    client.joinLeaveTopics = topicSetAdd(client.joinLeaveTopics, topic);
    let watchers = this.byTopic.get(topic);
    if (watchers === undefined) {
      watchers = new Set();
      this.byTopic.set(topic, watchers);
    }
    watchers.add(client);
    if (watchers.size === 1) this.onWatch?.(topic, true);
  }

  /** `client` no longer watches `topic`. */
  unwatch(client: JoinLeaveClient, topic: string): void {
    if (!topicSetHas(client.joinLeaveTopics, topic)) return;
    client.joinLeaveTopics = topicSetDelete(client.joinLeaveTopics, topic);
    const watchers = this.byTopic.get(topic);
    if (watchers === undefined || !watchers.delete(client) || watchers.size > 0) return;
    this.byTopic.delete(topic);
    this.onWatch?.(topic, false);
  }

  /**
   * End the watches of topics `client` no longer holds a subscription to
   * (after an unsubscribe, a logout, an expiry); `only` limits the check to one topic.
   */
  prune(client: JoinLeaveClient, only?: string): void {
    if (client.joinLeaveTopics === null) return;
    const topics = only === undefined ? [...topicSetValues(client.joinLeaveTopics)] : [only];
    for (const topic of topics) {
      const held = topicSetHas(client.publicTopics, topic) || (client.uid !== null && topicSetHas(client.privateTopics, topic));
      if (!held) this.unwatch(client, topic);
    }
  }

  /** The connection closed: end every watch it had. */
  unwatchAll(client: JoinLeaveClient): void {
    if (client.joinLeaveTopics === null) return;
    for (const topic of [...topicSetValues(client.joinLeaveTopics)]) this.unwatch(client, topic);
  }

  /**
   * Send `event` to every local connection watching its topic: the envelope
   * is framed once and the same buffer queued on each. Returns how many.
   */
  deliver(event: JoinLeaveEvent): number {
    const watchers = this.byTopic.get(event.topic);
    if (watchers === undefined) return 0;
    const frame = joinLeaveFrame(event);
    let sent = 0;
    for (const client of watchers) if (client.conn.sendFrame(frame) !== 'dropped') sent++;
    return sent;
  }
}

/**
 * The herald.v1 join/leave envelope (PROTOCOL.md): no `code` (it is no
 * reply) and no `seq` (it belongs to no stream and is not resumed).
 */
export function joinLeaveEnvelope(event: JoinLeaveEvent): string {
  const { client, uid, node, connectedAt } = event.entry;
  return JSON.stringify({ type: event.kind, topic: event.topic, client, uid, node, connectedAt });
}

export function joinLeaveFrame(event: JoinLeaveEvent): Buffer {
  return encodeFrame(OpCode.Text, joinLeaveEnvelope(event));
}
