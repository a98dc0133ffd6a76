/**
 * Node.js flags Herald runs with in the network scenarios (S1–S5), i.e. what
 * a production deployment would put before `dist/src/main.js`. The
 * environment variable `BENCH_HERALD_NODE_FLAGS` (whitespace-separated)
 * replaces this list for one run, e.g. to profile:
 *
 *   BENCH_HERALD_NODE_FLAGS="--cpu-prof --cpu-prof-dir=/tmp/prof" npm run bench -- s2-fanout
 */
export const HERALD_NODE_FLAGS: string[] = ['--max-semi-space-size=1'];

/** The flags to use: the env override when set (even empty), else {@link HERALD_NODE_FLAGS}. */
export function heraldNodeFlags(): string[] {
  const env = process.env.BENCH_HERALD_NODE_FLAGS;
  if (env !== undefined) return env.split(/\s+/).filter((f) => f.length > 0);
  return [...HERALD_NODE_FLAGS];
}
