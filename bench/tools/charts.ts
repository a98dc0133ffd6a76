/**
 * Redraw the bench's SVG charts from saved results:
 *
 *   node dist/bench/tools/charts.js <results dir> <out dir>
 *
 * Reads every run document (*.json) of the results directory, keeps each
 * scenario's latest result, and writes the charts (bench/lib/bench-charts.ts)
 * into the output directory. Exit status 2 on bad usage, 1 when no chart
 * could be drawn.
 */
import { existsSync } from 'node:fs';
import { latestScenarios, writeCharts } from '../lib/bench-charts.js';

const [resultsDir, outDir] = process.argv.slice(2);
if (resultsDir === undefined || outDir === undefined || !existsSync(resultsDir)) {
  console.error('usage: node dist/bench/tools/charts.js <results dir> <out dir>');
  process.exitCode = 2;
} else {
  const written = writeCharts(latestScenarios(resultsDir), outDir);
  for (const file of written) console.log(file);
  if (written.length === 0) {
    console.error(`no chart: no S1, S2, S5 or S11 result in ${resultsDir}`);
    process.exitCode = 1;
  }
}
