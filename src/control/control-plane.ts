/**
 * The control plane: what a backend asks of the whole cluster besides
 * publishing — who is online (presence), closing a user's connections,
 * subscribing or unsubscribing them from the server side, which topics are
 * held, which nodes are alive — and the join/leave events of topics.
 *
 * One `ControlPlane` per node, beside the engine (the hub never sees it): the
 * composition root (`node.ts`) reports presence changes to it and applies the
 * commands it receives through a {@link ControlHandler}. Implementations:
 * `MemoryControlPlane` (one process: everything local) and
 * `RedisControlPlane` (every node of one Redis prefix). The shared suite
 * `test/control/control-plane-suite.ts` runs against each.
 *
 * Guarantees every implementation keeps:
 * - `command` reaches every live node (this one included) and resolves with
 *   the sum of the connections each affected; a node that does not answer
 *   within the timeout is left out of the sum, never waited for forever.
 * - Presence lists a connection from the moment `presenceAdd` was called for
 *   it until `presenceRemove`, or until its node stops refreshing it (dies):
 *   then within `presenceTtlMs`.
 * - `presenceStats` costs O(1) in the topic's size (no scan of its members).
 * - Replies are bounded: `channels` pages with a cursor, `presence` returns at
 *   most `limit` entries.
 */

/** One connection subscribed to a topic, as presence lists it. */
export interface PresenceEntry {
  /** The connection's id, unique in the cluster (node id + local counter). */
  client: string;
  /** The logged-in user, or '' for an anonymous connection. */
  uid: string;
  /** The id of the node holding the connection. */
  node: string;
  /** When the connection opened (ms since the epoch); the same for each of its topics. */
  connectedAt: number;
}

export interface PresenceStats {
  /** Connections subscribed to the topic. */
  clients: number;
  /** Distinct logged-in users among them (anonymous connections are not users). */
  users: number;
}

/** A live node, as `/v1/info` lists it. */
export interface NodeInfo {
  id: string;
  /** Where its WebSocket listener is reachable (host:port as configured). */
  address: string;
  connections: number;
  subscriptions: number;
  uptimeMs: number;
  version: string;
}

/**
 * A topic with at least one subscriber somewhere, and how many: connections
 * subscribed to it publicly or privately (one holding both counts once, as in
 * presence).
 */
export interface ChannelCount {
  topic: string;
  subscribers: number;
}

/** A command applied on every node (each reports how many of its connections it affected). */
export type ControlCommand =
  /** Close every connection of `uid` (or only connection `client`) with `code` and `reason`. */
  | { op: 'disconnect'; uid: string; client?: string; code: number; reason: string }
  /** Subscribe every connection of `uid` to `topic` (its private topic when `private`). */
  | { op: 'subscribe'; uid: string; topic: string; private: boolean }
  /** Unsubscribe every connection of `uid` from `topic`. */
  | { op: 'unsubscribe'; uid: string; topic: string; private: boolean };

/** A join or leave of a topic, delivered to the subscribers of that topic who asked for them. */
export interface JoinLeaveEvent {
  kind: 'join' | 'leave';
  topic: string;
  entry: PresenceEntry;
}

/** What a node does locally when the control plane asks it (implemented by node.ts). */
export interface ControlHandler {
  /** Apply `command` to this node's connections; returns how many it affected. */
  apply(command: ControlCommand): number;
  /** This node's own figures for `info`. */
  localInfo(): NodeInfo;
  /**
   * This node's topics matching `pattern` (a glob with `*`; undefined: all)
   * that sort after `after`, in ascending order, at most `limit` of them,
   * with this node's subscriber counts.
   */
  localChannels(pattern: string | undefined, after: string | undefined, limit: number): ChannelCount[];
  /** A join/leave event of a topic this node asked for with `watchJoinLeave`. */
  onJoinLeave(event: JoinLeaveEvent): void;
}

export interface ControlPlane {
  /** This node's id (unique in the cluster; part of every client id it hands out). */
  readonly nodeId: string;
  start(handler: ControlHandler): Promise<void>;
  /** Apply `command` on every live node; resolves with the total affected. */
  command(command: ControlCommand): Promise<number>;
  /** Every live node (this one included), sorted by id. */
  info(): Promise<NodeInfo[]>;
  /**
   * Topics with subscribers anywhere, merged over nodes, ascending; at most
   * `limit`, after `cursor` (the last topic of the previous page). `cursor`
   * in the result is set when there may be more.
   */
  channels(pattern: string | undefined, cursor: string | undefined, limit: number): Promise<{ channels: ChannelCount[]; cursor?: string }>;
  /** A connection of this node subscribed to `topic` (public or private). Fire and forget. */
  presenceAdd(topic: string, entry: PresenceEntry): void;
  /** It unsubscribed or closed. Fire and forget. */
  presenceRemove(topic: string, entry: PresenceEntry): void;
  /** Who is subscribed to `topic`, at most `limit` entries. */
  presence(topic: string, limit: number): Promise<PresenceEntry[]>;
  presenceStats(topic: string): Promise<PresenceStats>;
  /** Publish a join/leave of `event.topic` to every node watching it. */
  publishJoinLeave(event: JoinLeaveEvent): void;
  /** This node has (true) / no longer has (false) a local subscriber that asked for `topic`'s join/leave events. */
  watchJoinLeave(topic: string, watching: boolean): void;
  close(): Promise<void>;
}
