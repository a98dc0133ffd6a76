/**
 * Issue 15's targets as ratios (bench/net/targets.ts): a missing or
 * meaningless side gives null rather than a number, the direction of each
 * target is honoured, and S2 compares every step uWS.js sustained plus the
 * 4 M and 8 M steps.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fanoutRatios, ratio, ratiosTable } from '../../bench/net/targets.js';
import type { StepOutcome } from '../../bench/net/steps.js';

const step = (nominal: number, received: number, p50: number, p99: number, sustained: boolean) =>
  ({ nominalDeliveries: nominal, receivedPerSec: received, p50Ms: p50, p99Ms: p99, sustained }) as StepOutcome;

describe('bench targets', () => {
  it('computes a ratio and whether it meets its target', () => {
    assert.deepEqual(ratio('a', 2, 4, { op: '≤', bound: 1 }), { name: 'a', value: 0.5, target: '≤ 1.00', met: true });
    assert.equal(ratio('b', 3.3, 1, { op: '≥', bound: 3 }).met, true);
    assert.equal(ratio('c', 1.3, 1, { op: '≤', bound: 1.2 }).met, false);
  });

  it('gives null for a missing, negative or zero-based side', () => {
    for (const [of, to] of [[undefined, 1], [1, undefined], [1, 0], [-5, 900], [NaN, 1], [1, null]] as const) {
      const r = ratio('x', of, to, { op: '≤', bound: 1 });
      assert.equal(r.value, null);
      assert.equal(r.met, null);
    }
    assert.equal(ratio('zero delivered', 0, 4e6, { op: '≥', bound: 1 }).value, 0);
    assert.equal(ratiosTable('t', [ratio('x', undefined, 1, { op: '≤', bound: 1 })]).rows[0].value, '–');
  });

  it('compares S2 at the steps uWS.js sustained and at 4 M and 8 M', () => {
    const herald = [step(1e6, 1e6, 10, 20, true), step(2e6, 2e6, 30, 60, true), step(4e6, 3.8e6, 500, 700, false), step(8e6, 3.1e6, 880, 1140, false)];
    const uws = [step(1e6, 1e6, 5, 10, true), step(2e6, 2e6, 40, 50, false), step(4e6, 3.65e6, 66, 161, true), step(8e6, 4.21e6, 50, 138, false)];
    const ratios = fanoutRatios(herald, uws, [4e6, 8e6]);
    assert.deepEqual(
      ratios.map((r) => r.name),
      [
        'p50 Herald/uWS.js at 1 M offered',
        'p99 Herald/uWS.js at 1 M offered',
        'p50 Herald/uWS.js at 4 M offered',
        'p99 Herald/uWS.js at 4 M offered',
        'p50 Herald/uWS.js at 8 M offered',
        'p99 Herald/uWS.js at 8 M offered',
        'delivered/s Herald/uWS.js at 8 M offered',
      ],
    );
    assert.equal(ratios[0].value, 2);
    const delivered = ratios[ratios.length - 1];
    assert.ok(delivered.value !== null && Math.abs(delivered.value - 3.1 / 4.21) < 1e-9);
    assert.equal(delivered.met, false);
    assert.deepEqual(fanoutRatios(undefined, uws, [8e6]), []);
  });
});
