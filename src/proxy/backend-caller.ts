/**
 * One backend endpoint asked under bounds: a deadline per call, a cap on calls in flight and a
 * bounded FIFO queue behind it. Every call settles with an outcome — never a rejection, never a
 * hang — so the session can wait on it the way it waits on a login.
 */

/** How a call can fail without an answer from the backend. */
export type BackendFailure = 'unavailable' | 'timeout' | 'overloaded';

/** What one {@link BackendCaller.call} ends with. */
export type CallOutcome = { readonly ok: true; readonly answer: unknown } | { readonly ok: false; readonly failure: BackendFailure };

/**
 * Sends one request and resolves with the decoded answer body (a JSON-shaped object).
 * Rejects on anything else — a network error, a bad status, a body that is not JSON — with an
 * error whose message says which, for the log. Must stop the request when `signal` aborts.
 */
export interface BackendTransport {
  request(body: Readonly<Record<string, unknown>>, signal: AbortSignal): Promise<unknown>;
  /** Release sockets and channels; requests in flight fail. */
  close(): void;
}

/** Options of a {@link BackendCaller}. */
export interface BackendCallerOptions {
  transport: BackendTransport;
  /**
   * Deadline of one call in ms, counted from `call()`: time queued for a slot counts too, so a
   * backlog sheds calls nobody waits for any more. Default 2000.
   */
  timeoutMs?: number;
  /** Requests in flight at once; default 64. Protects the backend from a reconnect storm. */
  concurrency?: number;
  /** Calls waiting for a slot beyond `concurrency` (0: none wait); more are answered `overloaded` at once. Default 1000. */
  queue?: number;
  /** A transport failure (the log line; the call ends `unavailable`). */
  onError?(error: Error): void;
}

/** A call waiting for a slot or in flight. */
interface PendingCall {
  readonly body: Readonly<Record<string, unknown>>;
  readonly controller: AbortController;
  timer: NodeJS.Timeout | undefined;
  settled: boolean;
  settle(outcome: CallOutcome): void;
}

const UNAVAILABLE: CallOutcome = { ok: false, failure: 'unavailable' };
const TIMED_OUT: CallOutcome = { ok: false, failure: 'timeout' };
const OVERLOADED: CallOutcome = { ok: false, failure: 'overloaded' };

export const DEFAULT_TIMEOUT_MS = 2000;
export const DEFAULT_CONCURRENCY = 64;
export const DEFAULT_QUEUE = 1000;

/** See the module description. `close()` ends every pending call `unavailable`, and so are later calls. */
export class BackendCaller {
  readonly #transport: BackendTransport;
  readonly #timeoutMs: number;
  readonly #concurrency: number;
  readonly #maxQueue: number;
  readonly #onError: (error: Error) => void;
  /** Oldest first: a Set keeps insertion order and deletes a timed-out waiter in O(1). */
  readonly #queue = new Set<PendingCall>();
  readonly #inFlight = new Set<PendingCall>();
  /** Slots taken: a timed-out request keeps its slot until its transport promise settles. */
  #busy = 0;
  #closed = false;

  /** Throws a RangeError on a limit that is not a positive integer (queue: non-negative). */
  constructor(options: BackendCallerOptions) {
    this.#transport = options.transport;
    this.#timeoutMs = checkedInt('timeoutMs', options.timeoutMs ?? DEFAULT_TIMEOUT_MS, 1);
    this.#concurrency = checkedInt('concurrency', options.concurrency ?? DEFAULT_CONCURRENCY, 1);
    this.#maxQueue = checkedInt('queue', options.queue ?? DEFAULT_QUEUE, 0);
    this.#onError = options.onError ?? (() => undefined);
  }

  /** Requests holding a slot (at most `concurrency`). */
  get inFlight(): number {
    return this.#busy;
  }

  /** Calls waiting for a slot (at most `queue`). */
  get queued(): number {
    return this.#queue.size;
  }

  /**
   * Ask the backend; see the module description. When `signal` aborts (the caller stopped
   * waiting), the call ends `unavailable` at once and gives its place up: out of the queue, or
   * its request aborted so the slot is free for the next.
   */
  call(body: Readonly<Record<string, unknown>>, signal?: AbortSignal): Promise<CallOutcome> {
    if (this.#closed || signal?.aborted === true) return Promise.resolve(UNAVAILABLE);
    if (this.#busy >= this.#concurrency && this.#queue.size >= this.#maxQueue) return Promise.resolve(OVERLOADED);
    return new Promise<CallOutcome>((resolve) => {
      const pending: PendingCall = {
        body,
        controller: new AbortController(),
        timer: undefined,
        settled: false,
        settle: (outcome) => {
          if (pending.settled) return;
          pending.settled = true;
          clearTimeout(pending.timer);
          signal?.removeEventListener('abort', onAbort);
          resolve(outcome);
        },
      };
      const onAbort = (): void => this.#abandoned(pending);
      signal?.addEventListener('abort', onAbort, { once: true });
      pending.timer = setTimeout(() => this.#timedOut(pending), this.#timeoutMs);
      if (this.#busy < this.#concurrency) this.#start(pending);
      else this.#queue.add(pending);
    });
  }

  /** End every pending call `unavailable` and close the transport. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const pending of this.#queue) pending.settle(UNAVAILABLE);
    this.#queue.clear();
    for (const pending of this.#inFlight) {
      pending.controller.abort();
      pending.settle(UNAVAILABLE);
    }
    this.#transport.close();
  }

  #start(pending: PendingCall): void {
    this.#busy++;
    this.#inFlight.add(pending);
    let request: Promise<unknown>;
    try {
      request = this.#transport.request(pending.body, pending.controller.signal);
    } catch (error) {
      request = Promise.reject(error);
    }
    request.then(
      (answer) => pending.settle({ ok: true, answer }),
      (error: unknown) => {
        // An abort is ours (deadline or close), already settled; anything else is the backend's failure.
        if (!pending.controller.signal.aborted) this.#onError(error instanceof Error ? error : new Error(String(error)));
        pending.settle(UNAVAILABLE);
      },
    ).finally(() => this.#release(pending));
  }

  /** The slot goes to the oldest waiter still waiting. */
  #release(pending: PendingCall): void {
    this.#inFlight.delete(pending);
    this.#busy--;
    if (this.#closed) return;
    const next = this.#queue.values().next();
    if (next.done) return;
    this.#queue.delete(next.value);
    this.#start(next.value);
  }

  #abandoned(pending: PendingCall): void {
    if (this.#queue.delete(pending)) return pending.settle(UNAVAILABLE);
    pending.settle(UNAVAILABLE);
    // Its request stops; the slot is released when the transport's promise settles.
    pending.controller.abort();
  }

  #timedOut(pending: PendingCall): void {
    if (this.#queue.delete(pending)) return pending.settle(TIMED_OUT);
    pending.settle(TIMED_OUT);
    pending.controller.abort();
  }
}

function checkedInt(name: string, value: number, min: number): number {
  if (!Number.isSafeInteger(value) || value < min) throw new RangeError(`${name} must be an integer >= ${min}, got ${value}`);
  return value;
}
