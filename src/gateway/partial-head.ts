import { findHeadEnd } from '../protocol/upgrade-request.js';

/** First capacity of a partial head: a typical browser request head fits. */
const INITIAL_CAPACITY = 1024;

/**
 * An upgrade request head that arrived in pieces, copied into one buffer
 * that doubles as it fills, up to the head limit. A client trickling its
 * request a byte per packet then costs one buffer of at most the limit (8 KiB
 * by default), not one Buffer object per read (a few hundred bytes each).
 */
export class PartialHead {
  private buf: Buffer;
  private used: number;
  private readonly limit: number;

  /** Start with the first piece (copied: the transport's read buffer is not kept). */
  constructor(first: Buffer, limit: number) {
    this.limit = limit;
    this.buf = Buffer.allocUnsafe(Math.max(first.length, Math.min(INITIAL_CAPACITY, limit)));
    first.copy(this.buf);
    this.used = first.length;
  }

  /** Bytes held so far. */
  get length(): number {
    return this.used;
  }

  /** Bytes allocated (for tests: bounded by the limit plus one read). */
  get capacity(): number {
    return this.buf.length;
  }

  /**
   * Append `chunk` and return where the head ends (just past "\r\n\r\n") in
   * {@link bytes}, or -1. Only the new bytes and the 3 before them can complete
   * the terminator, so only they are searched.
   */
  append(chunk: Buffer): number {
    const from = Math.max(0, this.used - 3);
    const need = this.used + chunk.length;
    if (need > this.buf.length) {
      // Double, but never past the limit unless this one read needs it (it is refused or completed at once).
      const grown = Buffer.allocUnsafe(Math.max(need, Math.min(this.buf.length * 2, this.limit)));
      this.buf.copy(grown, 0, 0, this.used);
      this.buf = grown;
    }
    chunk.copy(this.buf, this.used);
    this.used = need;
    return findHeadEnd(this.buf.subarray(0, this.used), from);
  }

  /** The bytes held, as a view. */
  get bytes(): Buffer {
    return this.buf.subarray(0, this.used);
  }
}
