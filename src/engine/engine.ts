/**
 * The engine carries publications between push APIs and the hubs of every
 * node. The hub and the engine never import each other: the composition root
 * (`node.ts`) wires the hub's interest changes to `subscribe*`/`unsubscribe*`
 * and the engine's deliveries to the hub.
 */

/**
 * A push. Routing: `uid` and `topic` → that user's connections subscribed
 * privately to `topic` (and, on the gpush protocol, publicly); `uid` only → every connection of that user; `topic`
 * only → the topic's public subscribers; neither → every connection.
 */
export interface Publication {
  uid?: string;
  topic?: string;
  data: Buffer;
}

/**
 * A place in a stream's history. `seq` counts publications in the stream from
 * 1; `epoch` names one incarnation of the stream — when an engine loses a
 * stream's history (a restart without persistence), the epoch changes, so a
 * client holding an old position learns that it cannot be resumed.
 */
export interface StreamPosition {
  seq: number;
  epoch: string;
}

/** A publication as delivered, with its place in its stream when the engine keeps history. */
export interface Delivery extends Publication {
  position?: StreamPosition;
  /**
   * Its stream key (`streamOf`), when the engine already computed it: the hub
   * reuses it instead of building and hashing the same string again per push.
   */
  stream?: string;
}

/** What `history` found. */
export type HistoryResult =
  /** Every publication after the given position, oldest first, and the stream's current position. */
  | { recovered: true; publications: Delivery[]; position: StreamPosition }
  /** The history no longer reaches back that far, or the epoch changed: only the current position. */
  | { recovered: false; position: StreamPosition };

export { streamOf } from '../streams.js';

/** Receives the publications that reach this node. Called in publication order per stream. */
export interface EngineHandler {
  onPublication(delivery: Delivery): void;
  /**
   * Engines that can miss deliveries: the subscription carrying `interest` (a
   * public topic, a user with their private topics, or everyone: `{}`) is in
   * force again after it was lost (a reconnect, a failed SUBSCRIBE retried).
   * What was published meanwhile never arrives live; the node fills it from
   * history at once (OrderedDelivery).
   */
  onResubscribed?(interest: { uid?: string; topic?: string }): void;
}

/** Raised by `publish` when the engine cannot accept a publication (the push API answers 503). */
export class EngineUnavailableError extends Error {
  override readonly name = 'EngineUnavailableError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/**
 * A message transport between nodes.
 *
 * Guarantees every implementation documents and the shared engine test suite
 * (test/engine/engine-suite.ts) checks:
 * - `publish` resolves only once the publication is accepted — appended to its
 *   stream and on its way to every node with interest — and rejects with
 *   {@link EngineUnavailableError} otherwise: never a silent drop.
 * - Publications to one stream are delivered to each node in `seq` order,
 *   which is the order their `publish` calls were accepted.
 * - Delivery to a node is at most once per publication; a gap (a node that was
 *   disconnected from the engine) is recoverable through `history` while the
 *   history still holds it.
 */
export interface Engine {
  /** Start delivering to `handler`. */
  start(handler: EngineHandler): Promise<void>;
  /** Append to the publication's stream and deliver; resolves with its position, when the engine keeps history. */
  publish(publication: Publication): Promise<StreamPosition | undefined>;
  /**
   * Optional, for engines that accept a publication at once (the memory
   * engine): the same as `publish`, done before it returns — the position
   * itself, or a thrown {@link EngineUnavailableError}. The push APIs use it
   * to publish a batch or a stream without a promise per push.
   */
  publishNow?(publication: Publication): StreamPosition | undefined;
  /**
   * Publications of `stream` after `since` (all the engine holds when `since`
   * is undefined is NOT implied: undefined asks only for the current position,
   * as `recovered: true` with no publications).
   *
   * With `limit` (the server API's history): at most `limit` publications,
   * the oldest ones after `since`, so a reader pages forward from the last one
   * it got; `since` undefined then starts at the oldest publication held.
   * `recovered` and `position` mean the same as without a limit.
   */
  history(stream: string, since: StreamPosition | undefined, limit?: number): Promise<HistoryResult>;
  /**
   * Forget `stream`: its publications, its sequence and its epoch. The next
   * publication starts a new incarnation (seq 1 under a new epoch), so a
   * client resuming from a position of before is told `recovered: false`, and
   * numbers are never reused under the same epoch.
   */
  removeHistory(stream: string): Promise<void>;
  /**
   * The stream's current position, read (without changing anything) once the
   * interest changes made so far are in force, so every later publication of
   * the stream reaches this node live or shows as a gap after this position.
   * `{seq: 0, epoch: ''}` for a stream that has no publication. Optional: the
   * node falls back to `history(stream, undefined)`.
   */
  head?(stream: string): Promise<StreamPosition>;
  /** This node gained its first local subscriber to `topic` (public or private). */
  subscribeTopic(topic: string): void;
  /** This node lost its last local subscriber to `topic`. */
  unsubscribeTopic(topic: string): void;
  /** This node gained its first connection logged in as `uid`. */
  subscribeUser(uid: string): void;
  /** This node lost its last connection logged in as `uid`. */
  unsubscribeUser(uid: string): void;
  /** True while publish can succeed (readiness). */
  readonly ready: boolean;
  /**
   * True for engines whose live deliveries can skip publications (a transport
   * that reconnects): the node then checks each stream's sequence and fills
   * gaps from history (OrderedDelivery).
   */
  readonly mayMissDeliveries?: boolean;
  close(): Promise<void>;
}
