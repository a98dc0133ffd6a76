/**
 * `herald` refuses to start with an open push API on a non-loopback address
 * (exit code 2, a message naming the token options and
 * `--insecure-push-api`), and starts when given a token or the explicit
 * opt-out. Runs the compiled entry point as a child process with no HERALD_*
 * variables inherited; the WebSocket listener stays on 127.0.0.1 and every
 * port is ephemeral.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { waitUntil, withTimeout } from '../helpers/server.js';

const MAIN = fileURLToPath(new URL('../../src/main.js', import.meta.url));
const BASE_ARGS = ['--ws-host', '127.0.0.1', '--ws-port', '0', '--api-port', '0', '--grpc-port', '0'];
const SAFETY_MS = 20_000;

/** The environment without HERALD_* (a developer's settings must not change the outcome). */
function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) if (!key.startsWith('HERALD_')) env[key] = value;
  return { ...env, ...extra };
}

interface Run {
  proc: ChildProcess;
  stdout(): string;
  stderr(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function run(args: string[], env: Record<string, string> = {}): Run {
  const proc = spawn(process.execPath, [MAIN, ...args], { env: cleanEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  proc.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString()));
  proc.stderr!.on('data', (chunk: Buffer) => (err += chunk.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    proc.once('exit', (code, signal) => resolve({ code, signal })),
  );
  return { proc, stdout: () => out, stderr: () => err, exited };
}

/** Run to completion; the process must exit on its own. */
async function runToExit(args: string[], env?: Record<string, string>): Promise<{ code: number | null; stderr: string; stdout: string }> {
  const r = run(args, env);
  try {
    const { code } = await withTimeout(r.exited, `herald ${args.join(' ')} to exit`, SAFETY_MS);
    return { code, stderr: r.stderr(), stdout: r.stdout() };
  } finally {
    if (r.proc.exitCode === null && r.proc.signalCode === null) r.proc.kill('SIGKILL');
  }
}

/**
 * Start, wait for "herald started", check it serves /healthz, then SIGTERM: it
 * must exit 0. The /healthz answer also orders things: main.ts installs its
 * SIGTERM handler right after logging "herald started", in the same
 * synchronous block, so a SIGTERM sent the instant that line appears can
 * still meet the default action (reported); the process can only answer
 * /healthz once that block has finished.
 */
async function startsAndStops(args: string[], env?: Record<string, string>): Promise<Record<string, unknown>> {
  const r = run(args, env);
  try {
    await waitUntil(
      () => r.stdout().includes('herald started') || r.proc.exitCode !== null,
      `herald ${args.join(' ')} to start`,
      SAFETY_MS,
    );
    assert.equal(r.proc.exitCode, null, `exited early with ${r.proc.exitCode}: ${r.stderr()}`);
    const line = r.stdout().split('\n').find((l) => l.includes('herald started'));
    const started = JSON.parse(line as string) as Record<string, unknown>;
    const api = new URL(String(started.api));
    // Reach the API over loopback whatever address it is bound to.
    const host = api.hostname === '0.0.0.0' ? '127.0.0.1' : api.hostname;
    const health = await fetch(`http://${host}:${api.port}/healthz`);
    assert.equal(health.status, 200);
    await health.text();
    r.proc.kill('SIGTERM');
    const { code, signal } = await withTimeout(r.exited, 'herald to drain after SIGTERM', SAFETY_MS);
    assert.equal(signal, null);
    assert.equal(code, 0, r.stderr());
    return started;
  } finally {
    if (r.proc.exitCode === null && r.proc.signalCode === null) r.proc.kill('SIGKILL');
  }
}

function assertRefusal(result: { code: number | null; stderr: string }, flag: string): void {
  assert.equal(result.code, 2, `expected exit code 2, got ${result.code}; stderr: ${result.stderr}`);
  assert.match(result.stderr, /token/i, result.stderr);
  assert.match(result.stderr, /--insecure-push-api/, result.stderr);
  assert.ok(result.stderr.includes(flag), `the message should name ${flag}: ${result.stderr}`);
}

describe('startup: open push API off loopback', () => {
  it('--api-host 0.0.0.0 without a token → exit 2, naming the token and --insecure-push-api', async () => {
    assertRefusal(await runToExit([...BASE_ARGS, '--api-host', '0.0.0.0']), '--api-host');
  });

  it('--grpc-host 0.0.0.0 without a token → exit 2', async () => {
    assertRefusal(await runToExit([...BASE_ARGS, '--grpc-host', '0.0.0.0']), '--grpc-host');
  });

  it('HERALD_API_HOST=0.0.0.0 (environment) without a token → exit 2, naming the variable', async () => {
    assertRefusal(await runToExit(BASE_ARGS, { HERALD_API_HOST: '0.0.0.0' }), 'HERALD_API_HOST');
  });

  it('a token shorter than 16 characters is refused (exit 2)', async () => {
    const result = await runToExit([...BASE_ARGS, '--api-host', '0.0.0.0', '--push-tokens', 'short-token']);
    assert.equal(result.code, 2, result.stderr);
    assert.match(result.stderr, /16 characters/);
  });

  it('--api-host 0.0.0.0 --insecure-push-api → starts; SIGTERM → exit 0', async () => {
    const started = await startsAndStops([...BASE_ARGS, '--api-host', '0.0.0.0', '--insecure-push-api']);
    assert.equal(started.pushAuth, 'open');
  });

  it('--api-host 0.0.0.0 --grpc-host 0.0.0.0 --push-tokens <20 chars> → starts with bearer auth; SIGTERM → exit 0', async () => {
    const started = await startsAndStops([
      ...BASE_ARGS,
      '--api-host',
      '0.0.0.0',
      '--grpc-host',
      '0.0.0.0',
      '--push-tokens',
      'p'.repeat(20),
    ]);
    assert.equal(started.pushAuth, 'bearer');
  });

  it('HERALD_PUSH_TOKENS (two tokens) with --api-host 0.0.0.0 → starts', async () => {
    const started = await startsAndStops([...BASE_ARGS, '--api-host', '0.0.0.0'], {
      HERALD_PUSH_TOKENS: `${'q'.repeat(16)},${'r'.repeat(16)}`,
    });
    assert.equal(started.pushAuth, 'bearer');
  });

  it('another loopback address (127.0.0.2) without a token is allowed', async () => {
    const started = await startsAndStops([...BASE_ARGS, '--api-host', '127.0.0.2']);
    assert.match(String(started.api), /^http:\/\/127\.0\.0\.2:\d+$/);
    assert.equal(started.pushAuth, 'open');
  });
});
