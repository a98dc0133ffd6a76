/**
 * The bench's SVG charts: drawn from a run document (no timing, no server),
 * written to a temp directory only; each chart names every contestant, puts
 * one marker per usable step, escapes text, and says "did not finish" rather
 * than drawing a bar it has no number for. The results-directory merge keeps
 * each scenario's latest result.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { chartsOf, latestScenarios, writeCharts, type RunDocument } from '../../bench/lib/bench-charts.js';
import { barChart, escapeXml, lineChart, siFormat } from '../../bench/lib/svg-chart.js';

const step = (offered: number, received: number, p99: number) => ({ offeredPerSec: offered, receivedPerSec: received, p50Ms: p99 / 2, p99Ms: p99 });

const doc: RunDocument = {
  startedAt: '2026-12-03T14:00:00.000Z',
  scenarios: [
    {
      name: 's2-fanout',
      result: {
        details: [
          { label: 'Herald', steps: [step(1e6, 1e6, 20), step(4e6, 3.8e6, 500), step(8e6, 3.1e6, 1140)] },
          { label: 'uWS.js', steps: [step(1e6, 1e6, 5), step(4e6, 3.65e6, 161), step(8e6, 4.2e6, 138)] },
        ],
      },
    },
    { name: 's1-idle', result: { details: [{ label: 'Herald', bytesPerConnection: 1035 }, { label: 'uWS.js', bytesPerConnection: 938 }, { label: 'ws', bytesPerConnection: -5 }] } },
    {
      name: 's11-storm-fanout',
      result: {
        params: { newcomers: 10_000 },
        details: [{ label: 'Herald', finished: true, stormMs: 13000, capS: 120 }, { label: 'ws', finished: false, stormMs: 120000, capS: 120 }],
      },
    },
  ],
};

const count = (text: string, needle: string) => text.split(needle).length - 1;

describe('bench charts', () => {
  it('draws S2 (delivered and p99), S1 and S11 from a run document', () => {
    const charts = chartsOf(doc);
    assert.deepEqual(charts.map((c) => c.file).sort(), ['s1-idle-memory.svg', 's11-storm-fanout.svg', 's2-fanout-delivered.svg', 's2-fanout-p99.svg']);
    for (const c of charts) {
      assert.match(c.svg, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
      assert.match(c.svg, /<\/svg>\n$/);
    }
    const delivered = charts.find((c) => c.file === 's2-fanout-delivered.svg')!.svg;
    assert.ok(delivered.includes('>Herald<') && delivered.includes('>uWS.js<'));
    assert.equal(count(delivered, '<circle '), 6);
    assert.equal(count(delivered, '<polyline '), 2);
    const memory = charts.find((c) => c.file === 's1-idle-memory.svg')!.svg;
    assert.ok(memory.includes('>1,035<') && memory.includes('>938<'));
    assert.ok(memory.includes('not measured'), 'a negative RSS difference is not drawn as a bar');
    const storm = charts.find((c) => c.file === 's11-storm-fanout.svg')!.svg;
    assert.ok(storm.includes('13.00 s'));
    assert.ok(storm.includes('subscribed, 10,000 newcomers'));
    assert.ok(delivered.includes('S2 fan-out: delivered'), 'no count in the title without params');
    assert.ok(storm.includes('did not finish within 120 s'));
  });

  it('skips unusable points on log axes and escapes text', () => {
    const svg = lineChart({ title: 'a < b & "c"', xLabel: 'x', yLabel: 'y', logX: true, logY: true, series: [{ label: 'S<1>', points: [[0, 1], [10, NaN], [10, 5], [100, 50]] }] });
    assert.equal(count(svg, '<circle '), 2);
    assert.ok(svg.includes('a &lt; b &amp; &quot;c&quot;') && svg.includes('S&lt;1&gt;'));
    assert.equal(escapeXml('<&>'), '&lt;&amp;&gt;');
  });

  it('keeps the tallest bar inside the frame', () => {
    const svg = barChart({ title: 't', yLabel: 'y', bars: [{ label: 'a', value: 7300 }] });
    const bar = /<rect x="[\d.]+" y="([\d.]+)" width="[\d.]+" height="[\d.]+" fill="#/.exec(svg);
    assert.ok(bar !== null);
    assert.ok(Number(bar[1]) >= 44, `bar top ${bar[1]} above the frame`);
  });

  it('formats ticks', () => {
    assert.equal(siFormat(4e6), '4 M');
    assert.equal(siFormat(1500), '1.5 k');
    assert.equal(siFormat(0.25), '0.25');
  });

  it('writes the charts of the latest result of each scenario into a temp directory', () => {
    const dir = mkdtempSync(join(tmpdir(), 'herald-charts-test-'));
    try {
      const results = join(dir, 'results');
      const out = join(dir, 'out');
      writeCharts({ scenarios: [] }, out);
      assert.throws(() => readdirSync(out), 'no chart, no directory');
      const older: RunDocument = { startedAt: '2026-12-01T00:00:00.000Z', scenarios: [{ name: 's1-idle', result: { details: [{ label: 'Herald', bytesPerConnection: 4444 }] } }] };
      // A results directory with an older and a newer run, and a file that is not a run document.
      mkdirSync(results);
      writeFileSync(join(results, 'a-older.json'), JSON.stringify(older));
      writeFileSync(join(results, 'b-newer.json'), JSON.stringify(doc));
      writeFileSync(join(results, 'c-junk.json'), '{not json');
      const merged = latestScenarios(results);
      assert.equal(merged.startedAt, doc.startedAt);
      const files = writeCharts(merged, out);
      assert.equal(files.length, 4);
      assert.ok(readFileSync(join(out, 's1-idle-memory.svg'), 'utf8').includes('>1,035<'));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
