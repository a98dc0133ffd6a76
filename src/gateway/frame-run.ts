/**
 * A connection's queue of frames for the next write, shared between
 * connections whenever they queue the same frames in the same order.
 *
 * A fan-out queues the same frame on every subscriber of a topic, and the
 * subscribers usually had the same frames queued before it (the previous
 * pushes of that topic, under a merge window hundreds of them). Instead of an
 * array per connection, grown by one element per message — an allocation and
 * a copy per delivery, and garbage that lives until the write — connections
 * in the same state share one immutable {@link FrameRun}: appending frame F to
 * run R makes run R+F once, and every further connection holding R that gets
 * F is simply pointed at R+F (a one-entry memo, because a fan-out walks the
 * connections in the same state one after the other). The run also keeps its
 * concatenation, so it is built once for all the connections that write it.
 *
 * A run that only one connection holds is appended in place (unicast replies,
 * a connection's own traffic), so a lone busy connection does not copy its
 * queue on every message.
 */
export class FrameRun {
  /** The frames in order; never changed once another connection may hold the run. */
  readonly frames: Buffer[];
  bytes: number;
  /** Another connection may hold this run: append by copying, never in place. */
  shared = false;
  /** The frames joined into one buffer, built on the first write. */
  private joined: Buffer | null = null;

  constructor(frames: Buffer[], bytes: number) {
    this.frames = frames;
    this.bytes = bytes;
  }

  /** All frames in one buffer (one copy, made once for every connection that writes this run). */
  concat(): Buffer {
    return (this.joined ??= Buffer.concat(this.frames, this.bytes));
  }

  /** @internal append in place: only for a run held by one connection (the memo forgotten if it names it). */
  push(frame: Buffer): void {
    this.frames.push(frame);
    this.bytes += frame.length;
    this.joined = null;
  }
}

/** What a connection has queued: nothing, one frame, or a run of frames. */
export type PendingFrames = Buffer | FrameRun | null;

// The memo: the last append that made a new run. Module state, because a fan-out passes the same
// (previous queue, frame) pair for connection after connection.
let memoFrom: Buffer | FrameRun | null = null;
let memoFrame: Buffer | null = null;
let memoTo: FrameRun | null = null;

/** The queue `pending` (not null) followed by `frame`. */
export function appendFrame(pending: Buffer | FrameRun, frame: Buffer): FrameRun {
  if (pending === memoFrom && frame === memoFrame) {
    const run = memoTo as FrameRun;
    run.shared = true;
    return run;
  }
  if (pending instanceof FrameRun && !pending.shared) {
    // Held by this connection alone: grow it in place. If it is the memo's run, the memo would now
    // name a longer run than (memoFrom + memoFrame): forget it.
    if (pending === memoTo) forgetFrameMemo();
    pending.push(frame);
    return pending;
  }
  const run =
    pending instanceof FrameRun
      ? new FrameRun([...pending.frames, frame], pending.bytes + frame.length)
      : new FrameRun([pending, frame], pending.length + frame.length);
  memoFrom = pending;
  memoFrame = frame;
  memoTo = run;
  return run;
}

/** Forget the memo (after a flush), so the runs it names can be collected. */
export function forgetFrameMemo(): void {
  memoFrom = null;
  memoFrame = null;
  memoTo = null;
}
