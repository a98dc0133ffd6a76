import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { FrameRun, appendFrame, forgetFrameMemo, type PendingFrames } from '../../src/gateway/frame-run.js';

/** What a connection's queue holds, as a list of frames. */
function framesOf(pending: PendingFrames): Buffer[] {
  if (pending === null) return [];
  return pending instanceof FrameRun ? [...pending.frames] : [pending];
}

function queue(pending: PendingFrames, frame: Buffer): PendingFrames {
  return pending === null ? frame : appendFrame(pending, frame);
}

describe('FrameRun queues', () => {
  it('lets connections in the same state share one run, built and concatenated once', () => {
    forgetFrameMemo();
    const [a, b, c] = [Buffer.from('a'), Buffer.from('b'), Buffer.from('c')];
    const conns: PendingFrames[] = [null, null, null, null];
    for (const frame of [a, b, c]) for (let i = 0; i < conns.length; i++) conns[i] = queue(conns[i], frame);
    const run = conns[0] as FrameRun;
    assert.ok(run instanceof FrameRun);
    for (const p of conns) assert.equal(p, run, 'every connection holds the same run');
    assert.deepEqual(run.frames, [a, b, c]);
    assert.equal(run.bytes, 3);
    assert.equal(run.concat().toString(), 'abc');
    assert.equal(run.concat(), run.concat(), 'concatenated once');
  });

  it('never changes a run another connection holds', () => {
    forgetFrameMemo();
    const [a, b, x, y] = ['a', 'b', 'x', 'y'].map((t) => Buffer.from(t));
    let p1: PendingFrames = queue(queue(null, a), b);
    let p2: PendingFrames = queue(queue(null, a), b);
    assert.equal(p1, p2);
    p1 = queue(p1, x);
    p2 = queue(p2, y);
    assert.deepEqual(framesOf(p1).map(String), ['a', 'b', 'x']);
    assert.deepEqual(framesOf(p2).map(String), ['a', 'b', 'y']);
  });

  it('appends in place to a run only one connection holds', () => {
    forgetFrameMemo();
    const frames = ['a', 'b', 'c', 'd', 'e'].map((t) => Buffer.from(t));
    let p: PendingFrames = null;
    for (const f of frames.slice(0, 2)) p = queue(p, f);
    forgetFrameMemo();
    const run = p as FrameRun;
    for (const f of frames.slice(2)) p = queue(p, f);
    assert.equal(p, run, 'the same run, grown in place');
    assert.equal(run.concat().toString(), 'abcde');
  });

  it('matches a queue per connection under random fan-outs, unicasts, flushes and memo resets (seeded)', () => {
    forgetFrameMemo();
    let seed = Number(process.env.HERALD_FUZZ_SEED ?? 20261121);
    const random = (): number => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed / 2147483648;
    };
    const pool = Array.from({ length: 12 }, (_, i) => Buffer.from(`frame-${i}`));
    const n = 40;
    const model: Buffer[][] = Array.from({ length: n }, () => []);
    const conns: PendingFrames[] = Array.from({ length: n }, () => null);
    const check = (): void => {
      for (let i = 0; i < n; i++) {
        assert.deepEqual(framesOf(conns[i]), model[i], `connection ${i} (seed ${process.env.HERALD_FUZZ_SEED ?? 20261121})`);
        const p = conns[i];
        if (p instanceof FrameRun) {
          assert.equal(p.bytes, model[i].reduce((sum, f) => sum + f.length, 0));
          assert.deepEqual(p.concat(), Buffer.concat(model[i]));
        }
      }
    };
    for (let step = 0; step < 5_000; step++) {
      const r = random();
      const frame = pool[Math.floor(random() * pool.length)];
      if (r < 0.4) {
        // Fan-out to a contiguous range (a topic's audience).
        const from = Math.floor(random() * n);
        const to = from + Math.floor(random() * (n - from));
        for (let i = from; i <= to; i++) {
          conns[i] = queue(conns[i], frame);
          model[i].push(frame);
        }
      } else if (r < 0.75) {
        const i = Math.floor(random() * n);
        conns[i] = queue(conns[i], frame);
        model[i].push(frame);
      } else if (r < 0.95) {
        const i = Math.floor(random() * n);
        if (conns[i] instanceof FrameRun) (conns[i] as FrameRun).concat();
        conns[i] = null;
        model[i] = [];
      } else {
        forgetFrameMemo();
      }
      if (step % 50 === 0) check();
    }
    check();
  });
});

describe('FrameRun queues of a lone busy connection', () => {
  it('grow in place after the first copy, even while the memo names them', () => {
    forgetFrameMemo();
    const frames = Array.from({ length: 6 }, (_, i) => Buffer.from(`m${i}`));
    let p: PendingFrames = queue(queue(null, frames[0]), frames[1]);
    const run = p as FrameRun;
    for (const f of frames.slice(2)) p = queue(p, f);
    assert.equal(p, run, 'no copy per append');
    assert.equal(run.concat().toString(), 'm0m1m2m3m4m5');
    // Another connection in the state the memo had recorded still gets exactly its own queue.
    const other = queue(frames[0], frames[1]);
    assert.deepEqual(framesOf(other).map(String), ['m0', 'm1']);
  });
});
