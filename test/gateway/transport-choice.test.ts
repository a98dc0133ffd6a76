/**
 * The raw-handle self-check and the transport choice (`--transport auto|raw|net`):
 * a binding that throws or stays silent turns `auto` into `net` with a reason,
 * and `raw` into a clear refusal; a process whose Node lacks the bindings
 * (simulated with a preload that breaks `process.binding`) still serves.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as rawTcp from '../../src/gateway/raw-tcp.js';
import { checkRawTcp, chooseTransport, TransportError, type RawTcpApi } from '../../src/gateway/transport-choice.js';
import { OpCode } from '../../src/protocol/index.js';
import { RawClient } from '../helpers/raw-client.js';
import { startServer, withTimeout } from '../helpers/server.js';
import { HERALD_MAIN, PROCESS_WAIT_MS } from '../helpers/herald-process.js';

/** Makes every `process.binding` call throw, as on a Node that dropped the internal bindings. */
const NO_BINDINGS = '--import=data:text/javascript,process.binding=(name)=>{throw new Error("no binding "+name)}';

function run(args: string[], stopAfterStart: boolean): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [NO_BINDINGS, HERALD_MAIN, '--ws-host', '127.0.0.1', '--ws-port', '0', '--api-port', '0', '--grpc-port', '0', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('HERALD_'))),
  });
  const out = { stdout: '', stderr: '' };
  let stopping = false;
  child.stdout.on('data', (chunk: Buffer) => {
    out.stdout += chunk.toString();
    // One SIGTERM starts the drain (repeats are ignored; see src/shutdown-signals.ts).
    if (stopAfterStart && !stopping && out.stdout.includes('herald started')) {
      stopping = true;
      child.kill('SIGTERM');
    }
  });
  child.stderr.on('data', (chunk: Buffer) => (out.stderr += chunk.toString()));
  const exited = new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) =>
    child.once('exit', (code) => resolve({ code, ...out })),
  );
  return withTimeout(exited, 'herald to exit', PROCESS_WAIT_MS).finally(() => child.kill('SIGKILL'));
}

function logLines(stdout: string): Record<string, unknown>[] {
  return stdout.split('\n').filter((line) => line.startsWith('{')).map((line) => JSON.parse(line) as Record<string, unknown>);
}

describe('raw TCP self-check', () => {
  it('passes on this Node', async () => {
    assert.equal(await checkRawTcp(), undefined);
  });

  it('reports bindings that cannot be loaded', async () => {
    const api: RawTcpApi = { ...rawTcp, rawTcpAvailable: false };
    assert.match((await checkRawTcp(api)) ?? '', /cannot be loaded/);
  });

  it('reports a binding that throws (a changed write request)', async () => {
    const api: RawTcpApi = {
      ...rawTcp,
      newWriteRequest() {
        throw new Error('WriteWrap is not a constructor');
      },
    };
    assert.match((await checkRawTcp(api)) ?? '', /threw: WriteWrap is not a constructor/);
  });

  it('reports a binding that returns an error code', async () => {
    const api: RawTcpApi = {
      ...rawTcp,
      newClientTcpHandle() {
        const handle = rawTcp.newClientTcpHandle();
        handle.readStart = () => -22;
        return handle;
      },
    };
    assert.match((await checkRawTcp(api)) ?? '', /readStart returned -22/);
  });

  it('reports reads that never deliver the bytes, within its bound', async () => {
    // A changed read-state layout: every read looks empty, so the echo never completes.
    const api: RawTcpApi = { ...rawTcp, lastReadResult: () => 0 };
    assert.match((await checkRawTcp(api, 300)) ?? '', /no answer within 300 ms/);
  });

  it('reports reads whose bytes come back wrong', async () => {
    const api: RawTcpApi = { ...rawTcp, lastReadBuffer: (buffer, nread) => Buffer.alloc(nread, 0x78) };
    assert.match((await checkRawTcp(api)) ?? '', /echo came back as/);
  });
});

describe('chooseTransport', () => {
  const failing = () => Promise.resolve('readStart returned -22');
  const passing = () => Promise.resolve(undefined);

  it('auto: raw when the check passes, net with the reason when it fails', async () => {
    assert.deepEqual(await chooseTransport('auto', passing), { transport: 'raw' });
    assert.deepEqual(await chooseTransport('auto', failing), { transport: 'net', fallbackReason: 'readStart returned -22' });
  });

  it('raw: refuses with the reason when the check fails', async () => {
    assert.deepEqual(await chooseTransport('raw', passing), { transport: 'raw' });
    await assert.rejects(chooseTransport('raw', failing), (error: unknown) => {
      assert.ok(error instanceof TransportError);
      assert.match(error.message, /--transport raw: .*self-check \(readStart returned -22\).*--transport net/);
      return true;
    });
  });

  it('net: never runs the check', async () => {
    assert.deepEqual(await chooseTransport('net', () => assert.fail('checked')), { transport: 'net' });
  });

  it('a server on auto whose check fails serves on net and says why', async (t) => {
    const s = await startServer(t, { transport: 'auto', rawTcpCheck: failing });
    assert.equal(s.server.transport, 'net');
    assert.equal(s.server.transportFallbackReason, 'readStart returned -22');
    const client = s.track(await RawClient.open(s.port));
    client.send(OpCode.Text, 'hello');
    assert.deepEqual(await client.nextEvent(), { type: 'message', data: Buffer.from('hello'), isText: true });
  });
});

describe('herald on a Node without the raw bindings', () => {
  it('auto: logs a warning with the reason and serves on net', async () => {
    const { code, stdout } = await run([], true);
    assert.equal(code, 0);
    const lines = logLines(stdout);
    const warning = lines.find((line) => line.level === 40);
    assert.match(String(warning?.msg), /failed their self-check; serving on net/);
    assert.match(String(warning?.reason), /cannot be loaded/);
    assert.equal(lines.find((line) => line.msg === 'herald started')?.transport, 'net');
  });

  it('raw: does not start, and says why', async () => {
    const { code, stdout, stderr } = await run(['--transport', 'raw'], false);
    assert.equal(code, 1);
    assert.ok(!stdout.includes('herald started'));
    assert.match(stderr, /^herald: --transport raw: .*self-check \(the tcp_wrap\/stream_wrap bindings cannot be loaded\)/);
  });

  it('--workers 2 falls back like a single node', async () => {
    const { code, stdout } = await run(['--workers', '2'], true);
    assert.equal(code, 0);
    const lines = logLines(stdout);
    assert.match(String(lines.find((line) => line.level === 40)?.msg), /workers serve on net/);
    assert.equal(lines.find((line) => line.msg === 'herald started')?.transport, 'net');
  });
});
