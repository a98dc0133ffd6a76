/**
 * Where Herald's log lines go: stdout, as JSON lines or (for a person at a
 * terminal) as {@link formatPretty} lines. Logging must never stop the
 * process from running or from exiting:
 *
 * - Lines are written through `process.stdout`, which never blocks the event
 *   loop on a pipe and is not flushed on exit. pino's own destination
 *   (sonic-boom) flushes synchronously in an exit handler and retries a write
 *   that failed with EPIPE forever: `herald serve | head -1` then never exited
 *   on SIGTERM.
 * - A write error (EPIPE: the reader went away; EBADF, EIO) stops logging for
 *   good instead of throwing: a gateway is not stopped by its log.
 * - A reader that stops reading cannot make the log grow without bound: past
 *   `maxPendingBytes` waiting to be written, lines are dropped and counted, and
 *   one line says how many once the stream has drained.
 */
import { formatPretty } from './pretty.js';

/** How log lines are written: pino's JSON, or one readable line per record. */
export type LogFormat = 'json' | 'pretty';

/** What a destination writes to: `process.stdout`, or a capture stream in tests. */
export interface LogOutput {
  write(chunk: string): boolean;
  readonly writableLength?: number;
  on(event: 'error', listener: (error: Error) => void): unknown;
  once(event: 'drain', listener: () => void): unknown;
}

export interface LogDestinationOptions {
  /** Default `process.stdout`. */
  output?: LogOutput;
  /** Default `json`. */
  format?: LogFormat;
  /** Colour the level in `pretty` format; default: when the output is a terminal. */
  colors?: boolean;
  /** Bytes allowed to wait for a slow reader before lines are dropped; default 4 MiB. */
  maxPendingBytes?: number;
}

/** A pino destination (`pino(options, destination)`). */
export interface LogDestination {
  write(line: string): void;
  /** Lines dropped because the reader fell behind; they are reported once it catches up. */
  readonly dropped: number;
  /** True once a write error ended logging. */
  readonly broken: boolean;
}

/** The format used when none is configured: readable on a terminal, JSON lines for machines. */
export function defaultLogFormat(output: { isTTY?: boolean } = process.stdout): LogFormat {
  return output.isTTY === true ? 'pretty' : 'json';
}

export function createLogDestination(options: LogDestinationOptions = {}): LogDestination {
  const output = options.output ?? process.stdout;
  const pretty = options.format === 'pretty';
  const colors = options.colors ?? (pretty && (output as { isTTY?: boolean }).isTTY === true);
  const maxPending = options.maxPendingBytes ?? 4 * 1024 * 1024;
  let broken = false;
  let dropped = 0;
  let waitingForDrain = false;

  output.on('error', () => {
    broken = true;
  });

  const put = (line: string): void => {
    try {
      output.write(pretty ? formatPretty(line, { colors }) : line);
    } catch {
      // A stream destroyed under us: the same as an error event.
      broken = true;
    }
  };

  return {
    write(line: string): void {
      if (broken) return;
      if ((output.writableLength ?? 0) > maxPending) {
        dropped++;
        if (!waitingForDrain) {
          waitingForDrain = true;
          output.once('drain', () => {
            waitingForDrain = false;
            if (broken || dropped === 0) return;
            const lost = dropped;
            dropped = 0;
            put(`${JSON.stringify({ level: 40, time: Date.now(), msg: 'log lines dropped: the log reader fell behind', dropped: lost })}\n`);
          });
        }
        return;
      }
      put(line);
    },
    get dropped() {
      return dropped;
    },
    get broken() {
      return broken;
    },
  };
}
