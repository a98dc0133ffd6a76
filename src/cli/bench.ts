/**
 * `herald bench [args]`: run the benchmark harness, dist/bench/run.js, in a
 * child process with the arguments unchanged; SIGINT, SIGTERM and SIGHUP are
 * passed on, and its exit status becomes ours. The harness is built in a
 * source checkout (npm run build) and is not part of the published package.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { CommandFailure, EXIT_FAILED, EXIT_OK, EXIT_USAGE, describeExit, wantsHelp, wrap, type CommandIo } from './args.js';

/** <root>/dist/bench/run.js, next to this file's <root>/dist/src/cli/. */
const RUNNER = fileURLToPath(new URL('../../bench/run.js', import.meta.url));
const FORWARDED: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

export function help(): string {
  return [
    'Usage: herald bench [scenario ...] [--quick] [--json] [--out <file>] [--list]',
    '',
    ...wrap('Run Herald\'s benchmark harness (dist/bench/run.js, the same as npm run bench) with these arguments. '
      + 'It exists in a source checkout after npm run build, not in an installed package. BENCHMARKS.md '
      + 'describes the scenarios and how to read the results.', ''),
    '',
    'Arguments (passed to the harness unchanged):',
    '  <scenario ...>',
    '      Run only these scenarios, in this order; default: all of them (minutes).',
    '  --quick',
    '      Short smoke run (seconds; numbers only indicative).',
    '  --json',
    '      Print only the JSON document on stdout.',
    '  --out <file>',
    '      Write the JSON there instead of bench/results/latest.json.',
    '  --list',
    '      List the scenarios and exit.',
    '  -h, --help',
    '      Show this help.',
    '',
    'Exit status:',
    ...describeExit(EXIT_OK, 'every scenario succeeded'),
    ...describeExit(EXIT_FAILED, 'a scenario failed, or the harness is missing or was killed'),
    ...describeExit(EXIT_USAGE, 'usage error: unknown scenario or option'),
    '',
  ].join('\n');
}

export async function run(argv: readonly string[], io: CommandIo): Promise<number> {
  if (wantsHelp(argv)) {
    io.stdout.write(help());
    return EXIT_OK;
  }
  if (!existsSync(RUNNER)) {
    throw new CommandFailure(`the benchmark harness ${RUNNER} is missing: herald bench runs in a source checkout `
      + 'of Herald after npm run build');
  }
  const child = spawn(process.execPath, [RUNNER, ...argv], { stdio: 'inherit', env: io.env });
  const forward = (signal: NodeJS.Signals): void => {
    child.kill(signal);
  };
  for (const signal of FORWARDED) process.on(signal, forward);
  try {
    const { code, signal } = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve, reject) => {
      child.once('error', reject);
      child.once('exit', (exitCode, exitSignal) => resolve({ code: exitCode, signal: exitSignal }));
    });
    if (code !== null) return code;
    throw new CommandFailure(`the benchmark harness was killed by ${signal}`);
  } catch (error) {
    if (error instanceof CommandFailure) throw error;
    throw new CommandFailure(`could not run the benchmark harness: ${(error as Error).message}`);
  } finally {
    for (const signal of FORWARDED) process.off(signal, forward);
  }
}
