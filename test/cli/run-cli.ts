/**
 * Runs the compiled `herald` CLI (dist/src/cli/herald.js) as a child process
 * and collects its exit status and output. HERALD_* variables of the test's
 * own environment are not passed on, so only what a test sets reaches it.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const HERALD = fileURLToPath(new URL('../../src/cli/herald.js', import.meta.url));

/** Safety bound on one CLI run; never a timing assertion. */
const RUN_LIMIT_MS = 30_000;

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  /** Extra environment variables. */
  env?: Record<string, string>;
  /** Written to stdin, which is then closed; without it stdin is /dev/null. */
  input?: string | Buffer;
  cwd?: string;
}

/** The test process's environment without HERALD_* variables, plus `extra`. */
export function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) if (!key.startsWith('HERALD_')) env[key] = value;
  return { ...env, ...extra };
}

/** Start `herald <args>`; stdout and stderr are piped. */
export function spawnCli(args: readonly string[], options: RunOptions = {}): ChildProcess {
  return spawn(process.execPath, [HERALD, ...args], {
    env: cleanEnv(options.env),
    cwd: options.cwd,
    stdio: [options.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
  });
}

/** Run `herald <args>` to completion. */
export function runCli(args: readonly string[], options: RunOptions = {}): Promise<CliResult> {
  const child = spawnCli(args, options);
  return collect(child, options.input);
}

/** Wait for `child` to exit, collecting its output; kills it (by its pid) after {@link RUN_LIMIT_MS}. */
export function collect(child: ChildProcess, input?: string | Buffer): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  if (input !== undefined) child.stdin?.end(input);
  return new Promise((resolve, reject) => {
    const limit = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`herald did not exit within ${RUN_LIMIT_MS} ms; stdout: ${stdout}; stderr: ${stderr}`));
    }, RUN_LIMIT_MS);
    child.once('error', (error) => {
      clearTimeout(limit);
      reject(error);
    });
    child.once('close', (code, signal) => {
      clearTimeout(limit);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/** The lines of `text` without the trailing empty one. */
export function lines(text: string): string[] {
  return text.split('\n').filter((line, i, all) => !(i === all.length - 1 && line === ''));
}

/** A usage error: status 2, nothing on stdout, `program: <problem>` lines then `see <program> --help`. */
export function assertUsageError(result: CliResult, program: string, problem: RegExp): void {
  assert.equal(result.code, 2, `expected exit 2; stderr: ${result.stderr}`);
  assert.equal(result.stdout, '');
  const errorLines = lines(result.stderr);
  assert.ok(errorLines.length >= 2, result.stderr);
  assert.equal(errorLines.at(-1), `see ${program} --help`);
  for (const line of errorLines.slice(0, -1)) assert.ok(line.startsWith(`${program}: `), line);
  assert.match(errorLines.slice(0, -1).join('\n'), problem);
}
