import { CloseCode } from '../protocol/constants.js';
import { HandshakeError } from '../protocol/errors.js';
import type { WebSocketConnection } from './connection.js';
import type { PreparedMessage } from '../protocol/prepared-message.js';
import type { CorsOrigin } from '../protocol/event-stream.js';

/** How a connection that speaks no WebSocket renders what it is sent (PROTOCOL.md, "Without WebSocket"). */
export const Wire = {
  /** `GET /v1/sse`: Server-Sent Events. */
  Sse: 1,
  /** `POST /v1/stream`: newline-delimited herald.v1 JSON. */
  NdJson: 2,
} as const;
export type Wire = (typeof Wire)[keyof typeof Wire];

/** A plain-HTTP streaming request on the WebSocket listener, once its head (and body) arrived. */
export interface HttpStreamRequest {
  readonly wire: Wire;
  readonly method: string;
  readonly path: string;
  /** The query string without `?`, or ''. */
  readonly query: string;
  /** Lower-cased header names. */
  readonly headers: Map<string, string>;
  /** What the response's CORS headers say (see CorsOrigin): `*`, the request's Origin, or nothing. */
  readonly origin: CorsOrigin;
  /** `POST /v1/stream`'s body; empty for SSE. */
  body: Buffer;
  /** The request head's size as received (request line and headers), 0 when unknown. */
  readonly headBytes: number;
  /** The listener's bound on a request head (`maxRequestBytes`): an SSE reconnect, with its Last-Event-ID, must fit in it. */
  readonly maxHeadBytes: number;
}

/**
 * What the application does with the text frames (replies) its session sends
 * to a streaming connection: one object for every connection (no closure per
 * connection); per-connection state lives in {@link HttpStream.context}.
 */
export interface HttpStreamTap {
  onText(conn: WebSocketConnection, stream: HttpStream, text: string): void;
}

/** Totals of one wire, read by /metrics. */
export interface WireTotals {
  /** Streams open now. */
  open: number;
  opened: number;
  messages: number;
  bytes: number;
  /** What the hub counted for those messages (their WebSocket frame's length), to tell WebSocket's share from the hub's totals. */
  hubBytes: number;
}

/**
 * The part of a connection that is an HTTP stream instead of a WebSocket:
 * which rendering, the SSE cursor (the position of each of the request's
 * streams, see PROTOCOL.md), and — until the response head is sent —
 * the deliveries that must wait behind it, within the connection's bound.
 */
export class HttpStream {
  /** The response head was queued: deliveries go straight to the connection. */
  started = false;
  /** Bytes waiting for the head (SSE waits for its subscriptions' answers); null once started. */
  early: Buffer[] | null = [];
  earlyBytes = 0;
  /** The answer for a close that comes before the head (a refusal the session gave); null: derived from the close code. */
  refusal: HandshakeError | null = null;
  /** The body being read (`POST`): its bytes so far, and how many are expected. */
  body: Buffer | null = null;
  bodyLength = 0;
  bodyExpected = 0;
  /** SSE: stream keys in the cursor's order, and each one's last position `<seq>:<epoch>` ('' when none). */
  cursorStreams: string[] = [];
  cursorEntries: string[] = [];
  /** The CORS answer to the request's Origin (see CorsOrigin). */
  origin: CorsOrigin;
  /** The application's per-connection state (the session adapter's). */
  context: unknown = undefined;
  tap: HttpStreamTap | null = null;
  /** The request head, until the stream is handed to the application. */
  request: HttpStreamRequest | null;

  constructor(
    readonly wire: Wire,
    request: HttpStreamRequest,
    readonly totals: WireTotals,
  ) {
    this.request = request;
    this.origin = request.origin;
  }

  /** Length of the `id:` line of the last event queued (0: none), for the byte count. */
  lastIdBytes = 0;

  /** Count a push queued on this stream (by the hub's rules: replays are not pushes). */
  count(message: PreparedMessage): void {
    const totals = this.totals;
    totals.messages++;
    totals.bytes += this.wire === Wire.NdJson ? message.ndjsonLine().length : message.sseEvent().length + this.lastIdBytes;
    totals.hubBytes += message.plain.length;
  }

  /**
   * Record `entry` (`<seq>:<epoch>`, '' for none) as delivered on `stream`; returns the cursor index it
   * moved (its previous entry is `previousEntry`), or -1 when the cursor does
   * not hold that stream.
   */
  advance(stream: string, entry: string): number {
    if (entry === '') return -1;
    const entries = this.cursorEntries;
    // One stream (the common case): no search.
    const at = entries.length === 1 ? (this.cursorStreams[0] === stream ? 0 : -1) : this.cursorStreams.indexOf(stream);
    if (at === -1) return -1;
    this.previousEntry = entries[at];
    entries[at] = entry;
    return at;
  }

  /** The entry `advance` replaced, put back when the event was not queued after all. */
  previousEntry = '';

  /** The cursor as the `id:` field carries it. */
  get cursor(): string {
    return this.cursorEntries.join(',');
  }
}

/**
 * The HTTP answer for a stream closed before its response started, from the
 * close code (Herald's close codes, codes.ts): 4102 backend unavailable → 503,
 * a terminal 4500–4999 → 403, 1001 shutdown → 503, anything else (a slow
 * consumer before the start) → 503.
 */
export function refusalForClose(code: number, reason: string): HandshakeError {
  if (code === 4102) return new HandshakeError(503, 'BACKEND_UNAVAILABLE', reason);
  if (code >= 4500 && code <= 4999) return new HandshakeError(403, 'FORBIDDEN', reason);
  if (code === CloseCode.GoingAway) return new HandshakeError(503, 'SHUTTING_DOWN', reason);
  return new HandshakeError(503, 'UNAVAILABLE', reason || 'closed before the stream started');
}
