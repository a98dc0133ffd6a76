/**
 * `herald serve` ends cleanly whatever happens to its output, and a listener
 * that cannot bind is reported as a mistake to correct: which port, which
 * option moves it, exit 1, no stack trace, no stray gRPC line.
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { after, describe, it } from 'node:test';
import { waitUntil } from '../helpers/herald-node.js';
import { collect, spawnCli, type CliResult } from './run-cli.js';

/** Safety bound on an exit after SIGTERM (the drain of an idle server is immediate); never a timing assertion. */
const EXIT_BOUND_MS = 15_000;

const started: ChildProcess[] = [];
after(() => {
  // Only the processes this file started, by their handle.
  for (const proc of started) if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
});

/** A TCP listener on 127.0.0.1 holding a free port, closed after the test. */
async function occupyPort(): Promise<{ port: number; server: Server }> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  return { port: (server.address() as AddressInfo).port, server };
}

/** Resolves with the exit status, or null if the process is still running after `ms`. */
function exitWithin(proc: ChildProcess, ms: number): Promise<{ code: number | null; signal: NodeJS.Signals | null } | null> {
  if (proc.exitCode !== null || proc.signalCode !== null) return Promise.resolve({ code: proc.exitCode, signal: proc.signalCode });
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(null), ms);
    proc.once('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal });
    });
  });
}

describe('herald serve: shutdown with a closed stdout', () => {
  it('SIGTERM after the reader of stdout went away (herald serve | head -1) exits', async () => {
    const proc = spawnCli(['serve', '--ws-host', '127.0.0.1', '--ws-port', '0', '--api-port', '0', '--grpc-port', '0']);
    started.push(proc);
    let out = '';
    const stderr: string[] = [];
    proc.stderr?.on('data', (chunk: Buffer) => stderr.push(chunk.toString('utf8')));
    proc.stdout?.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')));
    await waitUntil(() => out.includes('\n') || proc.exitCode !== null, 'the first log line', 20_000);
    const first = JSON.parse(out.slice(0, out.indexOf('\n'))) as { msg: string; api: string };
    assert.equal(first.msg, 'herald started');
    // Once the server answers, its SIGTERM handler is in place (installed before that line is logged).
    const health = await fetch(`${first.api}/healthz`);
    await health.text();
    // Like `head -1` exiting: the read end of the pipe closes, every later write gets EPIPE.
    proc.stdout?.destroy();
    await new Promise((resolve) => setImmediate(resolve));
    proc.kill('SIGTERM');
    const exit = await exitWithin(proc, EXIT_BOUND_MS);
    if (exit === null) proc.kill('SIGKILL');
    assert.notEqual(exit, null, `still running ${EXIT_BOUND_MS} ms after SIGTERM; stderr: ${stderr.join('')}`);
    assert.deepEqual(exit, { code: 0, signal: null }, stderr.join(''));
  });
});

describe('herald serve: a port in use', () => {
  const cases = [
    { name: 'WebSocket', flag: '--ws-port', env: 'HERALD_WS_PORT', workers: 1 },
    { name: 'HTTP push API', flag: '--api-port', env: 'HERALD_API_PORT', workers: 1 },
    { name: 'gRPC push API', flag: '--grpc-port', env: 'HERALD_GRPC_PORT', workers: 1 },
    // The primary binds the port and hands the handle to its workers: libuv defers the bind's
    // EADDRINUSE to listen(), so the workers used to listen on a random port instead.
    { name: 'WebSocket', flag: '--ws-port', env: 'HERALD_WS_PORT', workers: 2 },
  ];
  for (const { name, flag, env, workers } of cases) {
    it(`${name} port taken${workers > 1 ? ` (--workers ${workers})` : ''} → exit 1 naming the port and ${flag}, no stack trace`, async () => {
      const { port, server } = await occupyPort();
      try {
        const ports: Record<string, string> = { '--ws-port': '0', '--api-port': '0', '--grpc-port': '0', [flag]: String(port) };
        const args = ['serve', '--ws-host', '127.0.0.1', ...Object.entries(ports).flat(), '--workers', String(workers)];
        const proc = spawnCli(args);
        started.push(proc);
        const done = collect(proc);
        let out = '';
        proc.stdout?.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')));
        let exited = false;
        void done.then(() => (exited = true), () => (exited = true));
        await waitUntil(() => exited || out.includes('herald started'), 'herald serve to fail', 20_000);
        if (!exited) {
          proc.kill('SIGKILL');
          assert.fail(`herald serve started although port ${port} was taken: ${out}`);
        }
        const result: CliResult = await done;
        assert.equal(result.code, 1, `${result.stdout}\n${result.stderr}`);
        const output = `${result.stdout}${result.stderr}`;
        assert.match(result.stderr, new RegExp(`port ${port} is in use`));
        assert.ok(result.stderr.includes(`${flag} / ${env}`), result.stderr);
        assert.ok(result.stderr.includes(`127.0.0.1:${port}`), result.stderr);
        assert.doesNotMatch(output, /\n\s+at |"stack"/, 'no stack trace');
        // One line: no "E No address added…" from grpc-js, no JSON record beside it.
        assert.equal(result.stderr.trim().split('\n').length, 1, result.stderr);
        assert.doesNotMatch(output, /No address added/);
      } finally {
        server.close();
      }
    });
  }
});
