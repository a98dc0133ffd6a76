/**
 * SIGTERM and SIGINT for the gateway's process (`npm start`, `herald serve`).
 * The first starts the drain. A SIGINT at least `repeatGraceMs` later forces
 * the exit (a second Ctrl-C); any other repeat is the same request delivered
 * twice and is ignored: the drain already runs, bounded by --shutdown-timeout.
 *
 * Why the grace: under `npm start` one Ctrl-C reaches Node twice within
 * milliseconds, from the terminal (it signals the whole foreground process
 * group) and from npm (it forwards the signals it gets to its child); so does a
 * SIGTERM a supervisor sends to the whole group (systemd's default
 * `KillMode=control-group`). Taken as a second request, the SIGINT cut the
 * drain short (exit 130, clients saw 1006, not 1001) and the SIGTERM, no longer
 * handled, killed the process by Node's default action before it drained.
 */

/** Repeats within this many ms of the first signal are its duplicates (default 1 s). */
export const REPEAT_SIGNAL_GRACE_MS = 1_000;

/** Where the signals come from: `process`, or a test's emitter. */
export interface SignalSource {
  on(event: 'SIGINT' | 'SIGTERM', listener: (signal: NodeJS.Signals) => void): unknown;
}

/** What {@link watchShutdownSignals} does on a signal. */
export interface ShutdownSignalOptions {
  /** The first SIGTERM or SIGINT: start draining. Called once. */
  onDrain(signal: NodeJS.Signals): void;
  /** A later SIGINT, past the grace: end the process now. */
  onForce(): void;
  /** Default {@link REPEAT_SIGNAL_GRACE_MS}. */
  readonly repeatGraceMs?: number;
  /** Clock in ms; default `performance.now` (monotonic). */
  readonly now?: () => number;
}

/** Listen for SIGTERM and SIGINT on `source` for the rest of the process's life. */
export function watchShutdownSignals(source: SignalSource, options: ShutdownSignalOptions): void {
  const graceMs = options.repeatGraceMs ?? REPEAT_SIGNAL_GRACE_MS;
  const now = options.now ?? (() => performance.now());
  let drainStartedAt: number | undefined;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (drainStartedAt === undefined) {
      drainStartedAt = now();
      options.onDrain(signal);
    } else if (signal === 'SIGINT' && now() - drainStartedAt >= graceMs) {
      options.onForce();
    }
  };
  source.on('SIGTERM', onSignal);
  source.on('SIGINT', onSignal);
}
