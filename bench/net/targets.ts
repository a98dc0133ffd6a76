/**
 * Issue 15's targets as ratios of Herald to the peers in the same run, for
 * the tables and the JSON (`Result.targets`). Each ratio says which way is
 * better and the target it is held to; a ratio with a missing side is null
 * (shown `–`), never guessed.
 */
import type { Row, Table } from '../lib/types.js';
import type { StepOutcome } from './steps.js';

export interface Ratio {
  name: string;
  /** Herald's value over the peer's, or null when either is missing, negative (e.g. RSS noise) or the peer's is 0. */
  value: number | null;
  /** The target, e.g. `≤ 1.00` or `≥ 3.00`. */
  target: string;
  /** Whether `value` meets `target` (null when `value` is). */
  met: boolean | null;
}

export function ratio(name: string, of: number | null | undefined, to: number | null | undefined, target: { op: '≤' | '≥'; bound: number }): Ratio {
  const ok = typeof of === 'number' && typeof to === 'number' && Number.isFinite(of) && Number.isFinite(to) && of >= 0 && to > 0;
  const value = ok ? of / to : null;
  return {
    name,
    value,
    target: `${target.op} ${target.bound.toFixed(2)}`,
    met: value === null ? null : target.op === '≤' ? value <= target.bound : value >= target.bound,
  };
}

/** The ratios as a printed table. */
export function ratiosTable(title: string, ratios: Ratio[]): Table {
  const rows: Row[] = ratios.map((r) => ({
    ratio: r.name,
    value: r.value === null ? '–' : `${r.value.toFixed(2)}×`,
    target: r.target,
    met: r.met === null ? '–' : r.met ? 'yes' : 'no',
  }));
  return {
    title,
    columns: [
      { key: 'ratio', label: 'ratio' },
      { key: 'value', label: 'value', format: 'rtext' },
      { key: 'target', label: 'target', format: 'rtext' },
      { key: 'met', label: 'met' },
    ],
    rows,
  };
}

const stepAt = (steps: StepOutcome[], nominal: number): StepOutcome | undefined =>
  steps.find((s) => !s.refinement && s.nominalDeliveries === nominal);

const rateName = (d: number): string => (d >= 1e6 ? `${d / 1e6} M` : `${d / 1e3} k`);

/**
 * S2: Herald's p50 and p99 over uWS.js's at every step uWS.js sustained and
 * at the `always` steps (sustained or not: the issue compares 4 M and 8 M),
 * target ≤ 1; and Herald's delivered rate over uWS.js's at the last of
 * `always` (target ≥ 1).
 */
export function fanoutRatios(herald: StepOutcome[] | undefined, uws: StepOutcome[] | undefined, always: readonly number[]): Ratio[] {
  if (herald === undefined || uws === undefined) return [];
  const list: Ratio[] = [];
  const sustained = uws.filter((s) => s.sustained && !s.refinement).map((s) => s.nominalDeliveries);
  const nominals = [...new Set([...sustained, ...always])].sort((a, b) => a - b);
  const topNominal = always[always.length - 1];
  for (const n of nominals) {
    const h = stepAt(herald, n);
    const u = stepAt(uws, n);
    list.push(ratio(`p50 Herald/uWS.js at ${rateName(n)} offered`, h?.p50Ms, u?.p50Ms, { op: '≤', bound: 1 }));
    list.push(ratio(`p99 Herald/uWS.js at ${rateName(n)} offered`, h?.p99Ms, u?.p99Ms, { op: '≤', bound: 1 }));
  }
  if (topNominal === undefined) return list;
  list.push(
    ratio(`delivered/s Herald/uWS.js at ${rateName(topNominal)} offered`, stepAt(herald, topNominal)?.receivedPerSec, stepAt(uws, topNominal)?.receivedPerSec, {
      op: '≥',
      bound: 1,
    }),
  );
  return list;
}
