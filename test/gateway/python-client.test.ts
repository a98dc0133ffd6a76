import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { startServer, waitUntil } from '../helpers/server.js';
import { WAIT_MS } from '../helpers/raw-client.js';

// Compiled to dist/test/gateway/; the fixture stays in the source tree.
const SCRIPT = fileURLToPath(new URL('../../../test/fixtures/ws_client.py', import.meta.url));
// Debian's interpreter, where python3-websockets is installed; `python3` on PATH may be another one.
const PYTHON = '/usr/bin/python3';

interface Digest {
  type: string;
  length: number;
  sha256: string;
}

interface PythonResult {
  error?: string;
  subprotocol: string | null;
  greeting: string;
  text: string;
  binary: { type: string; hex: string };
  sizes: Record<string, Digest>;
  fragmented_text: string;
  fragmented_binary: Digest;
  pong: boolean;
  close_code: number;
  close_reason: string;
}

/** Same bytes as pattern() in ws_client.py. */
function pattern(size: number, seed: number): Buffer {
  const buf = Buffer.allocUnsafe(size);
  let s = seed;
  for (let i = 0; i < size; i++) {
    s = (Math.imul(s, 1103515245) + 12345) & 0x7fffffff;
    buf[i] = (s >> 16) & 0xff;
  }
  return buf;
}

function digest(data: Buffer): Omit<Digest, 'type'> {
  return { length: data.length, sha256: createHash('sha256').update(data).digest('hex') };
}

/** Run the fixture against `url`; kill it (by its PID) if it outlives the safety bound. */
function runPython(url: string): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(PYTHON, [SCRIPT, url], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`python client did not finish in ${3 * WAIT_MS} ms; stderr: ${stderr}`));
    }, 3 * WAIT_MS);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
}

describe('WebSocketServer with the Python websockets client', () => {
  it('runs text, binary, every length class, fragments, ping and a 4000 close against the echo server', async (t) => {
    const s = await startServer(t, {
      // Python sends a 1 MiB message; allow it with room to spare.
      maxMessageSize: 2 * 1024 * 1024,
      onOpen: (conn) => conn.send('welcome'),
    });
    const run = await runPython(`${s.url}/`);
    assert.equal(run.status, 0, `python exited ${run.status}: ${run.stdout} ${run.stderr}`);
    const result = JSON.parse(run.stdout) as PythonResult;
    assert.equal(result.error, undefined);

    assert.equal(result.subprotocol, null);
    assert.equal(result.greeting, 'welcome');
    assert.equal(result.text, 'héllo from python ✓');
    assert.deepEqual(result.binary, { type: 'bytes', hex: '000102feff' });
    for (const size of [125, 126, 65535, 65536, 1024 * 1024]) {
      assert.deepEqual(result.sizes[String(size)], { type: 'bytes', ...digest(pattern(size, size)) }, `${size} bytes`);
    }
    assert.equal(result.fragmented_text, 'fragmented ✓');
    const fragmented = Buffer.concat([Buffer.alloc(70000, 1), Buffer.alloc(10, 2), Buffer.alloc(5000, 3)]);
    assert.deepEqual(result.fragmented_binary, { type: 'bytes', ...digest(fragmented) });
    assert.equal(result.pong, true);
    assert.equal(result.close_code, 4000, 'the server must echo the close code');

    // The server saw every message once, fragments reassembled, and the client's close code and reason.
    const seen = s.rec.messages.map((m) => (m.isText ? m.data.toString('utf8') : `<${m.data.length} bytes>`));
    assert.deepEqual(seen, [
      'héllo from python ✓',
      '<5 bytes>',
      '<125 bytes>',
      '<126 bytes>',
      '<65535 bytes>',
      '<65536 bytes>',
      '<1048576 bytes>',
      'fragmented ✓',
      '<75010 bytes>',
    ]);
    await waitUntil(() => s.rec.closes.length === 1, 'onClose');
    assert.equal(s.rec.closes[0].code, 4000);
    assert.equal(s.rec.closes[0].reason, 'done');
  });
});
