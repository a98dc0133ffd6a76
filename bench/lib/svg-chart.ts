/**
 * Hand-written SVG charts for the bench (no dependency): a line chart with
 * linear or log₁₀ axes, one polyline per series, and a bar chart. Plain SVG
 * 1.1 that renders on GitHub and in browsers; text is XML-escaped; colours
 * are fixed per series position so the same contestant keeps its colour
 * across charts when given in the same order.
 */

export interface Series {
  label: string;
  /** Fill/stroke colour; default: by position. */
  colour?: string;
  /** [x, y]; points with a non-finite or (on a log axis) non-positive coordinate are skipped. */
  points: [number, number][];
}

export interface LineChart {
  title: string;
  xLabel: string;
  yLabel: string;
  series: Series[];
  logX?: boolean;
  logY?: boolean;
  /** Formats a tick value (default: 1.5 k, 2 M…). */
  format?: (v: number) => string;
}

export interface Bar {
  label: string;
  colour?: string;
  /** null: not measured (drawn as a note, no bar). */
  value: number | null;
  /** Shown instead of the value (e.g. "did not finish within 120 s"). */
  note?: string;
}

export interface BarChart {
  title: string;
  yLabel: string;
  bars: Bar[];
  format?: (v: number) => string;
}

const WIDTH = 720;
const HEIGHT = 420;
const PAD = { left: 78, right: 170, top: 44, bottom: 58 };
export const COLOURS = ['#d62728', '#1f77b4', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f'];

export function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** 1.5 k, 2 M, 0.25… */
export function siFormat(v: number): string {
  const a = Math.abs(v);
  const trim = (x: number) => String(Number(x.toPrecision(3)));
  if (a >= 1e9) return `${trim(v / 1e9)} G`;
  if (a >= 1e6) return `${trim(v / 1e6)} M`;
  if (a >= 1e3) return `${trim(v / 1e3)} k`;
  return trim(v);
}

interface Axis {
  min: number;
  max: number;
  log: boolean;
  ticks: number[];
}

function axis(values: number[], log: boolean, fromZero: boolean): Axis {
  if (values.length === 0) return { min: 0, max: 1, log: false, ticks: [0, 0.5, 1] };
  let min = Math.min(...values);
  let max = Math.max(...values);
  if (log) {
    const lo = Math.floor(Math.log10(min));
    let hi = Math.ceil(Math.log10(max));
    if (hi === lo) hi = lo + 1;
    const ticks: number[] = [];
    for (let e = lo; e <= hi; e++) ticks.push(10 ** e);
    return { min: 10 ** lo, max: 10 ** hi, log: true, ticks };
  }
  if (fromZero) min = Math.min(0, min);
  if (max === min) max = min + 1;
  const rough = (max - min) / 5;
  const magnitude = 10 ** Math.floor(Math.log10(rough));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * magnitude).find((s) => s >= rough) ?? rough;
  const start = Math.floor(min / step) * step;
  const ticks: number[] = [];
  // Bounded: at most a dozen ticks for any range.
  // Up to the first tick at or above max, so the tallest value stays inside the frame. Bounded: a dozen ticks at most.
  for (let t = start, i = 0; i < 12; t += step, i++) {
    ticks.push(Number(t.toPrecision(12)));
    if (t >= max - step * 1e-9) break;
  }
  return { min: start, max: Math.max(max, ticks[ticks.length - 1]), log: false, ticks };
}

function scale(a: Axis, v: number, from: number, to: number): number {
  const f = a.log ? (Math.log10(v) - Math.log10(a.min)) / (Math.log10(a.max) - Math.log10(a.min)) : (v - a.min) / (a.max - a.min);
  return from + f * (to - from);
}

function frame(title: string, body: string[]): string {
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" font-family="sans-serif" font-size="12">`,
    `<rect width="${WIDTH}" height="${HEIGHT}" fill="#ffffff"/>`,
    `<text x="${WIDTH / 2}" y="24" text-anchor="middle" font-size="15" font-weight="bold">${escapeXml(title)}</text>`,
    ...body,
    '</svg>',
    '',
  ].join('\n');
}

const f1 = (v: number) => v.toFixed(1);

export function lineChart(chart: LineChart): string {
  const format = chart.format ?? siFormat;
  const usable = (x: number, y: number) =>
    Number.isFinite(x) && Number.isFinite(y) && (!chart.logX || x > 0) && (!chart.logY || y > 0);
  const series = chart.series.map((s) => ({ label: s.label, colour: s.colour, points: s.points.filter(([x, y]) => usable(x, y)).sort((a, b) => a[0] - b[0]) }));
  const xs = series.flatMap((s) => s.points.map((p) => p[0]));
  const ys = series.flatMap((s) => s.points.map((p) => p[1]));
  const ax = axis(xs, chart.logX === true, false);
  const ay = axis(ys, chart.logY === true, true);
  const x0 = PAD.left;
  const x1 = WIDTH - PAD.right;
  const y0 = HEIGHT - PAD.bottom;
  const y1 = PAD.top;
  const body: string[] = [];
  for (const t of ax.ticks) {
    const x = scale(ax, t, x0, x1);
    body.push(`<line x1="${f1(x)}" y1="${y0}" x2="${f1(x)}" y2="${y1}" stroke="#e0e0e0"/>`);
    body.push(`<text x="${f1(x)}" y="${y0 + 16}" text-anchor="middle">${escapeXml(format(t))}</text>`);
  }
  for (const t of ay.ticks) {
    const y = scale(ay, t, y0, y1);
    body.push(`<line x1="${x0}" y1="${f1(y)}" x2="${x1}" y2="${f1(y)}" stroke="#e0e0e0"/>`);
    body.push(`<text x="${x0 - 6}" y="${f1(y + 4)}" text-anchor="end">${escapeXml(format(t))}</text>`);
  }
  body.push(`<rect x="${x0}" y="${y1}" width="${x1 - x0}" height="${y0 - y1}" fill="none" stroke="#333"/>`);
  body.push(`<text x="${(x0 + x1) / 2}" y="${HEIGHT - 16}" text-anchor="middle">${escapeXml(chart.xLabel)}${chart.logX ? ' (log scale)' : ''}</text>`);
  body.push(
    `<text x="18" y="${(y0 + y1) / 2}" text-anchor="middle" transform="rotate(-90 18 ${(y0 + y1) / 2})">${escapeXml(chart.yLabel)}${chart.logY ? ' (log scale)' : ''}</text>`,
  );
  series.forEach((s, i) => {
    const colour = s.colour ?? COLOURS[i % COLOURS.length];
    const pts = s.points.map(([x, y]) => `${f1(scale(ax, x, x0, x1))},${f1(scale(ay, y, y0, y1))}`);
    if (pts.length > 1) body.push(`<polyline fill="none" stroke="${colour}" stroke-width="2" points="${pts.join(' ')}"/>`);
    for (const p of pts) {
      const [cx, cy] = p.split(',');
      body.push(`<circle cx="${cx}" cy="${cy}" r="3" fill="${colour}"/>`);
    }
    const ly = PAD.top + 10 + i * 20;
    body.push(`<rect x="${x1 + 14}" y="${ly - 9}" width="12" height="12" fill="${colour}"/>`);
    body.push(`<text x="${x1 + 32}" y="${ly + 1}">${escapeXml(s.label)}${s.points.length === 0 ? ' (no data)' : ''}</text>`);
  });
  return frame(chart.title, body);
}

export function barChart(chart: BarChart): string {
  const format = chart.format ?? siFormat;
  const values = chart.bars.map((b) => b.value).filter((v): v is number => v !== null && Number.isFinite(v));
  const ay = axis(values, false, true);
  const x0 = PAD.left;
  const x1 = WIDTH - PAD.right;
  const y0 = HEIGHT - PAD.bottom;
  const y1 = PAD.top;
  const body: string[] = [];
  for (const t of ay.ticks) {
    const y = scale(ay, t, y0, y1);
    body.push(`<line x1="${x0}" y1="${f1(y)}" x2="${x1}" y2="${f1(y)}" stroke="#e0e0e0"/>`);
    body.push(`<text x="${x0 - 6}" y="${f1(y + 4)}" text-anchor="end">${escapeXml(format(t))}</text>`);
  }
  body.push(`<rect x="${x0}" y="${y1}" width="${x1 - x0}" height="${y0 - y1}" fill="none" stroke="#333"/>`);
  body.push(`<text x="18" y="${(y0 + y1) / 2}" text-anchor="middle" transform="rotate(-90 18 ${(y0 + y1) / 2})">${escapeXml(chart.yLabel)}</text>`);
  const slot = (x1 - x0) / Math.max(1, chart.bars.length);
  chart.bars.forEach((b, i) => {
    const cx = x0 + slot * (i + 0.5);
    const colour = b.colour ?? COLOURS[i % COLOURS.length];
    body.push(`<text x="${f1(cx)}" y="${y0 + 16}" text-anchor="middle">${escapeXml(b.label)}</text>`);
    if (b.value === null || !Number.isFinite(b.value)) {
      body.push(`<text x="${f1(cx)}" y="${y0 - 8}" text-anchor="middle" fill="#555">${escapeXml(b.note ?? 'not measured')}</text>`);
      return;
    }
    const top = scale(ay, Math.max(b.value, ay.min), y0, y1);
    const w = Math.min(80, slot * 0.6);
    body.push(`<rect x="${f1(cx - w / 2)}" y="${f1(top)}" width="${f1(w)}" height="${f1(y0 - top)}" fill="${colour}"/>`);
    body.push(`<text x="${f1(cx)}" y="${f1(top - 6)}" text-anchor="middle">${escapeXml(b.note ?? format(b.value))}</text>`);
  });
  return frame(chart.title, body);
}
