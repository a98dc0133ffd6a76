/**
 * Whether `text` matches `pattern`, where `*` stands for any run of characters
 * (none included) and every other character for itself. The classic greedy
 * two-pointer walk: on a mismatch it returns to the last `*` and lets it take
 * one more character, so the cost is O(|pattern| × |text|) at worst — never the
 * exponential backtracking a regular expression built from many `*` can hit.
 */
export function matchGlob(pattern: string, text: string): boolean {
  let p = 0;
  let t = 0;
  let star = -1;
  let resume = 0;
  while (t < text.length) {
    if (p < pattern.length && pattern[p] !== '*' && pattern[p] === text[t]) {
      p++;
      t++;
    } else if (p < pattern.length && pattern[p] === '*') {
      star = p++;
      resume = t;
    } else if (star >= 0) {
      p = star + 1;
      t = ++resume;
    } else {
      return false;
    }
  }
  while (p < pattern.length && pattern[p] === '*') p++;
  return p === pattern.length;
}
