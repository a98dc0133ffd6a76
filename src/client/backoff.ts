/**
 * Exponential backoff with full jitter ("Exponential Backoff And Jitter",
 * AWS Architecture Blog, 2015): a delay drawn uniformly from
 * [0, min(maxMs, baseMs·2^attempt)), in ms. Full jitter spreads a crowd of
 * clients dropped at once (a server restart) over the whole window instead of
 * bunching them at its edge.
 *
 * @param attempt 0 for the first retry after a drop.
 * @param random a source in [0, 1); tests pass a fixed one.
 */
export function backoffDelay(attempt: number, baseMs: number, maxMs: number, random: () => number = Math.random): number {
  const ceiling = Math.min(maxMs, baseMs * 2 ** Math.min(attempt, 52));
  return Math.floor(random() * ceiling);
}
