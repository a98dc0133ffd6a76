#!/usr/bin/env node
// Updates docs/console.png, the README's picture of the web console, on purpose:
// runs the console's browser test (Chromium at /usr/bin/chromium) with
// HERALD_CONSOLE_SCREENSHOT pointing there. `npm test` writes its screenshot to
// the temp folder instead, so running the tests never changes a tracked file.
// Usage: npm run console-screenshot (builds first).
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const target = fileURLToPath(new URL('../docs/console.png', import.meta.url));
const test = fileURLToPath(new URL('../dist/test/console/console.test.js', import.meta.url));
const result = spawnSync(process.execPath, ['--test', test], {
  stdio: 'inherit',
  env: { ...process.env, HERALD_CONSOLE_SCREENSHOT: target },
});
if (result.status === 0) console.log(`wrote ${target}`);
process.exit(result.status ?? 1);
