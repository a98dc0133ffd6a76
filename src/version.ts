import { readFileSync } from 'node:fs';

let cached: string | undefined;

/** The `version` of Herald's package.json (this file runs as <root>/dist/src/version.js). */
export function heraldVersion(): string {
  if (cached === undefined) {
    try {
      const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: string };
      cached = pkg.version ?? 'unknown';
    } catch {
      cached = 'unknown';
    }
  }
  return cached;
}
