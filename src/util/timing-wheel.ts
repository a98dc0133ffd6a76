/**
 * Fields an object carries to sit on a {@link TimingWheel}. The wheel links
 * entries intrusively, so scheduling allocates nothing and an entry costs
 * three fields — no per-connection `setTimeout` object (design.md §3).
 */
export interface WheelEntry {
  wheelNext: WheelEntry | null;
  wheelPrev: WheelEntry | null;
  /**
   * The wheel tick the entry fires in, plus one; 0 when not scheduled. A tick
   * number, not the deadline in ms: it stays a small integer (a Smi for 17
   * years of uptime at 250 ms ticks), where a fractional `performance.now()`
   * deadline made V8 box it in a 16-byte HeapNumber on every scheduled
   * connection. Firing is unchanged: a slot is only visited once its tick has
   * come, which is when the deadline (≤ tick × tickMs) has passed.
   */
  wheelTick: number;
}

/** Monotonic milliseconds; never goes back when the wall clock is set. */
export const monotonicNow: () => number = () => performance.now();

/**
 * A hashed timing wheel (Varghese & Lauck): `slotCount` buckets of `tickMs`
 * each, driven by one unref'd interval that runs only while entries exist.
 * Schedule, reschedule and cancel are O(1). An entry fires on the first tick
 * at or after its deadline, so at most `tickMs` late; deadlines farther than
 * one revolution stay in their bucket until their revolution comes round.
 */
export class TimingWheel<T extends WheelEntry> {
  /** One sentinel per slot heads a circular doubly-linked list, so unlink never searches. */
  private readonly slots: WheelEntry[];
  /** Entries advance() found due and has not fired yet: still scheduled, so a callback may cancel or move them. */
  private readonly due: WheelEntry = sentinel();
  private readonly tickMs: number;
  private readonly onExpire: (entry: T) => void;
  private readonly now: () => number;
  /** Last tick number processed. */
  private cursor: number;
  private timer: NodeJS.Timeout | null = null;
  private count = 0;

  /**
   * @param tickMs resolution in ms (default 250): entries fire up to this late.
   * @param slotCount buckets (default 512); tickMs × slotCount should cover the usual deadline.
   * @param onExpire called once per expired entry, after it is unlinked; it may reschedule it.
   */
  constructor(onExpire: (entry: T) => void, tickMs = 250, slotCount = 512, now = monotonicNow) {
    if (!(tickMs > 0) || !(slotCount > 0)) throw new RangeError('tickMs and slotCount must be positive');
    this.onExpire = onExpire;
    this.tickMs = tickMs;
    this.now = now;
    this.slots = [];
    for (let i = 0; i < slotCount; i++) this.slots.push(sentinel());
    this.cursor = Math.floor(now() / tickMs);
  }

  /**
   * The wheel's coarse clock: the last tick processed (units of `tickMs`).
   * Current while entries are scheduled; cheaper to read than a clock call.
   */
  get tick(): number {
    return this.cursor;
  }

  get resolutionMs(): number {
    return this.tickMs;
  }

  /** Entries currently scheduled. */
  get size(): number {
    return this.count;
  }

  /**
   * Schedule (or move) `entry` to fire at `deadline` on the wheel's clock.
   * Throws a RangeError, before touching the wheel or `entry`, when `deadline`
   * is not a finite number: Infinity or NaN would index no slot (NaN % n).
   */
  schedule(entry: T, deadline: number): void {
    if (!Number.isFinite(deadline)) throw new RangeError(`TimingWheel: deadline must be a finite number, got ${deadline}`);
    if (entry.wheelTick !== 0) this.unlink(entry);
    // An idle wheel's cursor stopped moving with its interval: bring it to now before placing the entry.
    if (this.timer === null) this.start();
    // A deadline in a tick already processed goes into the next tick, not a revolution later.
    const tick = Math.max(Math.ceil(deadline / this.tickMs), this.cursor + 1);
    const head = this.slots[tick % this.slots.length];
    entry.wheelTick = tick + 1;
    entry.wheelPrev = head;
    entry.wheelNext = head.wheelNext;
    (head.wheelNext as WheelEntry).wheelPrev = entry;
    head.wheelNext = entry;
    this.count++;
  }

  /** The `wheelTick` an entry scheduled now for `deadline` would get (compare with an entry's own). */
  tickFor(deadline: number): number {
    return Math.max(Math.ceil(deadline / this.tickMs), this.cursor + 1) + 1;
  }

  /** Schedule `entry` to fire `delayMs` from now. */
  scheduleIn(entry: T, delayMs: number): void {
    this.schedule(entry, this.now() + delayMs);
  }

  /** Remove `entry` if scheduled; a no-op otherwise. */
  cancel(entry: T): void {
    if (entry.wheelTick !== 0) this.unlink(entry);
  }

  /** Stop the interval and forget every entry (they are not fired). */
  clear(): void {
    for (const head of [...this.slots, this.due]) {
      let e = head.wheelNext as WheelEntry;
      while (e !== head) {
        const next = e.wheelNext as WheelEntry;
        e.wheelNext = e.wheelPrev = null;
        e.wheelTick = 0;
        e = next;
      }
      head.wheelNext = head.wheelPrev = head;
    }
    this.count = 0;
    this.stop();
  }

  /** Process every tick up to now. Public so tests can drive a fake clock. */
  advance(): void {
    const now = this.now();
    const target = Math.floor(now / this.tickMs);
    // After a long stall, one revolution visits every slot; no need to loop further.
    const from = Math.max(this.cursor + 1, target - this.slots.length + 1);
    const due = this.due;
    for (let tick = from; tick <= target; tick++) {
      const head = this.slots[tick % this.slots.length];
      let e = head.wheelNext as WheelEntry;
      while (e !== head) {
        const next = e.wheelNext as WheelEntry;
        if (e.wheelTick <= target + 1) {
          // Move it to the tail of the due list; it stays scheduled (and counted) until it fires.
          (e.wheelPrev as WheelEntry).wheelNext = next;
          next.wheelPrev = e.wheelPrev;
          const tail = due.wheelPrev as WheelEntry;
          e.wheelPrev = tail;
          e.wheelNext = due;
          tail.wheelNext = e;
          due.wheelPrev = e;
        }
        e = next;
      }
    }
    this.cursor = Math.max(this.cursor, target);
    // Fire after the walk so callbacks may freely schedule or cancel any entry, one still due included.
    for (let e = due.wheelNext as WheelEntry; e !== due; e = due.wheelNext as WheelEntry) {
      this.unlink(e);
      this.onExpire(e as T);
    }
  }

  private unlink(entry: WheelEntry): void {
    (entry.wheelPrev as WheelEntry).wheelNext = entry.wheelNext;
    (entry.wheelNext as WheelEntry).wheelPrev = entry.wheelPrev;
    entry.wheelNext = entry.wheelPrev = null;
    entry.wheelTick = 0;
    if (--this.count === 0) this.stop();
  }

  private start(): void {
    if (this.timer !== null) return;
    this.cursor = Math.max(this.cursor, Math.floor(this.now() / this.tickMs) - 1);
    this.timer = setInterval(wheelTick, this.tickMs, this);
    this.timer.unref();
  }

  private stop(): void {
    if (this.timer === null) return;
    clearInterval(this.timer);
    this.timer = null;
  }
}

function sentinel(): WheelEntry {
  const head: WheelEntry = { wheelNext: null, wheelPrev: null, wheelTick: -1 };
  head.wheelNext = head.wheelPrev = head;
  return head;
}

function wheelTick(wheel: { advance(): void }): void {
  wheel.advance();
}
