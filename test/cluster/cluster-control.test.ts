/**
 * The `--workers` IPC control plane (memory engine) without processes: a
 * ClusterPrimaryControl and ClusterWorkerControls joined by fake IPC channels
 * (asynchronous, FIFO, like node:cluster's).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Worker } from 'node:cluster';
import { ClusterPrimaryControl, workerNodeId } from '../../src/cluster/cluster-control.js';
import { ClusterWorkerControl } from '../../src/cluster/cluster-worker-control.js';
import type { PresenceEntry } from '../../src/control/control-plane.js';
import { FakeHandler } from '../control/control-plane-suite.js';

/** One worker: its fake `Worker` seen by the primary, its control plane, its node's handler. */
interface FakeWorker {
  worker: Worker;
  control: ClusterWorkerControl;
  handler: FakeHandler;
  /** Stop answering the primary (a hung worker). */
  mute(): void;
  /** Messages the worker sent, as the primary got them. */
  sent: unknown[];
}

let nextWorkerId = 1;

function fakeWorker(primary: ClusterPrimaryControl, errors: Error[] = []): FakeWorker {
  const id = nextWorkerId++;
  const nodeId = workerNodeId('base', id);
  let connected = true;
  let muted = false;
  const sent: unknown[] = [];
  const worker = {
    id,
    isConnected: () => connected,
    send(message: unknown, _handle: unknown, _options: unknown, callback?: (error: Error | null) => void) {
      // A structured clone, delivered on a later turn, in order.
      const copy = structuredClone(message);
      setImmediate(() => {
        callback?.(null);
        if (!muted) control.receive(copy);
      });
      return true;
    },
    kill() {
      connected = false;
    },
  } as unknown as Worker;
  const control = new ClusterWorkerControl({
    nodeId,
    send: (message) => {
      const copy = structuredClone(message);
      sent.push(copy);
      setImmediate(() => primary.receive(worker, copy));
    },
    onError: (error) => errors.push(error),
  });
  const handler = new FakeHandler({ id: nodeId, address: '127.0.0.1:1', connections: 0, subscriptions: 0, uptimeMs: 0, version: 'test' });
  primary.attach(worker, nodeId);
  return {
    worker,
    control,
    handler,
    sent,
    mute: () => {
      muted = true;
    },
  };
}

async function started(primary: ClusterPrimaryControl, count: number): Promise<FakeWorker[]> {
  const workers = Array.from({ length: count }, () => fakeWorker(primary));
  for (const w of workers) {
    await w.control.start(w.handler);
    primary.ready(w.worker);
  }
  return workers;
}

const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
async function settle(): Promise<void> {
  for (let i = 0; i < 4; i++) await turn();
}

function entry(w: FakeWorker, n: number, uid: string): PresenceEntry {
  return { client: `${w.control.nodeId}.${n}`, uid, node: w.control.nodeId, connectedAt: 1_000 + n };
}

describe('cluster IPC control plane', () => {
  it('presence of every worker is kept by the primary (stats O(1), users counted once); one message per worker per turn', async () => {
    const primary = new ClusterPrimaryControl({ nodeId: 'base' });
    const [a, b] = await started(primary, 2);
    for (let n = 1; n <= 3; n++) a.control.presenceAdd('room', entry(a, n, n === 1 ? 'alice' : ''));
    b.control.presenceAdd('room', entry(b, 1, 'alice'));
    await settle();
    assert.equal(a.sent.length, 1, 'three adds in one turn: one message');
    assert.deepEqual(await primary.presenceStats('room'), { clients: 4, users: 1 });
    const listed = await primary.presence('room', 10);
    assert.deepEqual(new Set(listed.map((e) => e.node)), new Set([a.control.nodeId, b.control.nodeId]));
    // A worker's own reads go through the primary and see its reports of the same turn.
    a.control.presenceRemove('room', entry(a, 2, ''));
    assert.deepEqual(await a.control.presenceStats('room'), { clients: 3, users: 1 });
    assert.equal((await b.control.presence('room', 2)).length, 2);
  });

  it('a worker that exits takes its entries and watches with it at once; another cannot remove them', async () => {
    const primary = new ClusterPrimaryControl({ nodeId: 'base' });
    const [a, b] = await started(primary, 2);
    a.control.presenceAdd('room', entry(a, 1, 'alice'));
    b.control.presenceAdd('room', entry(b, 1, 'bob'));
    // b claims a's entry: ignored (a worker speaks only for itself).
    b.control.presenceRemove('room', entry(a, 1, 'alice'));
    await settle();
    assert.deepEqual(await primary.presenceStats('room'), { clients: 2, users: 2 });
    primary.detach(a.worker);
    assert.deepEqual(await primary.presenceStats('room'), { clients: 1, users: 1 });
    assert.deepEqual((await primary.presence('room', 10)).map((e) => e.uid), ['bob']);
    assert.deepEqual((await primary.info()).map((n) => n.id), [b.control.nodeId]);
  });

  it('command, info and channels are gathered from every ready worker; a silent one is left out after the timeout', async () => {
    const primary = new ClusterPrimaryControl({ nodeId: 'base', replyTimeoutMs: 200 });
    const [a, b, c] = await started(primary, 3);
    a.handler.affected.set('alice', 1);
    b.handler.affected.set('alice', 2);
    c.handler.affected.set('alice', 4);
    a.handler.topics.set('news', 1);
    b.handler.topics.set('news', 2);
    b.handler.topics.set('sport', 5);
    assert.equal(await primary.command({ op: 'disconnect', uid: 'alice', code: 4100, reason: 'x' }), 7);
    assert.deepEqual(a.handler.applied, [{ op: 'disconnect', uid: 'alice', code: 4100, reason: 'x' }]);
    assert.deepEqual((await primary.info()).map((n) => n.id), [a, b, c].map((w) => w.control.nodeId).sort());
    assert.deepEqual(await primary.channels(undefined, undefined, 1), { channels: [{ topic: 'news', subscribers: 3 }], cursor: 'news' });
    assert.deepEqual(await primary.channels('sp*', 'news', 10), { channels: [{ topic: 'sport', subscribers: 5 }] });
    c.mute();
    assert.equal(await primary.command({ op: 'disconnect', uid: 'alice', code: 4100, reason: 'x' }), 3);
    // A worker that is forked but not started yet is not asked.
    fakeWorker(primary);
    assert.equal((await primary.info()).length, 2);
  });

  it('join/leave events reach the workers watching the topic (the reporter included), and only while they watch', async () => {
    const primary = new ClusterPrimaryControl({ nodeId: 'base' });
    const [a, b, c] = await started(primary, 3);
    a.control.watchJoinLeave('lobby', true);
    b.control.watchJoinLeave('lobby', true);
    await settle();
    const joiner = entry(b, 1, 'dave');
    b.control.publishJoinLeave({ kind: 'join', topic: 'lobby', entry: joiner });
    c.control.publishJoinLeave({ kind: 'join', topic: 'other', entry: entry(c, 1, 'erin') });
    await settle();
    assert.deepEqual(a.handler.events, [{ kind: 'join', topic: 'lobby', entry: joiner }]);
    assert.deepEqual(b.handler.events, [{ kind: 'join', topic: 'lobby', entry: joiner }]);
    assert.deepEqual(c.handler.events, []);
    a.control.watchJoinLeave('lobby', false);
    b.control.publishJoinLeave({ kind: 'leave', topic: 'lobby', entry: joiner });
    await settle();
    assert.equal(a.handler.events.length, 1);
    assert.equal(b.handler.events.length, 2);
  });

  it('a malformed message is ignored and reported, on both sides; other messages are left to the caller', async () => {
    const errors: Error[] = [];
    const primary = new ClusterPrimaryControl({ nodeId: 'base', onError: (error) => errors.push(error) });
    const [a] = await started(primary, 1);
    const bad: unknown[] = [
      { t: 'cp', ops: [['+', 'room', 'x']] },
      { t: 'cp', ops: 'nope' },
      { t: 'cp', ops: [['?', 'room']] },
      { t: 'cr', id: -1 },
      { t: 'cr', id: 1, affected: 'many' },
      { t: 'ca', id: 1, q: { kind: 'presence', topic: 5, limit: 1 } },
      { t: 'ca', id: 1, q: { kind: 'command', command: { op: 'explode', uid: 'x' } } },
    ];
    for (const message of bad) assert.equal(primary.receive(a.worker, message), true);
    assert.equal(errors.length, bad.length);
    for (const message of [null, 'text', 42, { t: 'hello' }, { t: 'ready', port: 1 }]) assert.equal(primary.receive(a.worker, message), false);
    assert.deepEqual(await primary.presenceStats('room'), { clients: 0, users: 0 });

    const workerErrors: Error[] = [];
    const control = new ClusterWorkerControl({ nodeId: 'w', send: () => {}, onError: (error) => workerErrors.push(error) });
    await control.start(new FakeHandler({ id: 'w', address: '', connections: 0, subscriptions: 0, uptimeMs: 0, version: '' }));
    for (const message of [{ t: 'jl', events: [['join', 'lobby']] }, { t: 'cq', id: 1, q: { kind: 'nope' } }, { t: 'cv', id: 'x' }]) {
      assert.equal(control.receive(message), true);
    }
    assert.equal(workerErrors.length, 3);
    assert.equal(control.receive({ t: 'pub', items: [] }), false);
    await control.close();
  });

  it('a worker question the primary never answers rejects with 503 after its timeout', async () => {
    const control = new ClusterWorkerControl({ nodeId: 'w', send: () => {}, askTimeoutMs: 50 });
    await assert.rejects(control.presenceStats('room'), { name: 'EngineUnavailableError' });
    await control.close();
  });

  it('worker node ids: <base>-w<id>, within 64 characters', () => {
    assert.equal(workerNodeId('abc', 3), 'abc-w3');
    const long = workerNodeId('x'.repeat(64), 12);
    assert.equal(long.length, 64);
    assert.ok(long.endsWith('-w12'));
  });
});
