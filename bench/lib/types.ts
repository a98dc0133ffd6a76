/**
 * Shared shapes of the benchmark harness. A scenario is an entry of the table
 * in `bench/scenarios.ts`; the runner (`bench/run.ts`) runs the ones asked
 * for, prints their summary tables and writes everything as JSON.
 */

/** How a summary cell is rendered in the console table (the JSON keeps raw numbers). */
export type ColumnFormat = 'text' | 'rtext' | 'int' | 'fixed1' | 'fixed2' | 'si' | 'ratio' | 'percent';

export interface Column {
  /** Key of the value in each row. */
  key: string;
  /** Header shown in the table. */
  label: string;
  format?: ColumnFormat;
}

export type Cell = string | number | boolean | null;
export type Row = Record<string, Cell>;

/** A further table of a scenario, printed after its summary table. */
export interface Table {
  title: string;
  columns: Column[];
  rows: Row[];
}

/** What a scenario hands back. */
export interface Result {
  /** The human-readable summary: one table per scenario. */
  columns: Column[];
  rows: Row[];
  /** More tables (e.g. one row per rate step), printed after the summary. */
  tables?: Table[];
  /** Scenario-specific parameters (sizes, rounds…), recorded in the JSON. */
  params?: Record<string, unknown>;
  /** Full measurements (every round, every contestant), recorded in the JSON. */
  details?: unknown;
  /** Remarks printed under the table and kept in the JSON. */
  notes?: string[];
  /**
   * Failures of parts of the scenario (e.g. one case) that did not stop the
   * rest; the runner prints them and exits non-zero. A scenario that cannot
   * produce any result throws instead.
   */
  errors?: string[];
  /** Issue targets as ratios of Herald to its peers (bench/net/targets.ts), recorded in the JSON. */
  targets?: unknown[];
}

/** Handed to every scenario's `run()`. */
export interface RunContext {
  /** Short smoke run: a few seconds at most, numbers only indicative. */
  quick: boolean;
  /** Print one progress line (a no-op under `--json`). */
  log(line: string): void;
  /**
   * Full GC when the runner could expose it (`null` otherwise), for memory
   * measurements. Not before timed throughput rounds: a forced full GC
   * shrinks the heap, and the next round then runs slower and noisier.
   */
  gc: (() => void) | null;
}

export interface Scenario {
  name: string;
  description: string;
  run(ctx: RunContext): Promise<Result>;
}
