import { HeraldError, HeraldTimeoutError } from './errors.js';
import type { Reply } from './decode-inbound.js';

/**
 * Called once per request: with the reply (2xxxx), or with an error — a
 * {@link HeraldError} for a refusal, a {@link HeraldTimeoutError}, or the
 * error given to `rejectAll`.
 */
export type ReplyCallback = (error: Error | undefined, reply: Reply | undefined) => void;

interface Pending {
  /** Undefined in order mode. */
  id: number | undefined;
  operation: string;
  done: ReplyCallback | undefined;
  timer: ReturnType<typeof setTimeout> | undefined;
}

/**
 * The requests in flight on one connection. With ids (herald.v1) a reply is
 * matched by its echoed `id`; without (gpush) replies come in request order
 * (the server handles one connection's commands in order), so the oldest
 * pending request takes the next reply. A request that times out in order
 * mode keeps its place, so its late reply is not taken for the next one's.
 *
 * Callbacks run synchronously, while the reply's frame is handled: a
 * subscribe's reply is applied before the deliveries that follow it, even when
 * the WebSocket dispatches several frames in one task.
 */
export class RequestTable {
  private readonly byId = new Map<number, Pending>();
  private readonly queue: Pending[] = [];
  private nextId = 1;

  constructor(
    private readonly useIds: boolean,
    private readonly timeoutMs: number,
  ) {}

  /** Register a request; returns the `id` the command must carry (undefined in order mode). */
  add(operation: string, done: ReplyCallback): number | undefined {
    const pending: Pending = { id: undefined, operation, done, timer: undefined };
    if (this.useIds) {
      pending.id = this.nextId++;
      this.byId.set(pending.id, pending);
    } else {
      this.queue.push(pending);
    }
    pending.timer = setTimeout(() => this.timeout(pending), this.timeoutMs);
    return pending.id;
  }

  /** Order mode: whether a reply without an id would be taken by a request now. */
  get awaitingInOrder(): boolean {
    return !this.useIds && this.queue.length > 0;
  }

  /** Hand `reply` to its request; false when no request claims it. */
  settle(reply: Reply): boolean {
    let pending: Pending | undefined;
    if (this.useIds) {
      if (typeof reply.id !== 'number') return false;
      pending = this.byId.get(reply.id);
      if (pending === undefined) return false;
      this.byId.delete(reply.id);
    } else {
      pending = this.queue.shift();
      if (pending === undefined) return false;
    }
    if (reply.code >= 20000 && reply.code < 30000) finish(pending, undefined, reply);
    else finish(pending, new HeraldError(reply.code, reply.detail), undefined);
    return true;
  }

  /** Fail every request (the connection is gone). */
  rejectAll(error: Error): void {
    const all = this.useIds ? [...this.byId.values()] : this.queue.splice(0);
    this.byId.clear();
    for (const pending of all) finish(pending, error, undefined);
  }

  /** The command could not be sent: forget the request just added and fail it. */
  forget(id: number | undefined, error: Error): void {
    const pending = this.useIds ? this.byId.get(id as number) : this.queue.pop();
    if (pending === undefined) return;
    this.byId.delete(id as number);
    finish(pending, error, undefined);
  }

  private timeout(pending: Pending): void {
    pending.timer = undefined;
    if (this.useIds) this.byId.delete(pending.id as number);
    finish(pending, new HeraldTimeoutError(pending.operation, this.timeoutMs), undefined);
  }
}

function finish(pending: Pending, error: Error | undefined, reply: Reply | undefined): void {
  clearTimeout(pending.timer);
  const done = pending.done;
  pending.done = undefined;
  done?.(error, reply);
}
