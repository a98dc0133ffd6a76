/**
 * Top self-time functions of a V8 .cpuprofile (from `node --cpu-prof`).
 *
 *   node --cpu-prof --cpu-prof-dir=/tmp/prof dist/bench/run.js parser
 *   node dist/bench/tools/cpuprofile-top.js /tmp/prof/CPU.*.cpuprofile [count] [filter]
 *
 * `filter` keeps only functions whose "name file:line" contains it (e.g. `protocol/`).
 * Percentages are of all samples, idle and GC included.
 */
import { readFileSync } from 'node:fs';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

const [file, countArg, filter] = process.argv.slice(2);
if (!file) {
  console.error('usage: node dist/bench/tools/cpuprofile-top.js FILE.cpuprofile [count] [filter]');
  process.exit(2);
}
const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
const selfUs = new Map<string, number>();
let totalUs = 0;
for (let i = 0; i < profile.samples.length; i++) {
  const node = nodes.get(profile.samples[i]);
  const delta = profile.timeDeltas[i] ?? 0;
  totalUs += delta;
  if (!node) continue;
  const { functionName, url, lineNumber } = node.callFrame;
  const where = url.replace(/^file:\/\//, '').replace(/^.*?\/(node_modules|dist)\//, '$1/');
  const key = `${functionName || '(anonymous)'}  ${where}${where ? `:${lineNumber + 1}` : ''}`;
  selfUs.set(key, (selfUs.get(key) ?? 0) + delta);
}
const rows = [...selfUs]
  .filter(([key]) => !filter || key.includes(filter))
  .sort((a, b) => b[1] - a[1])
  .slice(0, Number(countArg ?? 25));
for (const [key, us] of rows) {
  console.log(`${(us / 1000).toFixed(1).padStart(9)} ms ${((100 * us) / totalUs).toFixed(1).padStart(5)}%  ${key}`);
}
console.log(`${(totalUs / 1000).toFixed(1).padStart(9)} ms total`);
