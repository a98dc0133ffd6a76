import { ReplyCode } from '../codes.js';
import type { WebSocketConnection } from '../gateway/connection.js';
import { Wire, type HttpStream, type HttpStreamRequest, type HttpStreamTap } from '../gateway/http-stream.js';
import { CloseCode } from '../protocol/constants.js';
import { HandshakeError } from '../protocol/errors.js';
import { sseNamedEvent } from '../protocol/event-stream.js';
import type { UpgradeRequest } from '../protocol/upgrade-request.js';
import { streamOf } from '../streams.js';
import { ClientOp } from './session-client.js';
import { parseSseRequest, parseStreamBody, type ParsedStreamRequest, type StreamSubscription } from './http-stream-request.js';

/** What the adapter needs of the session: a herald.v1 connection's open and commands. */
export interface StreamSessionHost {
  onOpen(conn: WebSocketConnection, request?: UpgradeRequest): void;
  onMessage(conn: WebSocketConnection, data: Buffer, isText: boolean): void;
}

/** The request id of the login command; subscriptions use their index. */
const LOGIN_ID = 'login';
/**
 * A fresh SSE subscription resumes from a position no stream has, so the reply names the stream's
 * current position (and the hold covers what is published meanwhile): the cursor then starts there.
 */
const NO_POSITION = { seq: 0, epoch: '~' } as const;

/** One HTTP stream's bookkeeping (the gateway keeps it in `HttpStream.context`). */
class StreamRequestState {
  /** Subscription replies still expected before an SSE response starts. */
  pending: number;
  /**
   * SSE: the start block's cursor, each stream's position before anything this request replays or
   * holds. Not the stream's live cursor: a stream answered early has its replay queued (behind the
   * head) and its cursor moved past it before the last reply starts the response, and an
   * `EventSource` that dropped right after the start block would resume past that replay.
   */
  readonly startEntries: string[];
  constructor(
    readonly request: ParsedStreamRequest,
    /** SSE: the size of this request's head without its Last-Event-ID header, 0 when unknown. */
    readonly headBytesWithoutCursor: number,
    /** The listener's bound on a request head. */
    readonly maxHeadBytes: number,
  ) {
    this.pending = request.subscriptions.length;
    this.startEntries = request.subscriptions.map((s) => (s.since === undefined ? '' : `${s.since.seq}:${s.since.epoch}`));
  }
}

/** `Last-Event-ID: ` and the line's CRLF, as an EventSource sends it on a reconnect (HTML §9.2.4). */
const CURSOR_HEADER_BYTES = 'Last-Event-ID: \r\n'.length;
/** The longest `<seq>` of a cursor entry (http-stream-request.ts reads at most 15 digits) and its `:`. */
const ENTRY_SEQ_BYTES = 16;
/** An epoch's longest spelling, for an entry that has none yet. */
const EPOCH_MAX_BYTES = 64;

/**
 * The most bytes this stream's cursor can take in a reconnect's Last-Event-ID:
 * every entry at the longest `<seq>`, with its epoch as now (the longest for
 * an empty entry), joined by commas.
 */
function cursorBound(entries: readonly string[]): number {
  let bytes = entries.length - 1;
  for (const entry of entries) bytes += ENTRY_SEQ_BYTES + (entry === '' ? EPOCH_MAX_BYTES : entry.length - entry.indexOf(':') - 1);
  return bytes;
}

/** HTTP status and code for an SSE subscription's (or login's) error reply. */
function refusalOf(reply: { code: number; message?: string; detail?: unknown }, what: string): HandshakeError {
  const detail = typeof reply.detail === 'string' ? `: ${reply.detail}` : '';
  const message = `${what}: ${reply.message ?? 'refused'}${detail}`;
  switch (reply.code) {
    case ReplyCode.AuthFailed:
    case ReplyCode.NotLoggedIn:
      return new HandshakeError(401, 'UNAUTHENTICATED', message);
    case ReplyCode.InvalidTopic:
      return new HandshakeError(400, 'INVALID_TOPIC', message);
    case ReplyCode.Forbidden:
      return new HandshakeError(403, 'FORBIDDEN', message);
    case ReplyCode.TooManySubscriptions:
      return new HandshakeError(503, 'SUBSCRIPTION_REFUSED', message);
    default:
      return new HandshakeError(400, 'BAD_REQUEST', message);
  }
}

/**
 * `GET /v1/sse` and `POST /v1/stream` as sessions (PROTOCOL.md, "Without
 * WebSocket"): the request becomes the herald.v1 commands a WebSocket client
 * would send — op 3 with the token, then op 1/5 per topic with `since` — run
 * by the same session (same checks, same hub client), and the replies it
 * sends back are turned into the stream's answers: an HTTP error or the start
 * of the SSE response, NDJSON lines, `gap` and `notice` events.
 */
export class HttpStreamSession implements HttpStreamTap {
  constructor(
    private readonly session: StreamSessionHost,
    private readonly maxSubscriptions: number,
  ) {}

  /** A request arrived (head and body read): refuse it, or open it and send its commands. */
  handle(conn: WebSocketConnection, request: HttpStreamRequest): void {
    const parsed = request.wire === Wire.Sse ? parseSseRequest(request, this.maxSubscriptions) : parseStreamBody(request, this.maxSubscriptions);
    if (parsed instanceof HandshakeError) return conn.refuseStream(parsed);
    const stream = conn.stream as HttpStream;
    if (request.wire === Wire.Sse) {
      // Private streams are keyed by the uid, known once logged in (see onLogin).
      stream.cursorStreams = parsed.subscriptions.map((s) => (s.isPrivate ? '' : streamOf({ topic: s.topic })));
    }
    const cursorHeader = request.headers.get('last-event-id');
    const withoutCursor = request.headBytes === 0 ? 0 : request.headBytes - (cursorHeader === undefined ? 0 : CURSOR_HEADER_BYTES + cursorHeader.length);
    const state = new StreamRequestState(parsed, withoutCursor, request.maxHeadBytes);
    if (request.wire === Wire.Sse) stream.cursorEntries = state.startEntries.slice();
    conn.openStream(this, state);
    if (request.wire === Wire.NdJson) conn.startStream();
    this.session.onOpen(conn, asUpgradeRequest(request));
    if (parsed.token !== undefined) this.command(conn, { code: ClientOp.Login, data: parsed.token, id: LOGIN_ID });
    parsed.subscriptions.forEach((s, id) => this.command(conn, subscribeCommand(s, id, request.wire)));
  }

  private command(conn: WebSocketConnection, command: object): void {
    if (conn.isOpen) this.session.onMessage(conn, Buffer.from(JSON.stringify(command)), true);
  }

  /** A reply the session sent this stream. */
  onText(conn: WebSocketConnection, stream: HttpStream, text: string): void {
    let reply: { code: number; id?: unknown; message?: string; detail?: unknown };
    try {
      reply = JSON.parse(text) as typeof reply;
    } catch {
      return; // not a reply (a text pong): nothing these clients asked for
    }
    if (typeof reply?.code !== 'number' || reply.code === ReplyCode.Connected) return;
    // Null once every subscription has answered: an idle stream keeps no copy of its request.
    const state = stream.context as StreamRequestState | null;
    const { id } = reply;
    delete reply.id;
    if (id === LOGIN_ID) return this.onLogin(conn, stream, reply);
    const subscription = typeof id === 'number' && state !== null ? state.request.subscriptions[id] : undefined;
    if (subscription === undefined) {
      // Unprompted (20005, 20006, 30006, 30009): as on WebSocket, or an SSE notice.
      conn.writeStream(stream.wire === Wire.Sse ? sseNamedEvent('notice', JSON.stringify(reply)) : line(reply));
      return;
    }
    if (stream.wire === Wire.NdJson) {
      conn.writeStream(line({ ...reply, topic: subscription.topic, ...(subscription.isPrivate ? { private: true } : {}) }));
      if (--state!.pending === 0) stream.context = null;
      return;
    }
    this.onSseSubscribed(conn, stream, state!, id as number, subscription, reply);
  }

  private onLogin(conn: WebSocketConnection, stream: HttpStream, reply: { code: number; detail?: unknown }): void {
    if (stream.wire === Wire.NdJson) {
      conn.writeStream(line(reply));
      return;
    }
    if (reply.code !== ReplyCode.LoggedIn) {
      stream.refusal = refusalOf(reply, 'the token was refused');
      return conn.close(4401, 'unauthenticated');
    }
    const uid = (reply.detail as { uid: string }).uid;
    // The login is answered before any subscription (the session holds them behind it): the request is still here.
    const { subscriptions } = (stream.context as StreamRequestState).request;
    subscriptions.forEach((s, i) => {
      if (s.isPrivate) stream.cursorStreams[i] = streamOf({ uid, topic: s.topic });
    });
  }

  /** SSE: a subscription answered; the response starts when all have, or fails with the first refusal. */
  private onSseSubscribed(
    conn: WebSocketConnection,
    stream: HttpStream,
    state: StreamRequestState,
    index: number,
    subscription: StreamSubscription,
    reply: { code: number; recovered?: boolean; position?: { seq: number; epoch: string } },
  ): void {
    if (reply.code !== ReplyCode.Subscribed) {
      stream.refusal = refusalOf(reply, `topic ${JSON.stringify(subscription.topic)}`);
      return conn.close(4403, 'subscription refused');
    }
    const { position } = reply;
    if (position !== undefined && reply.recovered !== true) {
      // The client named a position the history no longer covers: say so, then go on from now.
      if (subscription.since !== undefined) {
        const gap = { stream: subscription.topic, ...(subscription.isPrivate ? { private: true } : {}), position };
        conn.writeStream(sseNamedEvent('gap', JSON.stringify(gap)));
      }
      stream.cursorEntries[index] = state.startEntries[index] = `${position.seq}:${position.epoch}`;
    }
    if (--state.pending > 0) return;
    stream.context = null;
    // An EventSource resends the cursor on its own reconnect: if that request could pass the head bound
    // it would get 431 and give up for good (HTML §9.2.3, a non-200 fails the connection), so refuse now.
    const reconnectBytes = state.headBytesWithoutCursor + CURSOR_HEADER_BYTES + cursorBound(state.startEntries);
    if (state.headBytesWithoutCursor > 0 && reconnectBytes > state.maxHeadBytes) {
      const message = `the cursor of ${state.startEntries.length} streams may need ${reconnectBytes} bytes of request head in a reconnect's Last-Event-ID, past the listener's ${state.maxHeadBytes} (--max-request-bytes): ask for fewer topics per request`;
      stream.refusal = new HandshakeError(400, 'TOO_MANY_TOPICS', message);
      return conn.close(CloseCode.PolicyViolation, 'cursor too long');
    }
    conn.startStream(Buffer.from(`id: ${state.startEntries.join(',')}\n\n`, 'latin1'));
  }
}

function subscribeCommand(s: StreamSubscription, id: number, wire: Wire): object {
  // SSE always resumes: a fresh stream from "no position", so its reply says where it starts.
  const since = s.since ?? (wire === Wire.Sse ? NO_POSITION : undefined);
  return { code: s.isPrivate ? ClientOp.SubscribePrivate : ClientOp.SubscribePublic, topic: s.topic, id, since };
}

function line(value: object): Buffer {
  return Buffer.from(`${JSON.stringify(value)}\n`, 'utf8');
}

/** The request as a connect proxy sees an upgrade's (its headers, e.g. the cookie). */
function asUpgradeRequest(request: HttpStreamRequest): UpgradeRequest {
  return {
    path: request.path,
    query: request.query,
    host: request.headers.get('host') ?? '',
    key: '',
    protocols: [],
    extensions: '',
    origin: request.origin,
    headers: request.headers,
  };
}
