/**
 * Connection events in the log at debug level: one line per open (remote
 * address, subprotocol), per close (code and reason), per heartbeat close, and
 * per refused upgrade (HTTP status). Above debug they cost a boolean test and
 * write nothing.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { pino, type Logger } from 'pino';
import WebSocket from 'ws';
import { startNode, waitUntil, type TestNode } from '../helpers/herald-node.js';

interface Line {
  level: number;
  msg: string;
  remote?: string;
  protocol?: string;
  code?: number | string;
  reason?: string;
  status?: number;
}

/** A pino logger writing into an array, as main.ts's logger writes to stdout. */
function captureLogger(level: string): { logger: Logger; lines: Line[] } {
  const lines: Line[] = [];
  const logger = pino({ level, base: null }, { write: (line: string) => void lines.push(JSON.parse(line) as Line) });
  return { logger, lines };
}

const nodes: TestNode[] = [];
after(async () => {
  await Promise.all(nodes.map((node) => node.stop()));
});

async function node(level: string, options: Parameters<typeof startNode>[0] = {}): Promise<{ h: TestNode; lines: Line[]; logger: Logger }> {
  const { logger, lines } = captureLogger(level);
  const h = await startNode({ logger, ...options });
  nodes.push(h);
  return { h, lines, logger };
}

/** An upgrade the server refuses: resolves with the HTTP status the client got. */
function refusedUpgrade(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    // terminate() while connecting reports an error: expected here.
    ws.on('error', () => {});
    ws.once('unexpected-response', (_req, res) => {
      resolve(res.statusCode ?? 0);
      res.resume();
      ws.terminate();
    });
    ws.once('open', () => reject(new Error('the upgrade was accepted')));
  });
}

describe('connection events in the debug log', () => {
  it('logs an open with the remote address and protocol, and a close with its code and reason', async () => {
    const { h, lines } = await node('debug');
    const c = await h.connect();
    await waitUntil(() => lines.some((l) => l.msg === 'connection opened'), 'the open line');
    const opened = lines.find((l) => l.msg === 'connection opened') as Line;
    assert.equal(opened.level, 20);
    assert.equal(opened.remote, '127.0.0.1');
    assert.equal(opened.protocol, 'gpush');

    c.ws.close(1000, 'bye');
    await waitUntil(() => lines.some((l) => l.msg === 'connection closed'), 'the close line');
    const closed = lines.find((l) => l.msg === 'connection closed') as Line;
    assert.deepEqual({ level: closed.level, remote: closed.remote, code: closed.code, reason: closed.reason }, {
      level: 20,
      remote: '127.0.0.1',
      code: 1000,
      reason: 'bye',
    });

    const v1 = new WebSocket(h.wsUrl, 'herald.v1');
    v1.on('error', () => {});
    await waitUntil(() => lines.filter((l) => l.msg === 'connection opened').length === 2, 'the second open line');
    assert.equal(lines.filter((l) => l.msg === 'connection opened')[1].protocol, 'herald.v1');
    v1.terminate();
  });

  it('logs a heartbeat close as such, with code 4000', async () => {
    const { h, lines } = await node('debug', { heartbeatTimeoutMs: 600, timerResolutionMs: 50 });
    // A client that neither sends nor answers pings is silent whatever the server does to keep it alive.
    const c = await h.connect({ ws: { autoPong: false } });
    assert.equal((await c.closed()).code, 4000);
    await waitUntil(() => lines.some((l) => l.msg === 'connection closed: heartbeat timeout'), 'the heartbeat line');
    const line = lines.find((l) => l.msg === 'connection closed: heartbeat timeout') as Line;
    assert.equal(line.code, 4000);
    assert.equal(line.remote, '127.0.0.1');
  });

  it('logs a refused upgrade with its HTTP status, code and reason', async () => {
    const { h, lines } = await node('debug');
    const wrongPath = h.wsUrl.replace(/\/ws$/, '/nope');
    assert.equal(await refusedUpgrade(wrongPath), 404);
    await waitUntil(() => lines.some((l) => l.msg === 'upgrade refused'), 'the refusal line');
    const line = lines.find((l) => l.msg === 'upgrade refused') as Line;
    assert.equal(line.level, 20);
    assert.equal(line.status, 404);
    assert.equal(line.code, 'NOT_FOUND');
    assert.equal(line.remote, '127.0.0.1');
    assert.equal(typeof line.reason, 'string');
  });

  it('writes none of them above debug, and starts when the level is lowered at run time', async () => {
    const { h, lines, logger } = await node('info');
    const c = await h.connect();
    c.ws.close(1000, 'bye');
    await c.closed();
    assert.equal(await refusedUpgrade(h.wsUrl.replace(/\/ws$/, '/nope')), 404);
    await waitUntil(() => h.node.ws.connectionCount === 0, 'the node to forget the client');
    assert.equal(lines.length, 0, JSON.stringify(lines));

    logger.level = 'debug';
    const d = await h.connect();
    await waitUntil(() => lines.some((l) => l.msg === 'connection opened'), 'the open line after the level change');
    d.terminate();
  });
});
