/**
 * The console's messages/s sparkline without a browser: the ring keeps the
 * last samples in order and forgets the oldest, bad samples count as 0, and
 * the polyline points grow from the right edge, scaled to the largest sample.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SPARKLINE_SAMPLES, SampleRing, sparklinePoints } from '../../src/console/sparkline.js';

describe('console sparkline', () => {
  it('keeps the most recent samples, oldest first', () => {
    const ring = new SampleRing(3);
    assert.deepEqual(ring.values(), []);
    ring.push(1);
    ring.push(2);
    assert.deepEqual(ring.values(), [1, 2]);
    ring.push(3);
    ring.push(4);
    ring.push(5);
    assert.deepEqual(ring.values(), [3, 4, 5]);
    ring.clear();
    assert.deepEqual(ring.values(), []);
    ring.push(6);
    assert.deepEqual(ring.values(), [6]);
  });

  it('stores negative and non-finite samples as 0 and refuses a bad capacity', () => {
    const ring = new SampleRing(4);
    ring.push(-5);
    ring.push(NaN);
    ring.push(Infinity);
    ring.push(7);
    assert.deepEqual(ring.values(), [0, 0, 0, 7]);
    assert.throws(() => new SampleRing(0), RangeError);
    assert.throws(() => new SampleRing(1.5), RangeError);
    assert.equal(new SampleRing().capacity, SPARKLINE_SAMPLES);
  });

  it('draws nothing for fewer than two samples', () => {
    assert.equal(sparklinePoints([], 120, 24), '');
    assert.equal(sparklinePoints([5], 120, 24), '');
  });

  it('scales to the largest sample and ends at the right edge', () => {
    assert.equal(sparklinePoints([0, 50, 100], 100, 20, 3), '0,20 50,10 100,0');
    // Two samples of a ring of five: the last two slots of the width.
    assert.equal(sparklinePoints([10, 10], 100, 20, 5), '75,0 100,0');
    // All zeros: a flat line on the bottom.
    assert.equal(sparklinePoints([0, 0], 100, 20, 2), '0,20 100,20');
  });
});
