// A node:test reporter for `run-tests.mjs --timings` on the parallel unit group:
// writes one JSON line per test file, {"file": ..., "ms": ...}, where ms is the sum
// of the durations of the file's top-level tests and suites (they run one after
// another within a file; start-up and imports are not counted). The serial groups
// are timed by the wall clock of each file's process instead (see run-tests.mjs).
export default async function* timingsReporter(source) {
  const byFile = new Map();
  for await (const event of source) {
    if (event.type !== 'test:pass' && event.type !== 'test:fail') continue;
    const { nesting, file, details } = event.data;
    if (nesting !== 0 || file === undefined) continue;
    byFile.set(file, (byFile.get(file) ?? 0) + (details?.duration_ms ?? 0));
  }
  for (const [file, ms] of byFile) yield `${JSON.stringify({ file, ms })}\n`;
}
