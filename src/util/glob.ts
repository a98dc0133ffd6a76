/**
 * Whether `text` matches `pattern`, where `*` stands for any run of characters
 * (none included), `?` — only when `questionMark` is true — for exactly one
 * character, and every other character for itself. The classic greedy
 * two-pointer walk: on a mismatch it returns to the last `*` and lets it take
 * one more character, so the cost is O(|pattern| × |text|) at worst — never the
 * exponential backtracking a regular expression built from many `*` can hit.
 *
 * Both arguments may be strings or arrays of code points (`Array.from(s)`):
 * namespace globs pass arrays when a topic holds characters outside the BMP,
 * so `?` takes a whole character, not half a surrogate pair. The server API's
 * channel patterns (`questionMark` false) keep `?` literal, as documented there.
 */
export function matchGlob(pattern: ArrayLike<string>, text: ArrayLike<string>, questionMark = false): boolean {
  let p = 0;
  let t = 0;
  let star = -1;
  let resume = 0;
  while (t < text.length) {
    const c = p < pattern.length ? pattern[p] : undefined;
    if (c !== undefined && c !== '*' && (c === text[t] || (questionMark && c === '?'))) {
      p++;
      t++;
    } else if (c === '*') {
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
