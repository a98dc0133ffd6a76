import type { ChannelCount, ControlCommand, ControlHandler, ControlPlane, JoinLeaveEvent, NodeInfo, PresenceEntry } from './control/control-plane.js';
import { matchGlob } from './util/glob.js';
import type { Hub, MembershipListener } from './hub/hub.js';
import { topicSetValues, type HubClient } from './hub/hub-client.js';
import type { GpushSession, SessionClient } from './session/gpush-session.js';

/** What {@link NodeControl} reads of its node. */
export interface NodeControlOptions {
  hub: () => Hub;
  session: () => GpushSession;
  controlPlane: ControlPlane;
  /** Report memberships to the control plane's presence (`--presence`). */
  presence: boolean;
  /** Publish join/leave events of every membership change (`--join-leave`). */
  joinLeave: boolean;
  /** False for a topic whose namespace says `"joinLeave": false`: nobody may watch it, so nothing is published. */
  joinLeaveAllowed?(topic: string): boolean;
  /** This node's figures for `info` (everything but the id). */
  info(): Omit<NodeInfo, 'id'>;
}

/**
 * The node's side of the control plane: it turns the hub's membership changes
 * into presence (and join/leave events), and applies the commands the control
 * plane brings to this node's connections (a {@link ControlHandler}).
 *
 * Members per topic (connections subscribed to it publicly, privately or
 * both) are counted here for `channels`: the hub indexes private
 * subscriptions per user, not per topic.
 */
export class NodeControl implements ControlHandler, MembershipListener {
  private readonly options: NodeControlOptions;
  private readonly members = new Map<string, number>();

  constructor(options: NodeControlOptions) {
    this.options = options;
  }

  /** Topics with at least one member on this node. */
  get topicCount(): number {
    return this.members.size;
  }

  /** Connections of this node subscribed to `topic`, publicly, privately or both (a namespace's maxSubscribers). */
  memberCount(topic: string): number {
    return this.members.get(topic) ?? 0;
  }

  /** Topics with at least one member on this node. */
  memberTopics(): Iterable<string> {
    return this.members.keys();
  }

  onJoin(client: HubClient, topic: string): void {
    this.members.set(topic, (this.members.get(topic) ?? 0) + 1);
    const { presence, joinLeave } = this.options;
    if (!presence && !joinLeave) return;
    const entry = this.entryOf(client as SessionClient, client.uid);
    if (presence) this.options.controlPlane.presenceAdd(topic, entry);
    if (joinLeave && this.options.joinLeaveAllowed?.(topic) !== false) {
      this.options.controlPlane.publishJoinLeave({ kind: 'join', topic, entry });
    }
  }

  onLeave(client: HubClient, topic: string): void {
    const count = (this.members.get(topic) ?? 0) - 1;
    if (count > 0) this.members.set(topic, count);
    else this.members.delete(topic);
    const { presence, joinLeave } = this.options;
    if (!presence && !joinLeave) return;
    const entry = this.entryOf(client as SessionClient, client.uid);
    if (presence) this.options.controlPlane.presenceRemove(topic, entry);
    if (joinLeave && this.options.joinLeaveAllowed?.(topic) !== false) {
      this.options.controlPlane.publishJoinLeave({ kind: 'leave', topic, entry });
    }
  }

  /** A login or logout keeps the public topics: their presence entries now name the new user (or none). */
  onIdentity(client: HubClient, previous: string | null): void {
    if (!this.options.presence) return;
    const plane = this.options.controlPlane;
    for (const topic of topicSetValues(client.publicTopics)) {
      plane.presenceRemove(topic, this.entryOf(client as SessionClient, previous));
      plane.presenceAdd(topic, this.entryOf(client as SessionClient, client.uid));
    }
  }

  apply(command: ControlCommand): number {
    // A copy: closing or unsubscribing may change the set being walked.
    const clients = [...this.options.hub().clientsOf(command.uid)] as SessionClient[];
    const session = this.options.session();
    let affected = 0;
    for (const client of clients) {
      switch (command.op) {
        case 'disconnect':
          if (command.client !== undefined && client.clientId !== command.client) continue;
          if (!client.conn.isOpen) continue;
          client.conn.close(command.code, command.reason);
          affected++;
          break;
        case 'subscribe':
          if (session.serverSubscribe(client, command.topic, command.private)) affected++;
          break;
        case 'unsubscribe':
          if (session.serverUnsubscribe(client, command.topic, command.private)) affected++;
          break;
      }
    }
    return affected;
  }

  localInfo(): NodeInfo {
    return { id: this.options.controlPlane.nodeId, ...this.options.info() };
  }

  /**
   * One walk over this node's topics keeping the `limit` smallest that match
   * and sort after `after` in a bounded max-heap: O(topics × log limit) per
   * page, and memory for `limit` topics only, however many match.
   */
  localChannels(pattern: string | undefined, after: string | undefined, limit: number): ChannelCount[] {
    if (!(limit >= 1)) return [];
    const heap: string[] = [];
    for (const topic of this.members.keys()) {
      if (after !== undefined && topic <= after) continue;
      if (heap.length === limit && compareCodeUnits(topic, heap[0]) >= 0) continue;
      if (pattern !== undefined && !matchGlob(pattern, topic)) continue;
      if (heap.length < limit) heapPush(heap, topic);
      else heapReplaceTop(heap, topic);
    }
    const page = heap.sort(compareCodeUnits);
    return page.map((topic) => ({ topic, subscribers: this.members.get(topic) as number }));
  }

  onJoinLeave(event: JoinLeaveEvent): void {
    // Join/leave envelopes for the herald.v1 subscribers that asked for them.
    this.options.session().deliverJoinLeave(event);
  }

  private entryOf(client: SessionClient, uid: string | null): PresenceEntry {
    return { client: client.clientId, uid: uid ?? '', node: this.options.controlPlane.nodeId, connectedAt: client.connectedAt };
  }
}

/** Ascending by UTF-16 code units, the order `<` uses for the cursor. */
function compareCodeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Max-heap of topics (largest at 0) in UTF-16 code-unit order. */
function heapPush(heap: string[], topic: string): void {
  let i = heap.push(topic) - 1;
  while (i > 0) {
    const parent = (i - 1) >> 1;
    if (compareCodeUnits(heap[parent], heap[i]) >= 0) break;
    [heap[parent], heap[i]] = [heap[i], heap[parent]];
    i = parent;
  }
}

/** Replace the largest topic with `topic` and restore the heap. */
function heapReplaceTop(heap: string[], topic: string): void {
  heap[0] = topic;
  let i = 0;
  for (;;) {
    const left = 2 * i + 1;
    const right = left + 1;
    let largest = i;
    if (left < heap.length && compareCodeUnits(heap[left], heap[largest]) > 0) largest = left;
    if (right < heap.length && compareCodeUnits(heap[right], heap[largest]) > 0) largest = right;
    if (largest === i) return;
    [heap[largest], heap[i]] = [heap[i], heap[largest]];
    i = largest;
  }
}
