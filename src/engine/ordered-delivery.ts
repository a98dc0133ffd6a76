import type { Delivery, HistoryResult, StreamPosition } from './engine.js';
import { streamOf } from '../streams.js';

/** History reads tried before a gap is declared lost (~30 s with the backoff). */
const MAX_HISTORY_ATTEMPTS = 20;

interface StreamState {
  seq: number;
  epoch: string;
  /** Deliveries waiting while a gap is fetched from history; null when not recovering. */
  held: Delivery[] | null;
  touched: number;
}

/** Options of {@link OrderedDelivery}. */
export interface OrderedDeliveryOptions {
  history(stream: string, since: StreamPosition | undefined): Promise<HistoryResult>;
  deliver(delivery: Delivery): void;
  /** A gap could not be filled (history gone): publications of `stream` were lost on this node. */
  onLoss?(stream: string): void;
  /** Streams untouched this long are forgotten (their history is gone too); default 5 min. */
  ttlMs?: number;
}

/**
 * Keeps each stream's deliveries to this node contiguous, for engines that can
 * miss publications (a Redis subscriber connection that dropped and came back:
 * what was published meanwhile never arrives live). When a delivery's `seq`
 * skips ahead — or a new epoch (the engine lost its data) starts past 1 — the
 * stream is held, the missing range is read from the engine's history, and
 * everything is released in order, without duplicates. The first delivery of a
 * stream is taken as its start. A trailing gap is noticed with the stream's
 * next publication.
 */
export class OrderedDelivery {
  private readonly options: OrderedDeliveryOptions;
  private readonly streams = new Map<string, StreamState>();
  private readonly ttlMs: number;
  private sweepAt = 0;
  /** Gaps filled from history, and gaps that could not be. */
  recoveries = 0;
  losses = 0;

  constructor(options: OrderedDeliveryOptions) {
    this.options = options;
    this.ttlMs = options.ttlMs ?? 5 * 60_000;
  }

  accept(delivery: Delivery, now = Date.now()): void {
    const position = delivery.position;
    if (position === undefined) return this.options.deliver(delivery);
    this.sweep(now);
    const key = streamOf(delivery);
    const state = this.streams.get(key);
    if (state === undefined) {
      this.streams.set(key, { seq: position.seq, epoch: position.epoch, held: null, touched: now });
      return this.options.deliver(delivery);
    }
    state.touched = now;
    if (state.held !== null) {
      state.held.push(delivery);
      return;
    }
    const sameEpoch = position.epoch === state.epoch;
    if (sameEpoch ? position.seq === state.seq + 1 : position.seq === 1) return this.advance(state, delivery);
    if (sameEpoch && position.seq <= state.seq) return; // already delivered
    // A gap: in this epoch after state.seq, or in a new epoch from its start.
    this.recover(key, state, delivery, sameEpoch ? { seq: state.seq, epoch: state.epoch } : { seq: 0, epoch: position.epoch });
  }

  private recover(key: string, state: StreamState, first: Delivery, since: StreamPosition): void {
    state.held = [first];
    let attempt = 0;
    const read = (): void => {
      this.options.history(key, since).then(finish, () => {
        // History unreachable for now (e.g. the command connection is still reconnecting): keep holding and retry.
        if (++attempt >= MAX_HISTORY_ATTEMPTS) return finish(undefined);
        setTimeout(read, Math.min(100 * 2 ** attempt, 2000)).unref();
      });
    };
    const finish = (result: HistoryResult | undefined): void => {
      const held = state.held ?? [];
      state.held = null;
      if (result?.recovered === true) {
        this.recoveries++;
        for (const publication of result.publications) this.advance(state, publication);
      } else {
        this.losses++;
        this.options.onLoss?.(key);
      }
      for (const delivery of held) this.advance(state, delivery);
    };
    read();
  }

  /** Deliver `delivery` if it is newer than what the stream has delivered (or starts a newer epoch). */
  private advance(state: StreamState, delivery: Delivery): void {
    const position = delivery.position as StreamPosition;
    if (position.epoch === state.epoch && position.seq <= state.seq) return;
    state.epoch = position.epoch;
    state.seq = position.seq;
    this.options.deliver(delivery);
  }

  private sweep(now: number): void {
    if (now < this.sweepAt) return;
    this.sweepAt = now + 60_000;
    for (const [key, state] of this.streams) if (state.held === null && now - state.touched > this.ttlMs) this.streams.delete(key);
  }
}
