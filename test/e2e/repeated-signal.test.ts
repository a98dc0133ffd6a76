/**
 * `npm start` under a supervisor or a terminal: the same SIGTERM or Ctrl-C
 * reaches Node twice (the process group's signal, then npm's forwarded copy).
 * The repeat must not cut the drain short.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import WebSocket from 'ws';
import { HeraldProcess, PROCESS_WAIT_MS } from '../helpers/herald-process.js';
import { waitUntil } from '../helpers/wait.js';

describe('a repeated SIGTERM', () => {
  it('still drains: clients are closed with 1001 and the process exits 0', async () => {
    const herald = await HeraldProcess.start({ name: 'repeat' });
    try {
      const ws = new WebSocket(herald.wsUrl);
      const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
      await new Promise<void>((resolve, reject) => {
        ws.once('message', () => resolve());
        ws.once('error', reject);
      });
      // The client reads nothing until the second signal is sent, so it cannot answer the 1001 close
      // and the drain waits for it: without this the drain could end (and the process be gone, the
      // second kill failing ESRCH) before the repeat, and the test would depend on how fast it ran.
      const socket = (ws as unknown as { _socket: import('node:net').Socket })._socket;
      socket.pause();
      process.kill(herald.pid, 'SIGTERM');
      await waitUntil(() => herald.stdout.includes('draining'), 'the drain to begin', PROCESS_WAIT_MS);
      process.kill(herald.pid, 'SIGTERM');
      socket.resume();
      const exit = await herald.exited;
      assert.deepEqual(exit, { code: 0, signal: null }, herald.stdout + herald.stderr);
      assert.equal(await closed, 1001);
      assert.match(herald.stdout, /herald stopped/);
    } finally {
      await herald.kill();
    }
  });
});
