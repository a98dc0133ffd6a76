/**
 * The types a connection shares with its owner (the server) and its
 * senders: what a send did, who is told of room, what the server provides.
 * Apart from connection.ts so that file holds the connection alone.
 */
import type { InflateContext, DeflateParams } from '../protocol/permessage-deflate.js';
import type { HandshakeError } from '../protocol/errors.js';
import type { WebSocketConnection } from './connection.js';

/** A connection's permessage-deflate agreement, and its inflate window if the client keeps context. */
export interface DeflateState {
  readonly params: DeflateParams;
  inflater: InflateContext | null;
}

/**
 * What a send did. Drops are results, not errors: a closed or overloaded
 * connection must never make a fan-out loop throw.
 */
export type SendResult = 'ok' | 'backpressure' | 'dropped';

/** Told once that a connection's unflushed bytes went down (see `WebSocketConnection.waitForDrain`). */
export interface DrainListener {
  onDrain(conn: WebSocketConnection): void;
}

/** The server-side services a connection calls; implemented by WebSocketServer. */
export interface ConnectionOwner {
  onHandshakeData(conn: WebSocketConnection, chunk: Buffer): void;
  onConnectionMessage(conn: WebSocketConnection, data: Buffer, isText: boolean): void;
  onConnectionClosed(conn: WebSocketConnection): void;
  /** Queue `conn` to be flushed once at the end of this event-loop turn. */
  markDirty(conn: WebSocketConnection): void;
  /** A frame did not fit under `maxBufferedBytes`: apply the slow-consumer policy to `conn`. */
  onSlowConsumer(conn: WebSocketConnection): void;
  /** Put `conn` on the shared timer wheel, to be ended if still closing after the close timeout. */
  scheduleCloseTimeout(conn: WebSocketConnection): void;
  /** A message began arriving on `conn` (`messageStartTick` was just set): bound the time it may take. */
  onMessageStarted(conn: WebSocketConnection): void;
  /** `conn`, an HTTP stream request the application accepts, is open: count it and file its keep-alives. */
  onStreamOpened(conn: WebSocketConnection): void;
  /** Answer an HTTP stream request (not yet started) with an error and end. */
  refuseStream(conn: WebSocketConnection, error: HandshakeError): void;
  /** Bound on a connection's unflushed bytes (queued this turn plus the kernel's backlog in the transport). */
  readonly maxBufferedBytes: number;
  /** Largest incoming message, for the parser created when bytes arrive. */
  readonly maxMessageSize: number;
  /** The coarse clock value to stamp on activity (idle timeout), never early. */
  readonly activityTick: number;
}

/** `lastFlushMs` of a connection never written (merge-window clock values are ≥ 0). */
export const NEVER_FLUSHED = -1;
/** `lastFlushMs` of a connection whose next write carries the 101 response: that write does not count. */
export const HANDSHAKE_FLUSH = -2;
