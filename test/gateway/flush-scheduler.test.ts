import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ACCEPT_SLICE, FLUSH_SLICE, FlushScheduler } from '../../src/gateway/flush-scheduler.js';
import type { WebSocketConnection } from '../../src/gateway/connection.js';

/**
 * A stand-in for a connection with the contract the scheduler relies on: a
 * queue, marked dirty when the first frame is queued, written whole by flush().
 */
/**
 * The slice clock of these tests: every fake write takes WRITE_MS, so
 * FLUSH_SLICE writes spend the slice's whole SLICE_MS (powers of two: exact in
 * floating point) and each turn writes exactly FLUSH_SLICE, whatever the
 * machine's speed.
 */
const SLICE_MS = 4;
const WRITE_MS = SLICE_MS / FLUSH_SLICE;

class FakeConnection {
  lastFlushMs = -1;
  queue: string[] | null = null;
  /** Every write: the frames it carried, and the scheduler's write count at that moment. */
  readonly writes: { frames: string[]; at: number }[] = [];
  constructor(
    readonly id: number,
    private readonly log: FakeConnection[],
    private readonly scheduler: () => FlushScheduler,
    private readonly clock: { ms: number; writeMs: number },
  ) {}

  send(frame: string): void {
    if (this.queue === null) {
      this.queue = [frame];
      this.scheduler().markDirty(this as unknown as WebSocketConnection);
    } else {
      this.queue.push(frame);
    }
  }

  flush(): void {
    const queue = this.queue;
    if (queue === null) return;
    this.queue = null;
    this.clock.ms += this.clock.writeMs;
    this.writes.push({ frames: queue, at: this.log.length });
    this.log.push(this);
  }
}

/** One event-loop turn: the scheduler's pending setImmediate runs before this one. */
const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

function setup(count: number, mergeWindowMs = 0, writeMs = WRITE_MS) {
  const log: FakeConnection[] = [];
  const clock = { ms: 0, writeMs };
  const scheduler = new FlushScheduler(mergeWindowMs, { sliceMs: SLICE_MS, now: () => clock.ms });
  const conns = Array.from({ length: count }, (_, i) => new FakeConnection(i, log, () => scheduler, clock));
  return { log, scheduler, conns, clock };
}

describe('FlushScheduler waves', () => {
  it('writes a wave in slices of FLUSH_SLICE connections per turn when they use the time budget, each connection once, in marked order', async () => {
    const count = 2 * FLUSH_SLICE + 10;
    const { log, conns, scheduler } = setup(count);
    for (const c of conns) c.send('a');
    assert.equal(log.length, 0, 'nothing is written in the turn that queued');
    await turn();
    assert.equal(log.length, FLUSH_SLICE);
    assert.equal(scheduler.writing, true);
    await turn();
    assert.equal(log.length, 2 * FLUSH_SLICE);
    await turn();
    assert.equal(log.length, count);
    assert.equal(scheduler.writing, false);
    assert.deepEqual(
      log.map((c) => c.id),
      conns.map((c) => c.id),
    );
    await turn();
    assert.equal(log.length, count, 'nothing written twice');
  });

  it('gives frames queued mid-wave to connections not reached yet, and starts the next wave only when this one ends', async () => {
    const count = 3 * FLUSH_SLICE;
    const { log, conns } = setup(count);
    for (const c of conns) c.send('m1');
    await turn(); // slice 1 of wave 1
    for (const c of conns) c.send('m2'); // as a push read between slices
    await turn(); // slice 2 of wave 1
    for (const c of conns) c.send('m3');
    await turn(); // slice 3: wave 1 ends
    assert.equal(log.length, count, 'wave 1 wrote every connection once; wave 2 has not started');
    await turn(); // wave 2, slice 1
    await turn();
    await turn();
    for (const c of conns) {
      const frames = c.writes.flatMap((w) => w.frames);
      assert.deepEqual(frames, ['m1', 'm2', 'm3'], `connection ${c.id}: every frame once, in order`);
    }
    // Reached in slice 1: m1 alone, then m2+m3 in wave 2. Slice 2: m1+m2, then m3. Slice 3: all three at once.
    assert.deepEqual(conns[0].writes.map((w) => w.frames), [['m1'], ['m2', 'm3']]);
    assert.deepEqual(conns[FLUSH_SLICE].writes.map((w) => w.frames), [['m1', 'm2'], ['m3']]);
    assert.deepEqual(conns[2 * FLUSH_SLICE].writes.map((w) => w.frames), [['m1', 'm2', 'm3']]);
    // Wave 2 begins after the last write of wave 1.
    const lastOfWave1 = Math.max(...conns.map((c) => c.writes[0].at));
    const firstOfWave2 = Math.min(...conns.filter((c) => c.writes.length > 1).map((c) => c.writes[1].at));
    assert.ok(firstOfWave2 > lastOfWave1);
  });

  it('writes a connection marked during a small wave on the next turn', async () => {
    const { log, conns } = setup(3);
    conns[0].send('x');
    await turn();
    conns[0].send('y');
    conns[1].send('z');
    await turn();
    assert.deepEqual(log.map((c) => c.id), [0, 0, 1]);
  });

  it('flushNow writes the wave in progress, the next wave and the held connections at once', async () => {
    const count = 2 * FLUSH_SLICE;
    const { log, conns, scheduler } = setup(count, 10_000);
    for (const c of conns) c.send('a');
    await turn(); // half the wave written
    conns[0].send('b'); // written within the window: held
    assert.equal(log.length, FLUSH_SLICE);
    scheduler.flushNow();
    assert.equal(log.length, count + 1);
    assert.equal(scheduler.writing, false);
    assert.deepEqual(conns[0].writes.map((w) => w.frames), [['a'], ['b']]);
    await turn();
    assert.equal(log.length, count + 1);
  });

  it('writes a short slice in a turn that accepted a connection, so the loop returns to accept the next', async () => {
    const { log, conns, scheduler } = setup(2 * FLUSH_SLICE);
    for (const c of conns) c.send('a');
    scheduler.noteAccept();
    await turn();
    assert.equal(log.length, ACCEPT_SLICE);
    await turn();
    assert.equal(log.length, ACCEPT_SLICE + FLUSH_SLICE, 'no accept since: a full slice');
    scheduler.noteAccept();
    await turn();
    assert.equal(log.length, 2 * ACCEPT_SLICE + FLUSH_SLICE);
    await turn();
    assert.equal(log.length, 2 * FLUSH_SLICE, 'the rest');
    assert.deepEqual(
      log.map((c) => c.id),
      conns.map((c) => c.id),
    );
  });

  it('writes past FLUSH_SLICE while the turn is under its time budget, and never less than FLUSH_SLICE', async () => {
    const cheap = setup(10 * FLUSH_SLICE, 0, 0);
    for (const c of cheap.conns) c.send('a');
    await turn();
    assert.equal(cheap.log.length, 10 * FLUSH_SLICE, 'no time passed: the whole wave in one turn');
    assert.equal(cheap.scheduler.writing, false);

    const halfCost = setup(4 * FLUSH_SLICE, 0, WRITE_MS / 2);
    for (const c of halfCost.conns) c.send('a');
    await turn();
    assert.equal(halfCost.log.length, 2 * FLUSH_SLICE, 'twice as many writes fit in the budget');

    const slow = setup(3 * FLUSH_SLICE, 0, SLICE_MS);
    for (const c of slow.conns) c.send('a');
    await turn();
    assert.equal(slow.log.length, FLUSH_SLICE, 'the budget was spent by the first write: still a full slice');
    await turn();
    assert.equal(slow.log.length, 2 * FLUSH_SLICE);
  });
});
