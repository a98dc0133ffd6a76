/**
 * When queued frames are written: the flush, its slicing into waves, and the
 * merge window. Kept apart from the server (which accepts, upgrades, admits,
 * dispatches and shuts down), as uWS keeps corking and the end-of-loop drain
 * in its loop, apart from the app.
 *
 * Contract:
 * - A connection that queues bytes while it has none queued calls
 *   {@link FlushScheduler.markDirty} once (through its owner's `markDirty`);
 *   later frames only append to its queue until it is written. The scheduler
 *   calls `conn.flush()` once for it later, which writes everything queued.
 * - **Waves.** Connections are written in waves, one wave at a time: a wave
 *   is the list of connections marked while no wave was being written, or
 *   while the previous one was. It starts in a `setImmediate` (after every I/O
 *   callback of the loop iteration, so a turn's frames for one connection
 *   leave in one write) and writes {@link FLUSH_SLICE} connections per
 *   event-loop turn, and more while the turn has lasted less than
 *   {@link FLUSH_SLICE_MS} ({@link ACCEPT_SLICE} connections in a turn that
 *   accepted a connection), so reads (push requests), accepts, upgrades and
 *   heartbeats are served between slices. Frames queued during a wave on a
 *   connection it has not reached yet leave with that connection's write in
 *   this wave; a connection the wave already wrote is marked for the next
 *   wave, which starts on the turn after this one ends. So each connection is
 *   written at most once per wave, and a push waits at most about two waves.
 *   (Lists written side by side instead, each 256 connections per turn, wrote
 *   the first connections of the audience every other turn and the last ones
 *   after 40 turns of all lists: at 2 M deliveries/s a push took ~460 ms to
 *   reach all of 10,000 connections.)
 * - Order: connections are written in the order they were marked; a
 *   connection's own frames keep their queue order (the queue is written
 *   whole), and a connection with queued frames is on exactly one list (the
 *   wave, the next wave, or the merge window's). A connection whose transport
 *   closed meanwhile is flushed too: its `flush()` discards the queue.
 *   `flush()` on a connection with nothing queued (written early, e.g. by
 *   `end()` or by its upgrade) does nothing.
 * - After each slice the frame-run memo is forgotten (frame-run.ts): the
 *   next turn's fan-out starts from fresh runs.
 * - Merge window (`mergeWindowMs` > 0): a connection written less than a
 *   window ago (`conn.lastFlushMs`) goes on a held list instead, which one
 *   shared timer adds to the next wave when the window has passed; a
 *   connection quiet for a window is written in the next wave. The write that
 *   carries the 101 response (`lastFlushMs === HANDSHAKE_FLUSH`) does not
 *   start a window.
 * - {@link FlushScheduler.flushNow} writes everything at once, unsliced
 *   (shutdown), and disarms the window's timer.
 *
 * Cost: two arrays reused per wave; no allocation per write or per delivery
 * and no closure per connection (the callbacks are module-level functions
 * given the scheduler as an argument).
 */
import { HANDSHAKE_FLUSH, NEVER_FLUSHED, type WebSocketConnection } from './connection.js';
import { forgetFrameMemo } from './frame-run.js';
import { stageTiming, type PushSample, type QueueWatcher } from '../util/stage-timing.js';

/** Connections a wave writes at least per event-loop turn (see writeSlice). */
export const FLUSH_SLICE = 256;
/**
 * …and past those it goes on while its turn has lasted less than this (ms).
 * A fixed count alone made a push to 10,000 connections yield 40 times
 * however cheap the writes; on an idle machine (a few µs per write) a slice
 * now writes several hundred more before the loop serves reads and accepts.
 * When writes are slow (a busy machine) the count bounds the slice as
 * before: the clock never cuts a slice shorter, so a wave never yields more
 * often than every {@link FLUSH_SLICE} connections.
 */
export const FLUSH_SLICE_MS = 3;
/** Connections written between two looks at the clock past the first {@link FLUSH_SLICE}. */
export const FLUSH_GRANULE = 32;
/**
 * Connections written in a turn that accepted a connection. libuv (1.46, Node 20) accepts one
 * connection per loop iteration, so during a storm the accept rate is the
 * iteration rate: a full slice per iteration held 10,000 newcomers arriving
 * during a fan-out to ~150 accepts/s (the listen queue full). A short slice
 * brings the loop back to the listening socket quickly while the wave goes on.
 */
export const ACCEPT_SLICE = 32;

export interface FlushSchedulerOptions {
  /** Time budget of a slice (ms): {@link FLUSH_SLICE_MS} by default. */
  sliceMs?: number;
  /** The slice clock (ms): performance.now by default; tests give their own. */
  now?: () => number;
}

export class FlushScheduler implements QueueWatcher {
  private readonly mergeWindowMs: number;
  /** Connections marked for the next wave. */
  private dirty: WebSocketConnection[] = [];
  /** The wave being written (from `waveNext`), or null between waves. */
  private wave: WebSocketConnection[] | null = null;
  private waveNext = 0;
  /** A `setImmediate` is pending: it writes the wave's next slice, or starts the next wave. */
  private turnScheduled = false;
  /** A connection was accepted since the last slice: more may be waiting in the listen queue. */
  private accepting = false;
  /** Connections held by the merge window, added to the next wave when its one shared timer fires. */
  private held: WebSocketConnection[] = [];
  /** That timer while armed; flushNow() disarms it, so a closed server leaves no timer keeping the process alive. */
  private heldTimer: NodeJS.Timeout | null = null;
  /** Stage timing: when the wave's last slice ended (0 between waves). */
  private sliceEndedMs = 0;

  private readonly sliceMs: number;
  private readonly now: () => number;

  /** `mergeWindowMs`: 0 for none (validated by the server). */
  constructor(mergeWindowMs: number, options: FlushSchedulerOptions = {}) {
    this.mergeWindowMs = mergeWindowMs;
    this.sliceMs = options.sliceMs ?? FLUSH_SLICE_MS;
    this.now = options.now ?? performanceNow;
    stageTiming?.watch(this);
  }

  /** @internal stage timing: the lists holding connections with queued frames now. */
  snapshot(sample: PushSample): void {
    if (this.wave !== null) sample.waiting.add(this.wave);
    if (this.dirty.length > 0) sample.waiting.add(this.dirty);
    if (this.held.length > 0) sample.waiting.add(this.held);
  }

  /** True while a wave is being written in slices. */
  get writing(): boolean {
    return this.wave !== null;
  }

  /** Queue `conn` to be written once: in the next wave, or when its merge window has passed. */
  markDirty(conn: WebSocketConnection): void {
    const window = this.mergeWindowMs;
    if (window > 0) {
      const last = conn.lastFlushMs;
      const sinceFlush = (clockMs() - last) & CLOCK_MASK;
      if (last >= 0 && sinceFlush < window) {
        this.held.push(conn);
        this.heldTimer ??= setTimeout(releaseHeld, window - sinceFlush, this);
        return;
      }
    }
    this.dirty.push(conn);
    this.scheduleTurn();
  }

  /** Write everything queued or held now, unsliced (shutdown). */
  flushNow(): void {
    if (this.heldTimer !== null) clearTimeout(this.heldTimer);
    this.releaseHeld();
    // The wave in progress, then the next one (held connections included). Bounded: writing queues
    // nothing new, but a connection's write may fail and close it, whose handlers may send elsewhere.
    for (let rounds = 0; rounds < 4 && (this.wave !== null || this.dirty.length > 0); rounds++) {
      if (this.wave === null) this.startWave();
      this.writeSlice(Infinity, 0);
    }
  }

  /** @internal the merge window has passed: the held connections join the next wave. */
  releaseHeld(): void {
    this.heldTimer = null;
    const held = this.held;
    if (held.length === 0) return;
    this.held = [];
    if (this.dirty.length === 0) this.dirty = held;
    else for (const conn of held) this.dirty.push(conn);
    if (stageTiming !== null) stageTiming.listMerged(held, this.dirty);
    this.scheduleTurn();
  }

  /** The server accepted a connection: keep this turn's slice short (see ACCEPT_SLICE). */
  noteAccept(): void {
    this.accepting = true;
  }

  /** @internal one event-loop turn's share: the wave's next slice, or the next wave's first. */
  turn(): void {
    this.turnScheduled = false;
    if (this.wave === null) this.startWave();
    if (this.accepting) {
      this.accepting = false;
      this.writeSlice(ACCEPT_SLICE, 0);
    } else {
      this.writeSlice(FLUSH_SLICE, this.sliceMs);
    }
    if (this.wave !== null || this.dirty.length > 0) this.scheduleTurn();
  }

  private scheduleTurn(): void {
    if (this.turnScheduled) return;
    this.turnScheduled = true;
    // setImmediate runs after every I/O callback of this loop iteration, so
    // everything queued on a connection during the turn goes out in one write.
    setImmediate(turn, this);
  }

  private startWave(): void {
    if (this.dirty.length === 0) return;
    this.wave = this.dirty;
    this.waveNext = 0;
    this.dirty = [];
  }

  /**
   * Write the wave's next `count` connections, then more, {@link FLUSH_GRANULE}
   * at a time, while less than `budgetMs` has passed since the slice began
   * (0: exactly `count`); end the wave when all are written.
   */
  private writeSlice(count: number, budgetMs: number): void {
    const wave = this.wave;
    if (wave === null) return;
    const timing = stageTiming;
    const began = timing === null ? 0 : performance.now();
    if (timing !== null) timing.sliceStarted(wave, began);
    const stamp = this.mergeWindowMs > 0 ? clockMs() : 0;
    const start = this.waveNext;
    const length = wave.length;
    const deadline = budgetMs > 0 ? this.now() + budgetMs : 0;
    let end = Math.min(length, start + count);
    let i = start;
    for (;;) {
      for (; i < end; i++) {
        const conn = wave[i];
        conn.lastFlushMs = conn.lastFlushMs === HANDSHAKE_FLUSH ? NEVER_FLUSHED : stamp;
        conn.flush();
      }
      if (i >= length || deadline === 0 || this.now() >= deadline) break;
      end = Math.min(length, i + FLUSH_GRANULE);
    }
    forgetFrameMemo();
    this.waveNext = i;
    const finished = i >= length;
    if (finished) this.wave = null;
    if (timing !== null) this.timed(timing, wave, began, i - start, finished);
  }

  /** Stage timing: record a slice, and tell the samples waiting for `wave` when it is finished. */
  private timed(timing: NonNullable<typeof stageTiming>, wave: WebSocketConnection[], began: number, written: number, finished: boolean): void {
    const now = performance.now();
    if (written > 0) {
      // Between two slices of one wave the loop serves everything else: that time is the wave's wait.
      if (this.sliceEndedMs > 0) timing.record('flush gap between slices of a wave: ms', began - this.sliceEndedMs);
      timing.record('flush slice: ms', now - began);
      timing.record('flush slice: µs per connection written', ((now - began) * 1000) / written);
    }
    this.sliceEndedMs = finished ? 0 : now;
    if (finished) {
      timing.listFinished(wave, now);
      if (wave.length > 0) timing.record('flush wave: connections', wave.length);
    }
  }
}

function performanceNow(): number {
  return performance.now();
}

function turn(scheduler: FlushScheduler): void {
  scheduler.turn();
}

function releaseHeld(scheduler: FlushScheduler): void {
  scheduler.releaseHeld();
}

/** Merge-window clock: whole ms, kept in 30 bits so it stays a small integer (compared modulo 2^30). */
const CLOCK_MASK = 0x3fffffff;
function clockMs(): number {
  return Math.floor(performance.now()) & CLOCK_MASK;
}
