/**
 * A fixed-bucket, log-linear latency histogram in whole microseconds, cheap
 * enough to record every delivered message in the load clients and mergeable
 * across processes (bucket counts add up).
 *
 * Values 0–127 µs have a bucket each; above, every power of two is split in
 * 64 equal buckets, so a bucket is at most 1/64 (1.6 %) of its value wide.
 * Values are clamped to 2^32 − 1 µs (71 min). The exact maximum is kept too.
 */
const SUB_BITS = 6;
const SUB = 1 << SUB_BITS;
const LINEAR = SUB * 2;
/** Number of buckets: 128 linear + 25 octaves (2^7 … 2^31) × 64. */
export const HISTOGRAM_BUCKETS = LINEAR + (32 - SUB_BITS - 1) * SUB;

/** Bucket of a value in µs (a non-negative integer below 2^32). */
function bucketOf(us: number): number {
  if (us < LINEAR) return us;
  const m = 31 - Math.clz32(us);
  const shift = m - SUB_BITS;
  return LINEAR + (m - SUB_BITS - 1) * SUB + ((us >>> shift) - SUB);
}

/** Lowest value of a bucket and its width. */
function bucketRange(index: number): [number, number] {
  if (index < LINEAR) return [index, 1];
  const k = index - LINEAR;
  const octave = Math.floor(k / SUB);
  const shift = octave + 1;
  return [(SUB + (k % SUB)) * 2 ** shift, 2 ** shift];
}

/** Serialized form: `[bucket, count, bucket, count, …]` for the non-empty buckets, plus count and max. */
export interface HistogramSnapshot {
  buckets: number[];
  count: number;
  maxUs: number;
}

export class Histogram {
  private counts = new Float64Array(HISTOGRAM_BUCKETS);
  count = 0;
  maxUs = 0;

  /** Record one value in microseconds (fractions are dropped, negatives count as 0). */
  record(us: number): void {
    let v = us > 0 ? Math.floor(us) : 0;
    if (v > 0xffff_ffff) v = 0xffff_ffff;
    this.counts[bucketOf(v)]++;
    this.count++;
    if (v > this.maxUs) this.maxUs = v;
  }

  reset(): void {
    this.counts.fill(0);
    this.count = 0;
    this.maxUs = 0;
  }

  snapshot(): HistogramSnapshot {
    const buckets: number[] = [];
    const counts = this.counts;
    for (let i = 0; i < counts.length; i++) if (counts[i] !== 0) buckets.push(i, counts[i]);
    return { buckets, count: this.count, maxUs: this.maxUs };
  }

  merge(snapshot: HistogramSnapshot): void {
    const b = snapshot.buckets;
    for (let i = 0; i < b.length; i += 2) this.counts[b[i]] += b[i + 1];
    this.count += snapshot.count;
    if (snapshot.maxUs > this.maxUs) this.maxUs = snapshot.maxUs;
  }

  /** The value at quantile `q` (0–1), as the middle of its bucket, in µs; NaN when empty. */
  quantileUs(q: number): number {
    if (this.count === 0) return NaN;
    const rank = Math.max(1, Math.ceil(q * this.count));
    let seen = 0;
    const counts = this.counts;
    for (let i = 0; i < counts.length; i++) {
      seen += counts[i];
      if (seen >= rank) {
        const [low, width] = bucketRange(i);
        return Math.min(low + (width - 1) / 2, this.maxUs);
      }
    }
    return this.maxUs;
  }

  static from(snapshots: readonly HistogramSnapshot[]): Histogram {
    const h = new Histogram();
    for (const s of snapshots) h.merge(s);
    return h;
  }
}
