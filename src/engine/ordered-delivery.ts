import type { Delivery, HistoryResult, StreamPosition } from './engine.js';
import { streamOf } from '../streams.js';
import { HISTORY_DEFAULTS } from './stream-history.js';

/** History reads tried before a gap is declared lost (~30 s with the backoff). */
const MAX_HISTORY_ATTEMPTS = 20;

interface StreamState {
  /** Last seq delivered (or skipped as published before this node's interest began); -1 while unknown. */
  seq: number;
  epoch: string;
  /** Live deliveries waiting while the stream's position or a gap is read; null when no read is under way. */
  held: Delivery[] | null;
  touched: number;
  /** The node has subscribers to this stream (see `want`): it is not forgotten when quiet. */
  wanted: boolean;
  /** The subscription came (back) into force while a read was under way: read again once it is done. */
  again: boolean;
}

/** Options of {@link OrderedDelivery}. */
export interface OrderedDeliveryOptions {
  history(stream: string, since: StreamPosition | undefined): Promise<HistoryResult>;
  /**
   * The stream's current position, read once the node's subscription to it is
   * in force; default: `history(stream, undefined)`.
   */
  head?(stream: string): Promise<StreamPosition>;
  deliver(delivery: Delivery): void;
  /** A gap could not be filled (history gone): publications of `stream` were lost on this node. */
  onLoss?(stream: string): void;
  /** A throw while delivering what a history read brought (a bug): reported, the stream goes on. */
  onError?(error: unknown): void;
  /** Streams untouched this long are forgotten unless wanted (their history is gone too); default 5 min. */
  ttlMs?: number;
}

/**
 * Keeps each stream's deliveries to this node contiguous, for engines that can
 * miss publications (a Redis subscriber connection that dropped and came back:
 * what was published meanwhile never arrives live).
 *
 * - **Interest.** When the node gains its first subscriber to a stream
 *   (`want`), the stream starts at its head: the position is read once the
 *   engine's subscription is in force, so nothing published before the
 *   subscription is ever replayed to the new subscribers, and a live delivery
 *   that skips past the head is known to be a gap. Losing the last subscriber
 *   (`unwant`) forgets the stream.
 * - **Gaps.** When a delivery's `seq` skips ahead — or a new epoch (the engine
 *   lost its data) starts past 1 — the stream is held, the missing range is
 *   read from the engine's history, and everything is released in order,
 *   without duplicates.
 * - **Resubscribe.** When the engine's subscription comes back after an outage
 *   (`resubscribed`), every stream it carries is filled from history up to its
 *   head at once, without waiting for its next publication.
 *
 * A stream nobody `want`ed (e.g. a delivery in flight when interest ended) is
 * started by its first delivery.
 */
export class OrderedDelivery {
  private readonly options: OrderedDeliveryOptions;
  private readonly streams = new Map<string, StreamState>();
  /** Private-topic streams by uid: they travel with the user's stream and are resubscribed with it. */
  private readonly privates = new Map<string, Set<string>>();
  private readonly ttlMs: number;
  private sweepAt = 0;
  /** Gaps filled from history, and gaps that could not be. */
  recoveries = 0;
  losses = 0;

  constructor(options: OrderedDeliveryOptions) {
    this.options = options;
    this.ttlMs = options.ttlMs ?? HISTORY_DEFAULTS.ttlMs;
  }

  /** Streams tracked (for tests and metrics). */
  get size(): number {
    return this.streams.size;
  }

  accept(delivery: Delivery, now = Date.now()): void {
    const position = delivery.position;
    if (position === undefined) return this.options.deliver(delivery);
    this.sweep(now);
    const key = streamOf(delivery);
    const state = this.streams.get(key);
    if (state === undefined) {
      this.track(key, { seq: position.seq, epoch: position.epoch, held: null, touched: now, wanted: false, again: false }, delivery.uid);
      return this.options.deliver(delivery);
    }
    state.touched = now;
    this.route(key, state, delivery);
  }

  /**
   * The node gained its first subscriber to `stream` (call right after asking
   * the engine to subscribe): whatever was known about the stream is dropped
   * — it predates these subscribers — and its head is read. Live deliveries
   * arriving meanwhile are held, then released.
   */
  want(stream: string, uid?: string): void {
    this.forget(stream);
    if (stream.startsWith('u:')) this.forgetPrivates(stream.slice(2));
    const state: StreamState = { seq: -1, epoch: '', held: [], touched: Date.now(), wanted: true, again: false };
    this.track(stream, state, stream.startsWith('p:') ? uid : undefined);
    this.readHead(stream, state);
  }

  /** The node lost its last subscriber to `stream`: forget it (a later `want` starts at the head again). */
  unwant(stream: string): void {
    this.forget(stream);
    if (stream.startsWith('u:')) this.forgetPrivates(stream.slice(2));
  }

  /**
   * The engine's subscription carrying `interest` (a public topic, a user with
   * their private topics, or everyone) is in force again after it was lost:
   * fill each of its streams from history up to the current head now.
   */
  resubscribed(interest: { uid?: string; topic?: string }): void {
    const keys = [streamOf(interest)];
    if (interest.uid !== undefined) for (const key of this.privates.get(interest.uid) ?? []) keys.push(key);
    for (const key of keys) {
      const state = this.streams.get(key);
      if (state === undefined) continue;
      // A read under way may have been answered before the subscription was back: read once more after it.
      if (state.held !== null) state.again = true;
      else this.refresh(key, state);
    }
  }

  /** Deliver in order, hold while a read is under way, or start filling a gap. */
  private route(key: string, state: StreamState, delivery: Delivery): void {
    const position = delivery.position as StreamPosition;
    if (state.held !== null) {
      state.held.push(delivery);
      return;
    }
    if (state.seq < 0) {
      // Position unknown (its read failed): this delivery starts the stream.
      state.seq = position.seq;
      state.epoch = position.epoch;
      return this.options.deliver(delivery);
    }
    const sameEpoch = position.epoch === state.epoch;
    if (sameEpoch ? position.seq === state.seq + 1 : position.seq === 1) return this.advance(state, delivery);
    if (sameEpoch && position.seq <= state.seq) return; // already delivered
    // A gap: in this epoch after state.seq, or in a new epoch from its start.
    this.fill(key, state, delivery, sameEpoch ? undefined : { seq: 0, epoch: position.epoch });
  }

  /** Read the stream's position once the subscription is in force, then release what was held meanwhile. */
  private readHead(key: string, state: StreamState): void {
    const head = this.options.head ?? ((stream: string) => this.options.history(stream, undefined).then((r) => r.position));
    this.retrying(
      () => head(key),
      (position) => {
        if (this.streams.get(key) !== state) return;
        this.rebase(state, position);
        this.release(key, state);
      },
    );
  }

  /**
   * Read the publications after the stream's position (or `since`) from
   * history and deliver them, holding live deliveries (`first` onwards)
   * meanwhile; then release those in order.
   */
  private fill(key: string, state: StreamState, first: Delivery | undefined, since?: StreamPosition): void {
    state.held = first === undefined ? [] : [first];
    state.again = false;
    let from = since ?? { seq: state.seq, epoch: state.epoch };
    let epochRetried = since !== undefined;
    const finish = (result: HistoryResult | undefined): void => {
      if (this.streams.get(key) !== state) return;
      if (result !== undefined && !result.recovered && result.position.epoch !== from.epoch && !epochRetried) {
        // The stream started a new epoch (the engine lost its data): everything of the new one is missed.
        epochRetried = true;
        from = { seq: 0, epoch: result.position.epoch };
        return this.retrying(() => this.options.history(key, from), finish);
      }
      if (result?.recovered === true) {
        if (result.publications.length > 0) this.recoveries++;
        for (const publication of result.publications) this.advance(state, publication);
        // Nothing after `from` (e.g. a new epoch with no publication yet): the head is where it stands.
        if (state.epoch !== result.position.epoch || state.seq < result.position.seq) {
          state.seq = result.position.seq;
          state.epoch = result.position.epoch;
        }
      } else {
        this.losses++;
        this.options.onLoss?.(key);
        this.rebase(state, result?.position);
      }
      this.release(key, state);
    };
    if (from.epoch !== '' || this.options.head === undefined) return this.retrying(() => this.options.history(key, from), finish);
    // Nothing was published when the stream started here: read the head first, so a stream still without
    // publications is left as it is (a history read would start an incarnation in the engine).
    this.retrying(this.options.head.bind(this.options, key), (head) => {
      if (head === undefined || head.epoch === '') return finish(head && { recovered: true, publications: [], position: head });
      epochRetried = true;
      from = { seq: 0, epoch: head.epoch };
      this.retrying(() => this.options.history(key, from), finish);
    });
  }

  /**
   * Take `position` as where the stream stands — unless live deliveries held
   * meanwhile start at or before it (published after the subscription came
   * into force, they arrive contiguously): then they start it. Unknown
   * position and nothing held: unchanged.
   */
  private rebase(state: StreamState, position: StreamPosition | undefined): void {
    const first = state.held?.[0]?.position;
    if (first !== undefined && (position === undefined || first.epoch !== position.epoch || first.seq <= position.seq)) {
      state.seq = first.seq - 1;
      state.epoch = first.epoch;
    } else if (position !== undefined) {
      state.seq = position.seq;
      state.epoch = position.epoch;
    }
  }

  /** Stop holding and route what was held (a new gap among it starts another fill); then a pending re-read. */
  private release(key: string, state: StreamState): void {
    const held = state.held ?? [];
    state.held = null;
    for (const delivery of held) this.route(key, state, delivery);
    if (state.again && state.held === null) this.refresh(key, state);
  }

  /** Catch up to the head: fill from the stream's position, or read the head when the position is unknown. */
  private refresh(key: string, state: StreamState): void {
    if (state.seq >= 0) return this.fill(key, state, undefined);
    state.held = [];
    state.again = false;
    this.readHead(key, state);
  }

  /** Call `read` until it resolves, retrying with backoff while the engine is unreachable; undefined after the last attempt. */
  private retrying<T>(read: () => Promise<T>, done: (value: T | undefined) => void): void {
    let attempt = 0;
    const run = (): void => {
      // A read that throws synchronously is a failed attempt like a rejected one.
      let reading: Promise<T>;
      try {
        reading = read();
      } catch (error) {
        reading = Promise.reject(error);
      }
      reading
        .then(done, () => {
          if (++attempt >= MAX_HISTORY_ATTEMPTS) return done(undefined);
          setTimeout(run, Math.min(100 * 2 ** attempt, 2000)).unref();
        })
        // A throw while delivering (a bug downstream) must not become an unhandled rejection.
        .catch((error: unknown) => this.options.onError?.(error));
    };
    run();
  }

  /** Deliver `delivery` if it is newer than what the stream has delivered (or starts a newer epoch). */
  private advance(state: StreamState, delivery: Delivery): void {
    const position = delivery.position as StreamPosition;
    if (position.epoch === state.epoch && position.seq <= state.seq) return;
    state.epoch = position.epoch;
    state.seq = position.seq;
    this.options.deliver(delivery);
  }

  private track(key: string, state: StreamState, uid: string | undefined): void {
    this.streams.set(key, state);
    if (uid !== undefined && key.startsWith('p:')) {
      let keys = this.privates.get(uid);
      if (keys === undefined) this.privates.set(uid, (keys = new Set()));
      keys.add(key);
    }
  }

  private forget(key: string): void {
    if (!this.streams.delete(key) || !key.startsWith('p:')) return;
    // p:<uid length>:<uid>:<topic>
    const colon = key.indexOf(':', 2);
    const uid = key.slice(colon + 1, colon + 1 + Number(key.slice(2, colon)));
    const keys = this.privates.get(uid);
    if (keys !== undefined && keys.delete(key) && keys.size === 0) this.privates.delete(uid);
  }

  /** Forget the private-topic streams of `uid` (they belong to the user's interest, gained or lost). */
  private forgetPrivates(uid: string): void {
    const keys = this.privates.get(uid);
    if (keys === undefined) return;
    this.privates.delete(uid);
    for (const key of keys) this.streams.delete(key);
  }

  private sweep(now: number): void {
    if (now < this.sweepAt) return;
    this.sweepAt = now + 60_000;
    for (const [key, state] of this.streams) {
      if (!state.wanted && state.held === null && now - state.touched > this.ttlMs) this.forget(key);
    }
  }
}
