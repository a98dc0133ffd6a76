import { randomBytes } from 'node:crypto';
import type { Delivery, HistoryResult, StreamPosition } from './engine.js';

/** Options of {@link StreamHistory}. */
export interface StreamHistoryOptions {
  /** Publications kept per stream; default 100 (0 keeps none: positions only). */
  size?: number;
  /** A stream with no publication for this long is forgotten (history and seq); default 5 min. */
  ttlMs?: number;
}

interface Stream {
  seq: number;
  /** Ring of the last `size` deliveries; slot = seq % size. */
  ring: (Delivery | undefined)[];
  lastUsed: number;
}

/**
 * Per-stream sequence numbers and a bounded ring of recent publications, in
 * memory: what MemoryEngine keeps for resume. Its epoch is drawn when the
 * process starts, so positions from before a restart are told apart.
 */
export class StreamHistory {
  readonly epoch = randomBytes(6).toString('base64url');
  private readonly size: number;
  private readonly ttlMs: number;
  private readonly streams = new Map<string, Stream>();
  private sweepAt = 0;

  constructor(options: StreamHistoryOptions = {}) {
    this.size = options.size ?? 100;
    this.ttlMs = options.ttlMs ?? 5 * 60_000;
  }

  /** Streams currently held. */
  get streamCount(): number {
    return this.streams.size;
  }

  /** Give `delivery` the next position of `stream` and remember it. */
  append(stream: string, delivery: Delivery, now = Date.now()): StreamPosition {
    this.sweep(now);
    let s = this.streams.get(stream);
    if (s === undefined) {
      s = { seq: 0, ring: [], lastUsed: now };
      this.streams.set(stream, s);
    }
    s.seq++;
    s.lastUsed = now;
    const position = { seq: s.seq, epoch: this.epoch };
    delivery.position = position;
    if (this.size > 0) s.ring[s.seq % this.size] = delivery;
    return position;
  }

  history(stream: string, since: StreamPosition | undefined): HistoryResult {
    const s = this.streams.get(stream);
    const position = { seq: s?.seq ?? 0, epoch: this.epoch };
    if (since === undefined) return { recovered: true, publications: [], position };
    if (since.epoch !== this.epoch || since.seq > position.seq || since.seq < 0) return { recovered: false, position };
    const oldestHeld = Math.max(1, position.seq - this.size + 1);
    if (since.seq + 1 < oldestHeld) return { recovered: false, position };
    const publications: Delivery[] = [];
    for (let seq = since.seq + 1; seq <= position.seq; seq++) publications.push(s!.ring[seq % this.size] as Delivery);
    return { recovered: true, publications, position };
  }

  private sweep(now: number): void {
    if (now < this.sweepAt) return;
    this.sweepAt = now + Math.min(this.ttlMs, 60_000);
    for (const [key, s] of this.streams) if (now - s.lastUsed > this.ttlMs) this.streams.delete(key);
  }
}
