/**
 * A small Engine for tests: the memory engine (synchronous local delivery, in
 * order), except that `publish` rejects with EngineUnavailableError while
 * `accepting` is false, or for the publications `refuse` picks — the engine
 * contract's "cannot accept" answer. With `ackDelayMs`, accepted publications
 * are delivered at once but their `publish` resolves only after that delay
 * (as with a remote broker), and `maxPending` records how many were
 * unresolved at once. Without a delay the synchronous `publishNow` (what the
 * push APIs use on the memory engine) refuses the same way, by throwing; with
 * one it is hidden, as an engine that acknowledges late has none.
 */
import { EngineUnavailableError, type Publication, type StreamPosition } from '../../src/engine/engine.js';
import { MemoryEngine } from '../../src/engine/memory-engine.js';

export class SwitchableEngine extends MemoryEngine {
  accepting = true;
  /** Publications refused even while accepting (e.g. one topic's). */
  refuse: (publication: Publication) => boolean = () => false;
  /** Publish attempts refused so far. */
  refused = 0;
  /** Resolve accepted publishes after this many ms instead of at once. */
  readonly ackDelayMs: number | undefined;
  pending = 0;
  maxPending = 0;

  constructor(options: { ackDelayMs?: number } = {}) {
    super();
    this.ackDelayMs = options.ackDelayMs;
    // An own property hiding the prototype's method: the push APIs then take the promise path.
    if (this.ackDelayMs !== undefined) (this as { publishNow?: unknown }).publishNow = undefined;
  }

  override publishNow(publication: Publication): StreamPosition {
    if (!this.accepting || this.refuse(publication)) {
      this.refused++;
      throw new EngineUnavailableError('test engine is not accepting publications');
    }
    return super.publishNow(publication);
  }

  override get ready(): boolean {
    return super.ready && this.accepting;
  }

  override publish(publication: Publication): ReturnType<MemoryEngine['publish']> {
    if (!this.accepting || this.refuse(publication)) {
      this.refused++;
      return Promise.reject(new EngineUnavailableError('test engine is not accepting publications'));
    }
    const accepted = super.publish(publication);
    const delay = this.ackDelayMs;
    if (delay === undefined) return accepted;
    this.pending++;
    this.maxPending = Math.max(this.maxPending, this.pending);
    return accepted.then(
      (position) =>
        new Promise((resolve) =>
          setTimeout(() => {
            this.pending--;
            resolve(position);
          }, delay),
        ),
    );
  }
}
