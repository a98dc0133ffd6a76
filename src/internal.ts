/** Internals for tests, benchmarks and the CLI. Not a stable API. */
export * from './index.js';
export { TimingWheel, monotonicNow, type WheelEntry } from './util/timing-wheel.js';
export { PartialHead } from './gateway/partial-head.js';
