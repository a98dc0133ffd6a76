import type { Cell, Column, ColumnFormat } from './types.js';

/** `1234567` → `1.23 M`. */
export function si(value: number): string {
  const abs = Math.abs(value);
  if (abs >= 1e9) return `${(value / 1e9).toFixed(2)} G`;
  if (abs >= 1e6) return `${(value / 1e6).toFixed(2)} M`;
  if (abs >= 1e3) return `${(value / 1e3).toFixed(1)} k`;
  return value.toFixed(0);
}

export function formatCell(value: Cell, format: ColumnFormat = 'text'): string {
  if (value === null || value === undefined) return '–';
  if (typeof value !== 'number') return String(value);
  if (!Number.isFinite(value)) return String(value);
  switch (format) {
    case 'int':
      return Math.round(value).toLocaleString('en-US');
    case 'fixed1':
      return value.toFixed(1);
    case 'fixed2':
      return value.toFixed(2);
    case 'si':
      return si(value);
    case 'ratio':
      return `${value.toFixed(2)}×`;
    case 'percent':
      return `${(value * 100).toFixed(1)}%`;
    default:
      return String(value);
  }
}

/** A plain-text table; text columns are left-aligned, numeric (and `rtext`) ones right-aligned. */
export function renderTable(columns: readonly Column[], rows: readonly Record<string, Cell>[]): string {
  const header = columns.map((c) => c.label);
  const body = rows.map((row) => columns.map((c) => formatCell(row[c.key] ?? null, c.format)));
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((r) => r[i].length)));
  const leftAligned = columns.map((c) => (c.format ?? 'text') === 'text');
  const line = (cells: string[]) =>
    cells.map((cell, i) => (leftAligned[i] ? cell.padEnd(widths[i]) : cell.padStart(widths[i]))).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(line)].join('\n');
}
