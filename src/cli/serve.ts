/**
 * `herald serve [options]`: the gateway exactly as `npm start` runs it. The
 * options are checked here first (so a mistake reads like every other herald
 * usage error and exits 2), then dist/src/main.js runs in this process: its
 * module body reads `process.argv`, starts the node or the cluster, handles
 * SIGTERM/SIGINT (drain, exit 0) and SIGHUP (TLS reload), and ends the process
 * with its exit status. `--workers N` forks `process.argv[1]`, so it is set to
 * main.js: workers run the gateway directly, not this CLI.
 */
import { fileURLToPath } from 'node:url';
import { ConfigError, formatHelp, loadConfig } from '../config/index.js';
import { EXIT_FAILED, EXIT_OK, EXIT_USAGE, UsageError, describeExit, wantsHelp, wrap, type CommandIo } from './args.js';

export function help(): string {
  const intro = [
    ...wrap('Run the gateway: the same server, options and behaviour as npm start. Options come from flags, '
      + 'HERALD_* environment variables and an optional JSON config file, as listed below. SIGTERM or SIGINT '
      + 'drains (clients are closed with 1001) and exits 0; SIGHUP reloads the TLS certificate.', ''),
    '',
    'Exit status:',
    ...describeExit(EXIT_OK, 'stopped by SIGTERM or SIGINT after draining'),
    ...describeExit(EXIT_FAILED, 'could not start (e.g. a port in use)'),
    ...describeExit(EXIT_USAGE, 'invalid configuration'),
    '',
    '',
  ];
  const options = formatHelp('herald serve');
  const firstBreak = options.indexOf('\n');
  // Keep formatHelp's usage line first, then this introduction, then its option list.
  return `${options.slice(0, firstBreak + 1)}\n${intro.join('\n')}${options.slice(firstBreak + 1).replace(/^\n/, '')}`;
}

export async function run(argv: readonly string[], io: CommandIo): Promise<number> {
  if (wantsHelp(argv)) {
    io.stdout.write(help());
    return EXIT_OK;
  }
  try {
    loadConfig({ argv, env: io.env });
  } catch (error) {
    if (error instanceof ConfigError) throw new UsageError(error.problems.join('\n'));
    throw error;
  }
  process.argv = [process.argv[0], fileURLToPath(new URL('../main.js', import.meta.url)), ...argv];
  await import('../main.js');
  // main.js now owns the process and calls process.exit() when the gateway stops.
  return new Promise<number>(() => {});
}
