/**
 * The `herald` command, `herald <command> [options]` (entry point: herald.ts).
 * Each command lives in its own module, loaded only when used (so `herald
 * push` does not load the gateway). Exit statuses: {@link EXIT_OK},
 * {@link EXIT_FAILED}, {@link EXIT_USAGE}, listed in `herald --help`.
 */
import { readFileSync } from 'node:fs';
import { didYouMean } from '../config/suggest.js';
import {
  CommandFailure,
  EXIT_FAILED,
  EXIT_OK,
  EXIT_USAGE,
  UsageError,
  describeExit,
  type CommandIo,
  type CommandModule,
} from './args.js';

interface CommandEntry {
  readonly summary: string;
  readonly load: () => Promise<CommandModule>;
}

const COMMANDS: Readonly<Record<string, CommandEntry>> = {
  serve: { summary: 'Run the gateway (the same server and options as npm start).', load: () => import('./serve.js') },
  push: { summary: 'Send a push to a running Herald through its HTTP push API.', load: () => import('./push.js') },
  token: { summary: 'Mint an HS256 login JWT for a uid (for development).', load: () => import('./token.js') },
  bench: { summary: 'Run the benchmark harness (in a source checkout).', load: () => import('./bench.js') },
};

/** `herald --help`. */
export function mainHelp(): string {
  const names = Object.keys(COMMANDS);
  const width = Math.max(...names.map((name) => name.length), 'help'.length) + 2;
  return [
    'Usage: herald <command> [options]',
    '',
    'Herald, a WebSocket push gateway.',
    '',
    'Commands:',
    ...names.map((name) => `  ${name.padEnd(width)}${COMMANDS[name].summary}`),
    `  ${'help'.padEnd(width)}Show the help of a command: herald help <command>.`,
    '',
    'Options:',
    '  -h, --help     Show this help; herald <command> --help shows a command\'s.',
    '  -v, --version  Print the version.',
    '',
    'Exit status:',
    ...describeExit(EXIT_OK, 'success'),
    ...describeExit(EXIT_FAILED, 'the operation failed: a push refused or partly failed, the server unreachable, '
      + 'the gateway could not start, a benchmark failed'),
    ...describeExit(EXIT_USAGE, 'usage error: unknown command or option, missing argument, bad value; the message '
      + 'names the problem'),
    '',
  ].join('\n');
}

/** The `version` of Herald's package.json (this file runs as <root>/dist/src/cli/herald.js). */
export function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version?: string };
  return pkg.version ?? 'unknown';
}

/** Runs `herald` with `argv` (without node and script paths); resolves with the exit status. */
export async function runHerald(argv: readonly string[], io: CommandIo): Promise<number> {
  const [first, ...rest] = argv;
  if (first === undefined) {
    io.stderr.write(`herald: missing command (${Object.keys(COMMANDS).join(', ')})\nsee herald --help\n`);
    return EXIT_USAGE;
  }
  if (first === '--help' || first === '-h') {
    io.stdout.write(mainHelp());
    return EXIT_OK;
  }
  if (first === '--version' || first === '-v') {
    io.stdout.write(`${version()}\n`);
    return EXIT_OK;
  }
  if (first === 'help') {
    const topic = rest[0];
    if (topic === undefined) {
      io.stdout.write(mainHelp());
      return EXIT_OK;
    }
    if (rest.length > 1) return usage(io, 'herald', `help takes one command, got ${rest.length}`);
    const entry = lookup(topic);
    if (entry === undefined) return usage(io, 'herald', unknownCommand(topic));
    io.stdout.write((await entry.load()).help());
    return EXIT_OK;
  }
  const entry = lookup(first);
  if (entry === undefined) {
    const problem = first.startsWith('-') ? `unknown option ${first} (a command comes first)` : unknownCommand(first);
    return usage(io, 'herald', problem);
  }
  const command = await entry.load();
  try {
    return await command.run(rest, io);
  } catch (error) {
    if (error instanceof UsageError) return usage(io, `herald ${first}`, error.message);
    if (error instanceof CommandFailure) {
      io.stderr.write(`herald ${first}: ${error.message}\n`);
      return EXIT_FAILED;
    }
    throw error;
  }
}

function lookup(name: string): CommandEntry | undefined {
  return Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
}

function unknownCommand(name: string): string {
  return `unknown command "${name}"${didYouMean(name, [...Object.keys(COMMANDS), 'help'])}`;
}

/** `<program>: <problem>` for each line of `message` (usually one), then the hint. */
function usage(io: CommandIo, program: string, message: string): number {
  const problems = message.split('\n').map((line) => `${program}: ${line}\n`).join('');
  io.stderr.write(`${problems}see ${program} --help\n`);
  return EXIT_USAGE;
}
