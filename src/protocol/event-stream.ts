import { OpCode } from './constants.js';

/**
 * The two plain-HTTP renderings of a publication (PROTOCOL.md, "Without
 * WebSocket"): a Server-Sent Events block (HTML Living Standard §9.2.6, the
 * event-stream format) and a newline-delimited JSON line. Pure: bytes in,
 * bytes out.
 */

const LF = 0x0a;
const CR = 0x0d;
const NUL = 0x00;

/**
 * The fields of one SSE event for a payload, without its `id:` line (which
 * is per connection): UTF-8 text without CR or NUL as one `data:` line per
 * LF-separated line (EventSource joins them with LF again), anything else as
 * `event: binary` and base64. Ends with the blank line that dispatches it.
 */
export function renderSseEvent(opcode: OpCode, payload: Uint8Array): Buffer {
  const bytes = Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
  // §9.2.6: CR alone ends a line too, and NUL is not carried faithfully by every parser: such text goes as base64.
  if (opcode !== OpCode.Text || bytes.includes(CR) || bytes.includes(NUL)) {
    return Buffer.from(`event: binary\ndata: ${bytes.toString('base64')}\n\n`, 'latin1');
  }
  let lines = 1;
  for (let i = bytes.indexOf(LF); i !== -1; i = bytes.indexOf(LF, i + 1)) lines++;
  const out = Buffer.allocUnsafe(bytes.length + lines * DATA.length + 2);
  let at = 0;
  let start = 0;
  for (;;) {
    const end = bytes.indexOf(LF, start);
    at += DATA.copy(out, at);
    at += bytes.copy(out, at, start, end === -1 ? bytes.length : end);
    out[at++] = LF;
    if (end === -1) break;
    start = end + 1;
  }
  out[at++] = LF;
  return out.subarray(0, at);
}

const DATA = Buffer.from('data: ', 'latin1');

/** A named SSE event carrying one line of JSON (`gap`, `notice`, `close`). */
export function sseNamedEvent(type: string, json: string): Buffer {
  return Buffer.from(`event: ${type}\ndata: ${json}\n\n`, 'utf8');
}

/** The `id:` line of an event: the connection's cursor (see PROTOCOL.md). */
export function sseIdLine(cursor: string): Buffer {
  return Buffer.from(`id: ${cursor}\n`, 'latin1');
}

/** A keep-alive: a comment, and the blank line that ends the (empty) block. */
export const SSE_KEEPALIVE = Buffer.from(':\n\n', 'latin1');
/** The NDJSON keep-alive: an empty line. */
export const NDJSON_KEEPALIVE = Buffer.from('\n', 'latin1');

/**
 * What a stream response tells a browser on another origin (Fetch standard,
 * "CORS protocol"): `'*'` lets any page read it without credentials (no
 * cookies: `--allowed-origins` is not set, so a page cannot ride a user's
 * cookie-based login); an origin string echoes that origin with credentials
 * (it is named by `--allowed-origins`); undefined sends nothing (no Origin).
 */
export type CorsOrigin = string | undefined;

/** The Access-Control-* lines for {@link CorsOrigin}. */
export function corsHeaders(origin: CorsOrigin): string {
  if (origin === undefined) return '';
  if (origin === '*') return 'Access-Control-Allow-Origin: *\r\n';
  return `Access-Control-Allow-Origin: ${origin}\r\nAccess-Control-Allow-Credentials: true\r\nVary: Origin\r\n`;
}

/** The 200 head of an event stream, with the reconnect delay and a first comment flushed with it. */
export function sseResponseHead(retryMs: number, origin?: string): Buffer {
  return Buffer.from(
    'HTTP/1.1 200 OK\r\nContent-Type: text/event-stream; charset=utf-8\r\nCache-Control: no-store\r\n' +
      `X-Accel-Buffering: no\r\n${corsHeaders(origin)}Connection: close\r\n\r\nretry: ${retryMs}\n: ok\n\n`,
    'latin1',
  );
}

/** The 200 head of an NDJSON stream. */
export function ndjsonResponseHead(origin?: string): Buffer {
  return Buffer.from(
    'HTTP/1.1 200 OK\r\nContent-Type: application/x-ndjson\r\nCache-Control: no-store\r\n' +
      `X-Accel-Buffering: no\r\n${corsHeaders(origin)}Connection: close\r\n\r\n`,
    'latin1',
  );
}

/**
 * The answer to a CORS preflight (`OPTIONS`) for the stream endpoints: a
 * page's `fetch` with a JSON body or an `Authorization` header, and an
 * EventSource's `Last-Event-ID`, need it.
 */
export function preflightResponse(origin: string | undefined, method: string): string {
  return (
    `HTTP/1.1 204 No Content\r\n${corsHeaders(origin)}Access-Control-Allow-Methods: ${method}\r\n` +
    'Access-Control-Allow-Headers: Authorization, Content-Type, Last-Event-ID\r\nAccess-Control-Max-Age: 600\r\n' +
    'Connection: close\r\nContent-Length: 0\r\n\r\n'
  );
}

/**
 * The payload and opcode of a frame this server encoded (unmasked, one frame,
 * RFC 6455 §5.2), for a connection that speaks no WebSocket: its replies are
 * rendered from the same frames the session builds for every connection.
 */
export function unframe(frame: Buffer): { opcode: number; payload: Buffer } {
  const opcode = frame[0] & 0x0f;
  const short = frame[1] & 0x7f;
  const offset = short < 126 ? 2 : short === 126 ? 4 : 10;
  return { opcode, payload: frame.subarray(offset) };
}
