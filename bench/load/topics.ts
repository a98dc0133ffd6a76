/** Deterministic (seeded) random choices shared by the coordinator and its child processes. */

/** mulberry32: a small, fast, seeded PRNG returning floats in [0, 1). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The `k` distinct topic numbers (0 … topics-1) connection `index` subscribes to in S4. */
export function topicsOfConnection(index: number, k: number, topics: number, seed: number): number[] {
  const random = prng((seed ^ Math.imul(index + 1, 0x9e3779b1)) >>> 0);
  const chosen = new Set<number>();
  while (chosen.size < Math.min(k, topics)) chosen.add(Math.floor(random() * topics));
  return [...chosen];
}

/** Subscribers per topic when connections 0 … connections-1 each take {@link topicsOfConnection}. */
export function subscriberCounts(connections: number, k: number, topics: number, seed: number): number[] {
  const counts = new Array<number>(topics).fill(0);
  for (let i = 0; i < connections; i++) for (const t of topicsOfConnection(i, k, topics, seed)) counts[t]++;
  return counts;
}
