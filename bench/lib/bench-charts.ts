/**
 * The charts of a bench run, drawn from its JSON (the document run.ts
 * writes): S2 deliveries/s and p99 against the offered rate per contestant,
 * S1 memory per connection, S5 unicast delivered pushes/s against offered,
 * S11 newcomers' connect time. Used by run.ts after a run and by
 * tools/charts.ts to redraw them from saved results.
 */
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { barChart, lineChart, siFormat, type Series } from './svg-chart.js';

/** The parts of a run document the charts read. */
export interface RunDocument {
  startedAt?: string;
  scenarios: { name: string; result?: { details?: unknown; params?: Record<string, unknown> } }[];
}

interface StepLike {
  offeredPerSec: number;
  receivedPerSec: number;
  p50Ms: number;
  p99Ms: number;
  refinement?: boolean;
}

/** One colour per contestant across every chart: Herald red, uWS.js blue, ws orange. */
const CONTESTANT_COLOURS: Record<string, string> = { Herald: '#d62728', 'Herald HTTP batch': '#d62728', 'Herald gRPC stream': '#9467bd', 'uWS.js': '#1f77b4', ws: '#ff7f0e' };
export const colourOf = (label: string): string | undefined => CONTESTANT_COLOURS[label] ?? (label.startsWith('Herald merge') ? (label.includes('500') ? '#8c564b' : '#2ca02c') : undefined);

export interface Chart {
  file: string;
  svg: string;
}

function stepSeries(details: unknown, y: (s: StepLike) => number): Series[] {
  if (!Array.isArray(details)) return [];
  return details
    .filter((d): d is { label: string; steps: StepLike[] } => typeof d?.label === 'string' && Array.isArray(d?.steps))
    .map((d) => ({ label: d.label, colour: colourOf(d.label), points: d.steps.map((s) => [s.offeredPerSec, y(s)] as [number, number]) }));
}

const msFormat = (v: number) => (v >= 1 ? siFormat(v) : String(Number(v.toPrecision(2))));

/** Every chart the scenarios of `doc` allow (a scenario missing or failed gives none). */
export function chartsOf(doc: RunDocument): Chart[] {
  const charts: Chart[] = [];
  const when = doc.startedAt ? ` (${doc.startedAt.slice(0, 10)})` : '';
  const details = (name: string) => doc.scenarios.find((s) => s.name === name)?.result?.details;
  /** A count from a scenario's params for titles, as `, 10,000 subscribers` (empty when absent). */
  const sized = (name: string, key: string, noun: string) => {
    const n = doc.scenarios.find((s) => s.name === name)?.result?.params?.[key];
    return typeof n === 'number' ? `, ${n.toLocaleString('en-US')} ${noun}` : '';
  };

  const s2 = details('s2-fanout');
  if (s2 !== undefined) {
    charts.push({
      file: 's2-fanout-delivered.svg',
      svg: lineChart({
        title: `S2 fan-out${sized('s2-fanout', 'subscribers', 'subscribers')}: delivered vs offered${when}`,
        xLabel: 'offered deliveries/s',
        yLabel: 'delivered deliveries/s',
        series: stepSeries(s2, (s) => s.receivedPerSec),
        logX: true,
        logY: true,
      }),
    });
    charts.push({
      file: 's2-fanout-p99.svg',
      svg: lineChart({
        title: `S2 fan-out: p99 latency vs offered${when}`,
        xLabel: 'offered deliveries/s',
        yLabel: 'p99 latency (ms)',
        series: stepSeries(s2, (s) => s.p99Ms),
        logX: true,
        logY: true,
        format: msFormat,
      }),
    });
  }

  const s1 = details('s1-idle');
  if (Array.isArray(s1)) {
    charts.push({
      file: 's1-idle-memory.svg',
      svg: barChart({
        title: `S1 idle memory per subscribed connection${when}`,
        yLabel: 'bytes of RSS per connection',
        bars: s1
          .filter((o) => typeof o?.label === 'string')
          .map((o) => ({ label: o.label as string, colour: colourOf(o.label), value: Number.isFinite(o.bytesPerConnection) && o.bytesPerConnection > 0 ? Math.round(o.bytesPerConnection) : null })),
        format: (v) => Math.round(v).toLocaleString('en-US'),
      }),
    });
  }

  const s5 = details('s5-unicast');
  if (s5 !== undefined) {
    charts.push({
      file: 's5-unicast.svg',
      svg: lineChart({
        title: `S5 unicast${sized('s5-unicast', 'users', 'users')}: delivered vs offered pushes/s${when}`,
        xLabel: 'offered pushes/s',
        yLabel: 'delivered pushes/s',
        series: stepSeries(s5, (s) => s.receivedPerSec),
        logX: true,
        logY: true,
      }),
    });
  }

  const s11 = details('s11-storm-fanout');
  if (Array.isArray(s11)) {
    charts.push({
      file: 's11-storm-fanout.svg',
      svg: barChart({
        title: `S11 storm during fan-out: newcomers connected + subscribed${sized('s11-storm-fanout', 'newcomers', 'newcomers')}${when}`,
        yLabel: 'seconds (lower is better)',
        bars: s11
          .filter((o) => typeof o?.label === 'string')
          .map((o) =>
            o.finished === true
              ? { label: o.label as string, colour: colourOf(o.label), value: (o.stormMs as number) / 1000, note: `${((o.stormMs as number) / 1000).toFixed(2)} s` }
              : { label: o.label as string, value: null, note: `did not finish within ${o.capS} s` },
          ),
        format: (v) => String(Number(v.toPrecision(3))),
      }),
    });
  }
  return charts;
}

/**
 * Merge the run documents of `dir` (*.json): for each scenario the one of
 * the latest run (by startedAt) that has a result.
 */
export function latestScenarios(dir: string): RunDocument {
  const docs: RunDocument[] = [];
  for (const name of readdirSync(dir).filter((n) => n.endsWith('.json')).sort()) {
    try {
      const doc = JSON.parse(readFileSync(join(dir, name), 'utf8')) as RunDocument;
      if (Array.isArray(doc?.scenarios)) docs.push(doc);
    } catch {
      // Not a run document: skipped.
    }
  }
  docs.sort((a, b) => (a.startedAt ?? '').localeCompare(b.startedAt ?? ''));
  const byName = new Map<string, RunDocument['scenarios'][number]>();
  for (const doc of docs) for (const s of doc.scenarios) if (s.result !== undefined) byName.set(s.name, s);
  return { startedAt: docs[docs.length - 1]?.startedAt, scenarios: [...byName.values()] };
}

/** Write the charts of `doc` into `outDir`; returns the files written. */
export function writeCharts(doc: RunDocument, outDir: string): string[] {
  const charts = chartsOf(doc);
  if (charts.length > 0) mkdirSync(outDir, { recursive: true });
  return charts.map((c) => {
    const file = join(outDir, c.file);
    writeFileSync(file, c.svg);
    return file;
  });
}
