/**
 * The console's messages/s sparkline (runs in the browser, served as
 * `/console/sparkline.js`; no DOM here, so it is tested in Node): a ring of
 * the most recent rate samples held in the page, and the `points` of an
 * inline SVG polyline drawing them, newest at the right edge.
 */

/** Samples kept: one per stats poll (every second), so about the last minute. */
export const SPARKLINE_SAMPLES = 60;

/** A fixed-size ring of numbers: pushing past the capacity forgets the oldest. */
export class SampleRing {
  private readonly slots: number[];
  private next = 0;
  private size = 0;

  constructor(readonly capacity: number = SPARKLINE_SAMPLES) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`capacity must be a positive integer, not ${capacity}`);
    this.slots = new Array<number>(capacity).fill(0);
  }

  /** Add a sample; a negative or non-finite one (no meaningful rate) is stored as 0. */
  push(value: number): void {
    this.slots[this.next] = Number.isFinite(value) && value > 0 ? value : 0;
    this.next = (this.next + 1) % this.capacity;
    if (this.size < this.capacity) this.size++;
  }

  /** The samples, oldest first. */
  values(): number[] {
    const out: number[] = [];
    for (let i = 0; i < this.size; i++) out.push(this.slots[(this.next - this.size + i + this.capacity) % this.capacity]);
    return out;
  }

  clear(): void {
    this.next = 0;
    this.size = 0;
  }
}

/**
 * Polyline points for `values` in a `width` × `height` box: x spaced for a
 * full ring (so the line grows from the right as samples arrive), y scaled
 * to the largest sample (0 at the bottom; all zeros: a flat line at the
 * bottom). Empty with fewer than two samples.
 */
export function sparklinePoints(values: readonly number[], width: number, height: number, capacity: number = SPARKLINE_SAMPLES): string {
  if (values.length < 2) return '';
  const max = Math.max(...values);
  const step = width / Math.max(1, capacity - 1);
  const offset = (capacity - values.length) * step;
  const round = (v: number) => Math.round(v * 10) / 10;
  return values
    .map((v, i) => {
      const x = offset + i * step;
      const y = max > 0 ? height - (v / max) * height : height;
      return `${round(x)},${round(y)}`;
    })
    .join(' ');
}
