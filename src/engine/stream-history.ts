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
  /** This incarnation's epoch: a stream forgotten and started again must not reuse numbers under the same name. */
  epoch: string;
  /** Ring of the last `size` deliveries; slot = seq % size. */
  ring: (Delivery | undefined)[];
  lastUsed: number;
}

/**
 * Per-stream sequence numbers and a bounded ring of recent publications, in
 * memory: what MemoryEngine keeps for resume. Each stream incarnation gets its
 * own epoch (process prefix + counter), so positions from before a restart,
 * or from before an idle stream was forgotten, are told apart.
 */
export class StreamHistory {
  /** Drawn when the process starts; every stream epoch begins with it. */
  readonly epoch = randomBytes(6).toString('base64url');
  private incarnations = 0;
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
    const s = this.open(stream, now);
    s.seq++;
    s.lastUsed = now;
    const position = { seq: s.seq, epoch: s.epoch };
    delivery.position = position;
    if (this.size > 0) s.ring[s.seq % this.size] = delivery;
    return position;
  }

  /**
   * Publications of `stream` after `since`. Asking about a stream that does not
   * exist starts its incarnation at seq 0, so the position returned can be
   * resumed from once publications follow (as the Redis engine does).
   */
  history(stream: string, since: StreamPosition | undefined, now = Date.now()): HistoryResult {
    const s = this.open(stream, now);
    const position = { seq: s.seq, epoch: s.epoch };
    if (since === undefined) return { recovered: true, publications: [], position };
    if (since.epoch !== s.epoch || since.seq > position.seq || since.seq < 0) return { recovered: false, position };
    const oldestHeld = Math.max(1, position.seq - this.size + 1);
    if (since.seq + 1 < oldestHeld) return { recovered: false, position };
    const publications: Delivery[] = [];
    for (let seq = since.seq + 1; seq <= position.seq; seq++) publications.push(s.ring[seq % this.size] as Delivery);
    return { recovered: true, publications, position };
  }

  private open(stream: string, now: number): Stream {
    let s = this.streams.get(stream);
    if (s === undefined) {
      s = { seq: 0, epoch: `${this.epoch}.${(++this.incarnations).toString(36)}`, ring: [], lastUsed: now };
      this.streams.set(stream, s);
    }
    return s;
  }

  private sweep(now: number): void {
    if (now < this.sweepAt) return;
    this.sweepAt = now + Math.min(this.ttlMs, 60_000);
    for (const [key, s] of this.streams) if (now - s.lastUsed > this.ttlMs) this.streams.delete(key);
  }
}
