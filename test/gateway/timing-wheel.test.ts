import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import { TimingWheel, type WheelEntry } from '../../src/internal.js';

// Every test drives the wheel with an injected clock and calls advance() itself.
// The wheel's real (unref'd) interval may also call advance(), but it only ever
// reads the fake clock, so it cannot change what a synchronous test observes.

const TICK = 100;
const SLOTS = 8; // one revolution = 800 ms, so multi-revolution deadlines are cheap to reach

class Entry implements WheelEntry {
  wheelNext: WheelEntry | null = null;
  wheelPrev: WheelEntry | null = null;
  wheelTick = 0;
  constructor(readonly name: string) {}
}

interface Fired {
  entry: Entry;
  at: number;
}

interface Rig {
  wheel: TimingWheel<Entry>;
  fired: Fired[];
  /** Move the fake clock to `t` and process ticks up to it. */
  at(t: number): void;
  /** Move the fake clock to `t` without processing (an idle wheel's interval is stopped). */
  set(t: number): void;
  /** Move the fake clock forward in `step` ms increments up to `t`, advancing at each step. */
  walk(to: number, step?: number): void;
  names(): string[];
}

function rig(t: TestContext, onExpire?: (entry: Entry, rig: Rig) => void, start = 0): Rig {
  let now = start;
  const fired: Fired[] = [];
  const r: Rig = {
    wheel: new TimingWheel<Entry>(
      (entry) => {
        fired.push({ entry, at: now });
        onExpire?.(entry, r);
      },
      TICK,
      SLOTS,
      () => now,
    ),
    fired,
    at(to) {
      now = to;
      r.wheel.advance();
    },
    set(to) {
      now = to;
    },
    walk(to, step = 10) {
      while (now < to) r.at(Math.min(now + step, to));
    },
    names: () => fired.map((f) => f.entry.name),
  };
  t.after(() => r.wheel.clear());
  return r;
}

/** A small deterministic LCG, so the "random" deadlines are the same on every run. */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 0x1_0000_0000;
  };
}

describe('TimingWheel', () => {
  it('fires an entry once, at or after its deadline and at most one tick late', (t) => {
    const r = rig(t);
    const e = new Entry('e');
    r.wheel.schedule(e, 250);
    r.at(249);
    assert.deepEqual(r.names(), []);
    r.walk(250 + TICK, 1);
    assert.deepEqual(r.names(), ['e']);
    assert.ok(r.fired[0].at >= 250 && r.fired[0].at <= 250 + TICK, `fired at ${r.fired[0].at}`);
    r.walk(5000, 50);
    assert.equal(r.fired.length, 1, 'fired again');
    assert.equal(e.wheelTick, 0);
  });

  it('fires a deadline that falls exactly on a tick boundary at that tick', (t) => {
    const r = rig(t);
    r.wheel.schedule(new Entry('e'), 300);
    r.at(299);
    assert.equal(r.fired.length, 0);
    r.at(300);
    assert.deepEqual(r.names(), ['e']);
  });

  it('does not fire twice when advance() runs again at the same time', (t) => {
    const r = rig(t);
    r.wheel.scheduleIn(new Entry('e'), 100);
    r.at(200);
    r.at(200);
    r.wheel.advance();
    assert.equal(r.fired.length, 1);
  });

  it('fires many entries spread over several revolutions each once, within one tick of its deadline', (t) => {
    const r = rig(t);
    const rand = lcg(42);
    const deadlines = new Map<Entry, number>();
    for (let i = 0; i < 300; i++) {
      const e = new Entry(`e${i}`);
      const deadline = 1 + Math.floor(rand() * 6000); // up to ~7.5 revolutions
      deadlines.set(e, deadline);
      r.wheel.schedule(e, deadline);
    }
    assert.equal(r.wheel.size, 300);
    const step = 7;
    r.walk(6000 + 2 * TICK, step);
    assert.equal(r.fired.length, 300);
    assert.equal(new Set(r.fired.map((f) => f.entry)).size, 300, 'an entry fired twice');
    for (const { entry, at } of r.fired) {
      const deadline = deadlines.get(entry) as number;
      assert.ok(at >= deadline, `${entry.name} fired at ${at}, before its deadline ${deadline}`);
      // Due on the first tick boundary at or after the deadline; seen at the first step past it.
      const due = Math.ceil(deadline / TICK) * TICK;
      assert.ok(at < due + step, `${entry.name} (deadline ${deadline}) fired at ${at}, not on the tick at ${due}`);
    }
    assert.equal(r.wheel.size, 0);
  });

  it('keeps entries that share a slot apart by revolution', (t) => {
    const r = rig(t);
    // Ticks 1, 9, 17, 25 all hash to slot 1 of 8.
    const deadlines = [100, 900, 1700, 2500];
    for (const d of deadlines) {
      r.wheel.schedule(new Entry(`a${d}`), d);
      r.wheel.schedule(new Entry(`b${d}`), d);
    }
    for (const d of deadlines) {
      r.at(d - 1);
      assert.equal(r.fired.length, deadlines.indexOf(d) * 2, `something fired before ${d}`);
      r.at(d);
      assert.deepEqual(r.fired.slice(-2).map((f) => f.entry.name).sort(), [`a${d}`, `b${d}`]);
    }
    assert.equal(r.wheel.size, 0);
  });

  it('after a stall longer than a revolution, fires what is due once and keeps the rest', (t) => {
    const r = rig(t);
    r.wheel.schedule(new Entry('early'), 150);
    r.wheel.schedule(new Entry('mid'), 3000);
    r.wheel.schedule(new Entry('late'), 20_000);
    r.at(10_000); // 12.5 revolutions in one step
    assert.deepEqual(r.names().sort(), ['early', 'mid']);
    assert.equal(r.wheel.size, 1);
    r.walk(19_999, 100);
    assert.equal(r.fired.length, 2);
    r.at(20_000);
    assert.deepEqual(r.names().slice(2), ['late']);
  });

  it('keeps a fractional deadline as an integer tick (no boxed double per entry) and still fires it on time', (t) => {
    const r = rig(t);
    const e = new Entry('fractional');
    r.wheel.schedule(e, 300.25);
    assert.ok(Number.isInteger(e.wheelTick) && e.wheelTick > 0);
    r.walk(300);
    assert.deepEqual(r.names(), []);
    r.walk(1000);
    assert.deepEqual(r.names(), ['fractional']);
  });

  it('schedule refuses a non-finite deadline (RangeError) and leaves the wheel and the entry as they were', (t) => {
    const r = rig(t);
    const moved = new Entry('moved');
    const other = new Entry('other');
    r.wheel.schedule(moved, 300);
    r.wheel.schedule(other, 500);
    for (const deadline of [Infinity, -Infinity, NaN]) {
      assert.throws(() => r.wheel.schedule(moved, deadline), RangeError);
      assert.throws(() => r.wheel.scheduleIn(new Entry('fresh'), deadline), RangeError);
    }
    // Still scheduled where it was (an Infinity deadline used to index slot NaN and throw mid-link).
    assert.equal(moved.wheelTick, r.wheel.tickFor(300));
    assert.equal(r.wheel.size, 2);
    r.walk(1000);
    assert.deepEqual(r.names(), ['moved', 'other']);
    assert.equal(r.wheel.size, 0);
    // The wheel keeps working afterwards.
    r.wheel.schedule(moved, 1200);
    r.walk(1400);
    assert.deepEqual(r.names(), ['moved', 'other', 'moved']);
  });

  it('cancel removes an entry; cancelling an unscheduled entry is a no-op', (t) => {
    const r = rig(t);
    const a = new Entry('a');
    const b = new Entry('b');
    r.wheel.schedule(a, 500);
    r.wheel.schedule(b, 500);
    r.wheel.cancel(a);
    assert.equal(r.wheel.size, 1);
    r.wheel.cancel(a);
    r.wheel.cancel(new Entry('never scheduled'));
    assert.equal(r.wheel.size, 1);
    r.walk(3000);
    assert.deepEqual(r.names(), ['b']);
    r.wheel.cancel(b); // already fired
    assert.equal(r.wheel.size, 0);
  });

  it('rescheduling later moves the entry: it does not fire at the old deadline', (t) => {
    const r = rig(t);
    const e = new Entry('e');
    r.wheel.schedule(e, 200);
    r.wheel.schedule(e, 1000);
    assert.equal(r.wheel.size, 1);
    r.walk(999);
    assert.equal(r.fired.length, 0);
    r.walk(1000 + TICK);
    assert.equal(r.fired.length, 1);
    assert.ok(r.fired[0].at >= 1000);
  });

  it('rescheduling earlier fires at the new deadline only', (t) => {
    const r = rig(t);
    const e = new Entry('e');
    r.wheel.schedule(e, 1000);
    r.wheel.scheduleIn(e, 200);
    r.walk(300);
    assert.equal(r.fired.length, 1);
    r.walk(3000);
    assert.equal(r.fired.length, 1, 'fired again at the old deadline');
  });

  it('fires a deadline already in the past on the next tick', (t) => {
    const r = rig(t);
    r.at(5000);
    r.wheel.schedule(new Entry('past'), 4000);
    r.walk(5000 + TICK);
    assert.deepEqual(r.names(), ['past']);
  });

  it('fires a past deadline on the next tick even after the wheel sat idle', (t) => {
    const r = rig(t);
    r.wheel.scheduleIn(new Entry('first'), 100);
    r.walk(200);
    assert.equal(r.wheel.size, 0);
    r.set(10_000); // idle: the interval is stopped, so nothing advances the wheel
    r.wheel.schedule(new Entry('past'), 5_000);
    r.walk(10_000 + TICK);
    assert.deepEqual(r.names(), ['first', 'past']);
  });

  it('lets a callback reschedule its own entry', (t) => {
    let rounds = 0;
    const r = rig(t, (entry, self) => {
      if (++rounds < 3) self.wheel.scheduleIn(entry, 250);
    });
    const e = new Entry('e');
    r.wheel.schedule(e, 250);
    r.walk(2000);
    assert.equal(r.fired.length, 3);
    for (let i = 1; i < 3; i++) {
      const gap = r.fired[i].at - r.fired[i - 1].at;
      assert.ok(gap >= 250 && gap <= 250 + TICK, `round ${i} came ${gap} ms after the previous one`);
    }
    assert.equal(r.wheel.size, 0);
  });

  it('does not fire an entry that a callback cancelled in the same tick', (t) => {
    const a = new Entry('a');
    const b = new Entry('b');
    const r = rig(t, (entry, self) => {
      self.wheel.cancel(entry === a ? b : a);
    });
    r.wheel.schedule(a, 300);
    r.wheel.schedule(b, 300);
    r.walk(1000);
    assert.equal(r.fired.length, 1, `fired: ${r.names().join(', ')}`);
    assert.equal(r.wheel.size, 0);
  });

  it('fires an entry that a callback moved to later only at its new deadline', (t) => {
    const a = new Entry('a');
    const b = new Entry('b');
    const r = rig(t, (entry, self) => {
      if (self.fired.length === 1) self.wheel.schedule(entry === a ? b : a, 2000);
    });
    r.wheel.schedule(a, 300);
    r.wheel.schedule(b, 300);
    r.walk(1999);
    assert.equal(r.fired.length, 1, `fired: ${r.names().join(', ')}`);
    r.walk(2000 + TICK);
    assert.equal(r.fired.length, 2);
    assert.ok(r.fired[1].at >= 2000);
  });

  it('keeps size in step with schedule, reschedule, cancel, expiry and clear', (t) => {
    const r = rig(t);
    const entries = Array.from({ length: 10 }, (_, i) => new Entry(`e${i}`));
    entries.forEach((e, i) => r.wheel.schedule(e, 100 * (i + 1)));
    assert.equal(r.wheel.size, 10);
    r.wheel.schedule(entries[0], 5000); // a move, not an addition
    assert.equal(r.wheel.size, 10);
    r.wheel.cancel(entries[9]);
    assert.equal(r.wheel.size, 9);
    r.at(450); // e1..e3 (200, 300, 400) are due
    assert.equal(r.wheel.size, 6);
    r.wheel.clear();
    assert.equal(r.wheel.size, 0);
    r.walk(6000);
    assert.equal(r.fired.length, 3, 'clear() must drop entries without firing them');
    for (const e of entries) assert.equal(e.wheelTick, 0);
    r.wheel.schedule(entries[0], 6100); // usable after clear()
    assert.equal(r.wheel.size, 1);
  });

  it('runs its interval only while entries are scheduled', (t) => {
    const setIntervalSpy = t.mock.method(globalThis, 'setInterval');
    const clearIntervalSpy = t.mock.method(globalThis, 'clearInterval');
    const r = rig(t);
    const a = new Entry('a');
    const b = new Entry('b');
    assert.equal(setIntervalSpy.mock.callCount(), 0, 'an empty wheel must not run a timer');
    r.wheel.schedule(a, 300);
    r.wheel.schedule(b, 600);
    assert.equal(setIntervalSpy.mock.callCount(), 1);
    r.wheel.cancel(b);
    assert.equal(clearIntervalSpy.mock.callCount(), 0);
    r.walk(400); // `a` fires; the wheel is empty
    assert.equal(r.wheel.size, 0);
    assert.equal(clearIntervalSpy.mock.callCount(), 1);
    r.wheel.schedule(b, 1000);
    assert.equal(setIntervalSpy.mock.callCount(), 2, 'a new entry restarts the interval');
    r.wheel.cancel(b);
    assert.equal(r.wheel.size, 0);
    assert.equal(clearIntervalSpy.mock.callCount(), 2, 'cancelling the last entry stops the interval');
  });

  it('rejects a non-positive tick or slot count', () => {
    assert.throws(() => new TimingWheel(() => {}, 0), RangeError);
    assert.throws(() => new TimingWheel(() => {}, 100, 0), RangeError);
  });
});
