import { CloseCode } from '../protocol/constants.js';
import type { WebSocketConnection } from './connection.js';
import { monotonicNow, type TimingWheel } from '../util/timing-wheel.js';

/** The deadlines an open connection lives under; undefined turns one off. */
export interface LivenessPolicy {
  /**
   * Heartbeat: silent for half of this → the server pings (RFC 6455 §5.5.2,
   * which every browser answers by itself); silent for all of it → closed
   * with `idleCloseCode`.
   */
  readonly idleTimeoutMs: number | undefined;
  readonly idleCloseCode: number;
  /** A message (frame partly received, or a fragmented message open) must complete within this; 1008 beyond. */
  readonly messageTimeoutMs: number | undefined;
}

/**
 * An open connection's wheel deadline has come: close it, ping it, or file it
 * again at its next deadline. Nothing runs per received byte: reads only stamp
 * `lastActivityTick` (and `messageStartTick` when a message begins), and the
 * state is read here, lazily, so an open connection owns no timer:
 *
 *   silent < idle/2 → re-file at lastActivity + idle/2
 *   silent ≥ idle/2 → send a ping, re-file at lastActivity + idle
 *   silent ≥ idle   → close (4000 in Herald)
 *
 * A pong, or any other byte, moves lastActivity and so starts over. Bytes
 * trickled into a message that never completes keep the heartbeat satisfied,
 * so the message has its own bound: messageStart + messageTimeout → 1008.
 */
export function checkOpenConnection(conn: WebSocketConnection, wheel: TimingWheel<WebSocketConnection>, policy: LivenessPolicy): void {
  const tickMs = wheel.resolutionMs;
  const now = monotonicNow();
  if (conn.stream !== null) return keepStreamAlive(conn, wheel, policy, now);
  let next = Infinity;
  if (policy.messageTimeoutMs !== undefined && conn.messageStartTick !== 0) {
    const due = conn.messageStartTick * tickMs + policy.messageTimeoutMs;
    if (due <= now) return conn.close(CloseCode.PolicyViolation, 'message not completed in time');
    next = due;
  }
  const idle = policy.idleTimeoutMs;
  if (idle !== undefined) {
    const last = conn.lastActivityTick * tickMs;
    if (last + idle <= now) return conn.close(policy.idleCloseCode, 'heartbeat timeout');
    if (last + idle / 2 <= now) {
      conn.ping();
      next = Math.min(next, last + idle);
    } else {
      next = Math.min(next, last + idle / 2);
    }
  }
  if (next !== Infinity) wheel.schedule(conn, next);
}

/** A message began on `conn` (its messageStartTick is set): make sure the wheel looks at it by its deadline. */
export function messageStarted(conn: WebSocketConnection, wheel: TimingWheel<WebSocketConnection>, policy: LivenessPolicy): void {
  if (policy.messageTimeoutMs === undefined) return;
  const due = conn.messageStartTick * wheel.resolutionMs + policy.messageTimeoutMs;
  // Filed for this tick or an earlier one already (the heartbeat's next look usually is): that look re-files it correctly.
  if (conn.wheelTick === 0 || wheel.tickFor(due) < conn.wheelTick) wheel.schedule(conn, due);
}

/**
 * An HTTP stream's client never speaks after its request, so silence closes
 * nothing: a keep-alive (SSE comment, NDJSON empty line, via `ping`) goes out
 * when half the heartbeat passed without a write (flushes stamp
 * `lastActivityTick`), so proxies keep the response open.
 */
function keepStreamAlive(conn: WebSocketConnection, wheel: TimingWheel<WebSocketConnection>, policy: LivenessPolicy, now: number): void {
  const idle = policy.idleTimeoutMs;
  if (idle === undefined) return;
  const due = conn.lastActivityTick * wheel.resolutionMs + idle / 2;
  if (due <= now) {
    conn.ping();
    wheel.schedule(conn, now + idle / 2);
  } else {
    wheel.schedule(conn, due);
  }
}
