/**
 * The engine carries publications between push APIs and the hubs of every
 * node. The hub and the engine never import each other: the composition root
 * (`node.ts`) wires the hub's interest changes to `subscribe*`/`unsubscribe*`
 * and the engine's deliveries to the hub.
 */

/**
 * A push. Routing: `uid` and `topic` → that user's connections subscribed
 * privately to `topic`; `uid` only → every connection of that user; `topic`
 * only → the topic's public subscribers; neither → every connection.
 */
export interface Publication {
  uid?: string;
  topic?: string;
  data: Buffer;
}

/** Receives the publications that reach this node. Called in publication order. */
export interface EngineHandler {
  onPublication(publication: Publication): void;
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
 * Guarantees every implementation must document and the shared engine test
 * suite checks:
 * - `publish` resolves only once the publication is accepted (it will be
 *   delivered to every node with interest), and rejects with
 *   {@link EngineUnavailableError} otherwise — never a silent drop.
 * - Publications to one topic (or one user) are delivered to each node in the
 *   order their `publish` calls were made by one publisher.
 * - Delivery to nodes is at most once per publication.
 */
export interface Engine {
  /** Start delivering to `handler`. */
  start(handler: EngineHandler): Promise<void>;
  publish(publication: Publication): Promise<void>;
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
  close(): Promise<void>;
}
