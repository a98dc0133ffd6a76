import { isUtf8 } from 'node:buffer';
import type { DrainListener } from '../gateway/connection.js';
import { StreamHold, type HubClient } from '../hub/hub-client.js';
import { OpCode } from '../protocol/constants.js';
import { PreparedMessage } from '../protocol/prepared-message.js';

/** A position as clients send it in `since`: `{"seq": N, "epoch": "…"}`. */
export interface ResumePosition {
  seq: number;
  epoch: string;
}

/** What the engine's history answered, as the session needs it (structurally the engine's HistoryResult). */
export type ReplayResult =
  | {
      recovered: true;
      publications: { uid?: string; topic?: string; data: Buffer; position?: ResumePosition }[];
      position: ResumePosition;
    }
  | { recovered: false; position: ResumePosition };

/** Parse a client's `since`; undefined when absent, null when malformed. */
export function parseSince(value: unknown): ResumePosition | undefined | null {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'object' || Array.isArray(value)) return null;
  const { seq, epoch } = value as { seq?: unknown; epoch?: unknown };
  if (typeof seq !== 'number' || !Number.isSafeInteger(seq) || seq < 0) return null;
  if (typeof epoch !== 'string' || epoch.length === 0 || epoch.length > 64) return null;
  return { seq, epoch };
}

/** Start holding live messages of `stream` for `client` (call before subscribing in the hub). */
export function holdStream(client: HubClient, stream: string, limit: number, onOverflow: (hold: StreamHold) => void): StreamHold {
  // A floor left by an earlier resume of the same stream is superseded.
  const hold = new StreamHold(limit, onOverflow);
  (client.holding ??= new Map()).set(stream, hold);
  return hold;
}

/** What the replay needs from the connection: sends paced by its unflushed bytes (see WebSocketConnection). */
export interface PacedSink {
  readonly isOpen: boolean;
  /** Frame length if queued, its negative if it does not fit now, 0 if the connection is not open. */
  offerPrepared(message: PreparedMessage): number;
  waitForDrain(listener: DrainListener, bytes: number): void;
}

/**
 * Finish a resume: send the history after `since` (when recovered), then the
 * live messages held meanwhile that the history did not already contain — no
 * gap, no duplicate — and stop holding. Sends are paced by the connection's
 * drain, so a replay larger than `--max-buffered-bytes` is neither refused nor
 * cut: it goes out in pieces, and live messages keep being held (bounded, see
 * StreamHold) until it has caught up. Returns false when the hold was dropped
 * meanwhile (unsubscribed), in which case nothing is sent.
 */
export function releaseStream(client: HubClient, sink: PacedSink, stream: string, hold: StreamHold, result: ReplayResult | undefined): boolean {
  if (client.holding?.get(stream) !== hold) return false;
  new Replay(client, sink, stream, hold, result).run();
  return true;
}

/** One paced replay: history first, then the held live messages; waits for the connection's drain when full. */
class Replay implements DrainListener {
  private next = 0;
  private nextHeld = 0;
  /** Newest seq sent from history (or the history's position): held messages up to it are duplicates. */
  private readonly lastSeq: number;
  private floor: number;
  private readonly epoch: string | undefined;
  private readonly publications: Extract<ReplayResult, { recovered: true }>['publications'];

  constructor(
    private readonly client: HubClient,
    private readonly sink: PacedSink,
    private readonly stream: string,
    private readonly hold: StreamHold,
    private readonly result: ReplayResult | undefined,
  ) {
    let lastSeq = 0;
    if (result?.recovered === true) {
      for (const p of result.publications) lastSeq = Math.max(lastSeq, p.position?.seq ?? 0);
      lastSeq = Math.max(lastSeq, result.position.seq);
    }
    this.lastSeq = lastSeq;
    this.floor = lastSeq;
    this.epoch = result?.position.epoch;
    this.publications = result?.recovered === true ? result.publications : [];
  }

  onDrain(): void {
    this.run();
  }

  run(): void {
    const { client, sink, stream, hold } = this;
    // Unsubscribed or resumed again meanwhile, or closed: this replay is over.
    if (client.holding?.get(stream) !== hold || !sink.isOpen || hold.overflowed) return;
    while (this.next < this.publications.length) {
      const p = this.publications[this.next];
      const message = new PreparedMessage(isUtf8(p.data) ? OpCode.Text : OpCode.Binary, p.data, {
        uid: p.uid,
        topic: p.topic,
        position: { seq: p.position?.seq ?? 0, epoch: p.position?.epoch },
      }, stream);
      if (!this.offer(message)) return;
      this.next++;
    }
    const held = hold.messages;
    while (this.nextHeld < held.length) {
      const message = held[this.nextHeld];
      // Already replayed from history (published between the subscription and the history read).
      // Same epoch only: a new epoch (history removed or lost meanwhile) numbers from 1 again.
      const duplicate = this.lastSeq > 0 && message.seq !== 0 && message.epoch === this.epoch && message.seq <= this.lastSeq;
      if (!duplicate) {
        if (!this.offer(message)) return this.compact();
        if (message.epoch === this.epoch) this.floor = Math.max(this.floor, message.seq);
      }
      hold.bytes -= message.plain.length;
      this.nextHeld++;
    }
    // Caught up: stop holding.
    client.holding!.delete(stream);
    // Live copies of what was just sent may still be on their way (engines deliver live messages and
    // history replies on different connections): keep a floor for the stream until a newer one passes.
    if (this.result?.recovered === true && this.floor > 0 && this.epoch !== undefined) {
      client.holding!.set(stream, { seq: this.floor, epoch: this.epoch });
    }
    if (client.holding!.size === 0) client.holding = null;
  }

  /** Let go of the held messages already sent while the replay waits. */
  private compact(): void {
    if (this.nextHeld < 1024) return;
    this.hold.messages.splice(0, this.nextHeld);
    this.nextHeld = 0;
  }

  /** Queue `message`, or wait for the connection to drain (false: stop for now). */
  private offer(message: PreparedMessage): boolean {
    const sent = this.sink.offerPrepared(message);
    if (sent < 0) this.sink.waitForDrain(this, -sent);
    return sent > 0;
  }
}

/** Stop holding `stream` (its subscription ended before the replay came back). */
export function dropHold(client: HubClient, stream: string): void {
  if (client.holding === null || !(client.holding.get(stream) instanceof StreamHold) || !client.holding.delete(stream)) return;
  if (client.holding.size === 0) client.holding = null;
}
