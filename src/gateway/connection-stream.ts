import { OpCode } from '../protocol/constants.js';
import {
  NDJSON_KEEPALIVE,
  SSE_KEEPALIVE,
  ndjsonResponseHead,
  sseIdLine,
  sseNamedEvent,
  sseResponseHead,
  unframe,
} from '../protocol/event-stream.js';
import type { PreparedMessage } from '../protocol/prepared-message.js';
import { buildRejectionResponse } from '../protocol/upgrade-request.js';
import type { SendResult, WebSocketConnection } from './connection.js';
import { ConnectionState } from './connection-state.js';
import { Wire, refusalForClose, type HttpStream, type HttpStreamTap } from './http-stream.js';

/*
 * What a connection that is an HTTP stream (SSE, NDJSON) does instead of
 * framing: the same queue, bound and close as a WebSocket, other bytes. The
 * connection calls these functions from the branches it takes when its `stream`
 * is non-null (one null check on the WebSocket path), passing itself and its
 * stream. They use only the connection's internal write surface: `state`,
 * `owner` (bound, slow-consumer policy, stream hooks, close timeout),
 * `queueBytes`, `unflushedBytes`, `bufferedAmount`, `drainListener`/`checkDrain`,
 * `flush`, `writeNow`, `writeLatin1`, `rememberClose` and `end`.
 */

/** Accept the stream request: the connection opens, and the session replies it is sent go to `tap`. */
export function openHttpStream(conn: WebSocketConnection, stream: HttpStream, tap: HttpStreamTap, context: unknown): void {
  stream.tap = tap;
  stream.context = context;
  stream.request = null;
  conn.owner.onStreamOpened(conn);
}

/**
 * Queue the response head, then what waited for it (`afterHead`, the first SSE
 * cursor, right behind the head). The caller checked the stream is open and not started.
 */
export function startHttpStream(conn: WebSocketConnection, stream: HttpStream, afterHead: Buffer | undefined): void {
  const origin = stream.origin;
  const head = stream.wire === Wire.Sse ? (origin === undefined ? SSE_HEAD : sseResponseHead(SSE_RETRY_MS, origin)) : ndjsonResponseHead(origin);
  const parts = [head];
  if (afterHead !== undefined) parts.push(afterHead);
  parts.push(...(stream.early as Buffer[]));
  stream.started = true;
  stream.early = null;
  stream.earlyBytes = 0;
  // One buffer: a lone frame always fits the bound, and what waited was already within it.
  conn.queueBytes(parts.length === 1 ? head : Buffer.concat(parts));
  if (conn.drainListener !== null) conn.checkDrain();
}

/**
 * Queue stream bytes (an event, a line; `more` goes with `bytes` or neither
 * does), or hold them until the head; 'dropped' past the bound. The caller
 * checked the connection is open.
 */
export function writeHttpStream(conn: WebSocketConnection, stream: HttpStream, bytes: Buffer, more?: Buffer): SendResult {
  const length = bytes.length + (more === undefined ? 0 : more.length);
  if (!stream.started) {
    if (stream.earlyBytes > 0 && stream.earlyBytes + length > conn.owner.maxBufferedBytes) {
      conn.owner.onSlowConsumer(conn);
      return 'dropped';
    }
    (stream.early as Buffer[]).push(bytes);
    if (more !== undefined) (stream.early as Buffer[]).push(more);
    stream.earlyBytes += length;
    return 'ok';
  }
  if (more === undefined) return conn.queueBytes(bytes);
  // Both or neither: an event is never cut in two by the bound.
  const buffered = conn.unflushedBytes;
  if (buffered > 0 && buffered + length > conn.owner.maxBufferedBytes) {
    conn.owner.onSlowConsumer(conn);
    return 'dropped';
  }
  conn.queueBytes(bytes);
  return conn.queueBytes(more);
}

/** `sendPrepared` on a stream: the publication rendered for its wire, counted as the hub counts. */
export function sendPreparedToStream(conn: WebSocketConnection, stream: HttpStream, message: PreparedMessage): SendResult {
  const result = sendToStream(conn, stream, message);
  // Counted as the hub counts: pushes queued (a resume's replay is not one).
  if (result !== 'dropped') stream.count(message);
  return result;
}

/** A publication for a stream: the shared SSE event (behind this connection's cursor) or NDJSON line. */
function sendToStream(conn: WebSocketConnection, stream: HttpStream, message: PreparedMessage): SendResult {
  if (stream.wire === Wire.NdJson) return writeHttpStream(conn, stream, message.ndjsonLine());
  const event = message.sseEvent();
  const moved = stream.advance(message.stream, message.positionEntry());
  if (moved === -1) {
    stream.lastIdBytes = 0;
    return writeHttpStream(conn, stream, event);
  }
  let result: SendResult;
  if (stream.cursorEntries.length === 1) {
    // The cursor is this message's own position: the shared event-with-id, as framed-once as a WebSocket frame.
    const shared = message.sseEventWithOwnId();
    stream.lastIdBytes = shared.length - event.length;
    result = writeHttpStream(conn, stream, shared);
  } else {
    const id = sseIdLine(stream.cursor);
    stream.lastIdBytes = id.length;
    result = writeHttpStream(conn, stream, id, event);
  }
  // Dropped (the 'drop' slow-consumer policy): the cursor names only what was queued.
  if (result === 'dropped') stream.cursorEntries[moved] = stream.previousEntry;
  return result;
}

/** `offerPrepared` for a stream: the same pacing (half the bound), counted in what waits for the head too. */
export function offerToStream(conn: WebSocketConnection, stream: HttpStream, message: PreparedMessage): number {
  const size = stream.wire === Wire.NdJson ? message.ndjsonLine().length : message.sseEvent().length + 64;
  const buffered = stream.started ? conn.bufferedAmount : stream.earlyBytes;
  if (buffered > 0 && buffered + size > conn.owner.maxBufferedBytes / 2) return -size;
  return sendToStream(conn, stream, message) === 'dropped' ? 0 : size;
}

/** `sendFrame` on a stream: what a frame the session built for every connection (a reply, a heartbeat) means here. */
export function sendFrameToStream(conn: WebSocketConnection, stream: HttpStream, frame: Buffer): SendResult {
  const { opcode, payload } = unframe(frame);
  if (opcode === OpCode.Ping) {
    if (!stream.started) return 'ok';
    return conn.queueBytes(stream.wire === Wire.Sse ? SSE_KEEPALIVE : NDJSON_KEEPALIVE);
  }
  if (opcode === OpCode.Text) stream.tap?.onText(conn, stream, payload.toString('utf8'));
  return 'ok';
}

/** Close a stream: an `event: close` (SSE) or a `"close":true` line (NDJSON), or an HTTP error before the head. */
export function closeHttpStream(conn: WebSocketConnection, stream: HttpStream, code: number, reason: string): void {
  conn.state = ConnectionState.Closing;
  conn.rememberClose(code, reason);
  if (!stream.started) {
    stream.early = null;
    conn.writeLatin1(buildRejectionResponse(stream.refusal ?? refusalForClose(code, reason)));
  } else {
    conn.flush();
    const json = JSON.stringify(stream.wire === Wire.Sse ? { code, reason } : { code, message: reason, close: true });
    conn.writeNow(stream.wire === Wire.Sse ? sseNamedEvent('close', json) : Buffer.from(`${json}\n`));
  }
  conn.end();
  conn.owner.scheduleCloseTimeout(conn);
}

/** EventSource's reconnect delay (`retry:`), ms. */
const SSE_RETRY_MS = 1000;
/** The SSE response head for requests without an Origin, built once (with one, it carries CORS headers). */
const SSE_HEAD = sseResponseHead(SSE_RETRY_MS);
