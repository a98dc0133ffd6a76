import { isUtf8 } from 'node:buffer';
import type { HubClient } from '../hub/hub-client.js';
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
export function holdStream(client: HubClient, stream: string): PreparedMessage[] {
  // A floor left by an earlier resume of the same stream is superseded.
  const held: PreparedMessage[] = [];
  (client.holding ??= new Map()).set(stream, held);
  return held;
}

/**
 * Finish a resume: send the history after `since` (when recovered), then the
 * live messages held meanwhile that the history did not already contain — no
 * gap, no duplicate — and stop holding. Returns false when the hold was
 * dropped meanwhile (unsubscribed), in which case nothing is sent.
 */
export function releaseStream(client: HubClient, stream: string, held: PreparedMessage[], result: ReplayResult | undefined): boolean {
  if (client.holding?.get(stream) !== held) return false;
  client.holding.delete(stream);
  let lastSeq = 0;
  if (result?.recovered === true) {
    for (const p of result.publications) {
      const seq = p.position?.seq ?? 0;
      const message = new PreparedMessage(isUtf8(p.data) ? OpCode.Text : OpCode.Binary, p.data, {
        uid: p.uid,
        topic: p.topic,
        seq,
        epoch: p.position?.epoch,
      }, stream);
      client.sink.sendPrepared(message);
      lastSeq = Math.max(lastSeq, seq);
    }
    lastSeq = Math.max(lastSeq, result.position.seq);
  }
  let floor = lastSeq;
  const epoch = result?.position.epoch;
  for (const message of held) {
    // Already replayed from history (published between the subscription and the history read).
    if (lastSeq > 0 && message.seq !== 0 && message.seq <= lastSeq) continue;
    client.sink.sendPrepared(message);
    if (message.origin.epoch === epoch) floor = Math.max(floor, message.seq);
  }
  // Live copies of what was just sent may still be on their way (engines deliver live messages and
  // history replies on different connections): keep a floor for the stream until a newer one passes.
  if (result?.recovered === true && floor > 0 && epoch !== undefined) client.holding.set(stream, { seq: floor, epoch });
  if (client.holding.size === 0) client.holding = null;
  return true;
}

/** Stop holding `stream` (its subscription ended before the replay came back). */
export function dropHold(client: HubClient, stream: string): void {
  if (client.holding === null || !Array.isArray(client.holding.get(stream)) || !client.holding.delete(stream)) return;
  if (client.holding.size === 0) client.holding = null;
}
