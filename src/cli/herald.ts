#!/usr/bin/env node
/**
 * Entry point of the `herald` command (package.json `bin`); the dispatcher is
 * {@link runHerald} in cli.ts, importable without running anything.
 */
import { EXIT_FAILED } from './args.js';
import { runHerald } from './cli.js';

runHerald(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, env: process.env }).then(
  (code) => {
    // Not process.exit(): let stdout drain. Commands leave no handle open (serve ends the process itself).
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`herald: ${(error as Error)?.stack ?? String(error)}\n`);
    process.exitCode = EXIT_FAILED;
  },
);
