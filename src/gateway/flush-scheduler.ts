/**
 * When queued frames are written: the per-turn flush, its slicing, and the
 * merge window. Kept apart from the server (which accepts, upgrades, admits,
 * dispatches and shuts down), as uWS keeps corking and the end-of-loop drain
 * in its loop, apart from the app.
 *
 * Contract:
 * - A connection that queues bytes while it has none queued calls
 *   {@link FlushScheduler.markDirty} once (through its owner's `markDirty`);
 *   later frames of the same turn only append to its queue. The scheduler
 *   calls `conn.flush()` once for it later, which writes everything queued.
 * - Flushes run in a `setImmediate`, i.e. after every I/O callback of the
 *   current loop iteration, so a turn's frames for one connection leave in
 *   one write. A flush writes at most {@link FLUSH_SLICE} connections and
 *   continues with the rest on the next turn, so reads (push requests) and
 *   heartbeats are served in between.
 * - Order: connections are written in the order they were marked; a
 *   connection's own frames keep their queue order (the queue is written whole).
 *   A connection whose transport closed meanwhile is flushed too: its
 *   `flush()` discards the queue. `flush()` on a connection with nothing
 *   queued (written early, e.g. by `end()`) does nothing.
 * - After each slice the frame-run memo is forgotten (frame-run.ts): the
 *   next turn's fan-out starts from fresh runs.
 * - Merge window (`mergeWindowMs` > 0): a connection written less than a
 *   window ago (`conn.lastFlushMs`) goes on a held list instead, flushed by
 *   one shared timer when the window has passed; a connection quiet for a
 *   window is written this turn. The write that carries the 101 response
 *   (`lastFlushMs === HANDSHAKE_FLUSH`) does not start a window.
 * - {@link FlushScheduler.flushNow} writes both lists at once (shutdown) and
 *   disarms the window's timer.
 *
 * Cost: two arrays reused per turn; no allocation per write or per delivery
 * and no closure per connection (the callbacks are module-level functions
 * given the scheduler as an argument).
 */
import { HANDSHAKE_FLUSH, NEVER_FLUSHED, type WebSocketConnection } from './connection.js';
import { forgetFrameMemo } from './frame-run.js';

/** Connections written per event-loop turn by a flush (see flushList). */
export const FLUSH_SLICE = 256;

export class FlushScheduler {
  private readonly mergeWindowMs: number;
  /** Connections to write at the end of this event-loop turn. */
  private dirty: WebSocketConnection[] = [];
  private flushScheduled = false;
  /** Connections held by the merge window, written when its one shared timer fires. */
  private held: WebSocketConnection[] = [];
  /** That timer while armed; flushNow() disarms it, so a closed server leaves no timer keeping the process alive. */
  private heldTimer: NodeJS.Timeout | null = null;

  /** `mergeWindowMs`: 0 for none (validated by the server). */
  constructor(mergeWindowMs: number) {
    this.mergeWindowMs = mergeWindowMs;
  }

  /** Queue `conn` to be written once: this turn, or when its merge window has passed. */
  markDirty(conn: WebSocketConnection): void {
    const window = this.mergeWindowMs;
    if (window > 0) {
      const last = conn.lastFlushMs;
      const sinceFlush = (clockMs() - last) & CLOCK_MASK;
      if (last >= 0 && sinceFlush < window) {
        this.held.push(conn);
        this.heldTimer ??= setTimeout(flushHeld, window - sinceFlush, this);
        return;
      }
    }
    this.dirty.push(conn);
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      // setImmediate runs after every I/O callback of this loop iteration, so
      // everything queued on a connection during the turn goes out in one write.
      setImmediate(flushDirty, this);
    }
  }

  /** Write everything queued or held now (shutdown). */
  flushNow(): void {
    this.flushDirty();
    this.flushHeld();
  }

  /** @internal write the connections queued this turn. */
  flushDirty(): void {
    this.flushScheduled = false;
    const dirty = this.dirty;
    this.dirty = [];
    this.flushList(dirty);
  }

  /** @internal write the connections the merge window held. */
  flushHeld(): void {
    if (this.heldTimer !== null) clearTimeout(this.heldTimer);
    this.heldTimer = null;
    const held = this.held;
    this.held = [];
    this.flushList(held);
  }

  /**
   * Write `list` from `start`, at most FLUSH_SLICE connections per turn: one
   * write costs several microseconds of syscall, so a large audience is
   * written over several turns and the loop keeps serving reads (push
   * requests, heartbeats) in between.
   */
  flushList(list: WebSocketConnection[], start = 0): void {
    const stamp = this.mergeWindowMs > 0 ? clockMs() : 0;
    const end = Math.min(list.length, start + FLUSH_SLICE);
    for (let i = start; i < end; i++) {
      const conn = list[i];
      conn.lastFlushMs = conn.lastFlushMs === HANDSHAKE_FLUSH ? NEVER_FLUSHED : stamp;
      conn.flush();
    }
    forgetFrameMemo();
    if (end < list.length) setImmediate(flushRest, this, list, end);
  }
}

function flushDirty(scheduler: FlushScheduler): void {
  scheduler.flushDirty();
}

function flushHeld(scheduler: FlushScheduler): void {
  scheduler.flushHeld();
}

function flushRest(scheduler: FlushScheduler, list: WebSocketConnection[], start: number): void {
  scheduler.flushList(list, start);
}

/** Merge-window clock: whole ms, kept in 30 bits so it stays a small integer (compared modulo 2^30). */
const CLOCK_MASK = 0x3fffffff;
function clockMs(): number {
  return Math.floor(performance.now()) & CLOCK_MASK;
}
