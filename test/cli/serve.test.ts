/**
 * `herald serve`: starts the gateway like `npm start` (logs "herald started"),
 * serves WebSocket clients and `herald push`, drains on SIGTERM and exits 0;
 * a bad option exits 2 before anything listens.
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { after, describe, it } from 'node:test';
import WebSocket from 'ws';
import { waitUntil } from '../helpers/herald-node.js';
import { assertUsageError, collect, runCli, spawnCli, type CliResult } from './run-cli.js';

const LOOPBACK = ['--ws-port', '0', '--api-port', '0', '--grpc-port', '0', '--ws-host', '127.0.0.1'];

interface Started {
  proc: ChildProcess;
  done: Promise<CliResult>;
  ws: string;
  api: string;
  output: () => string;
}

const started: ChildProcess[] = [];
after(() => {
  // Only the processes this file started, by their handle, if a test failed before stopping them.
  for (const proc of started) if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
});

async function serve(args: string[]): Promise<Started> {
  const proc = spawnCli(['serve', ...args]);
  started.push(proc);
  let out = '';
  proc.stdout?.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')));
  const done = collect(proc);
  let exited = false;
  void done.then(() => (exited = true), () => (exited = true));
  await waitUntil(() => out.includes('herald started') || exited, '"herald started"', 20_000);
  if (exited) assert.fail(`herald serve exited before starting: ${JSON.stringify(await done)}`);
  const line = out.split('\n').find((l) => l.includes('herald started')) as string;
  const log = JSON.parse(line) as { ws: string; api: string; msg: string };
  // main.ts logs "herald started" just before it installs its SIGTERM/SIGINT handlers, in the same
  // event-loop turn: a signal sent on seeing the line can beat them and kill the process outright.
  // Once the server has answered a request that turn is over and the handlers are in place.
  const health = await fetch(`${log.api}/healthz`);
  assert.equal(health.status, 200);
  await health.text();
  return { proc, done, ws: log.ws, api: log.api, output: () => out };
}

describe('herald serve', () => {
  it('starts, logs "herald started", serves clients and herald push; SIGTERM drains and exits 0', async () => {
    const server = await serve(LOOPBACK);
    assert.match(server.ws, /^ws:\/\/127\.0\.0\.1:\d+\/ws$/);
    assert.match(server.api, /^http:\/\/127\.0\.0\.1:\d+$/);

    const ws = new WebSocket(server.ws);
    const received: string[] = [];
    let closeCode: number | undefined;
    ws.on('message', (data) => received.push(data.toString()));
    ws.on('close', (code) => (closeCode = code));
    await new Promise((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    });
    ws.send(JSON.stringify({ code: 1, topic: 'news' }));
    await waitUntil(() => received.some((m) => m.includes('20001')), 'the subscription');

    const push = await runCli(['push', '--url', server.api, '--topic', 'news', 'served']);
    assert.equal(push.code, 0, push.stderr);
    await waitUntil(() => received.includes('served'), 'the push');

    server.proc.kill('SIGTERM');
    const result = await server.done;
    assert.equal(result.code, 0, result.stderr);
    assert.match(server.output(), /herald stopped/);
    await waitUntil(() => closeCode !== undefined, 'the client to be closed');
    assert.equal(closeCode, 1001);
  });

  it('SIGINT also drains and exits 0', async () => {
    const server = await serve(LOOPBACK);
    server.proc.kill('SIGINT');
    const result = await server.done;
    assert.equal(result.code, 0, result.stderr);
  });

  it('a bad HERALD_* environment variable → 2, naming it', async () => {
    assertUsageError(
      await runCli(['serve', ...LOOPBACK], { env: { HERALD_LOG_LEVEL: 'loud' } }),
      'herald serve',
      /HERALD_LOG_LEVEL/,
    );
  });

  it('a bad option → 2, one line per problem, before anything starts', async () => {
    assertUsageError(await runCli(['serve', ...LOOPBACK, '--ws-port', 'nope']), 'herald serve', /--ws-port: "nope" is not an integer/);
    const two = await runCli(['serve', '--bogus', '--api-port', '70000']);
    assertUsageError(two, 'herald serve', /unknown option --bogus/);
    assert.equal(two.stderr.split('\n').filter(Boolean).length, 3, two.stderr);
    assert.match(two.stderr, /--api-port/);
  });
});
