import { HandshakeError } from '../protocol/errors.js';
import type { RequestHead } from '../protocol/upgrade-request.js';
import type { OriginPolicy } from './connection-limits.js';
import { Wire } from './http-stream.js';

/** The plain-HTTP streaming endpoints served beside WebSocket upgrades, whatever the WebSocket path. */
export const STREAM_PATHS: ReadonlyMap<string, Wire> = new Map([
  ['/v1/sse', Wire.Sse],
  ['/v1/stream', Wire.NdJson],
]);

/** The wire a request-target asks for, or undefined for any other path (a WebSocket upgrade, maybe). */
export function streamWireOf(target: string): Wire | undefined {
  const q = target.indexOf('?');
  return STREAM_PATHS.get(q === -1 ? target : target.slice(0, q));
}

/**
 * Check an HTTP stream request's head the way an upgrade's is checked (HTTP
 * version, Host, Origin) plus its method and body framing; returns the body
 * length to read (0 for SSE). Throws HandshakeError with the status to send.
 */
export function checkStreamRequest(head: RequestHead, wire: Wire, origins: OriginPolicy | undefined, maxBodyBytes: number): number {
  const method = streamMethodOf(wire);
  if (head.method !== method && head.method !== 'OPTIONS') {
    throw new HandshakeError(405, 'METHOD_NOT_ALLOWED', `${head.target.split('?')[0]} takes ${method}`, { Allow: method });
  }
  const [major] = head.httpVersion.split('.');
  // As for upgrades (RFC 9112 §2.3): HTTP/1.x only; 1.0 is served too, the response being delimited by the close.
  if (major !== '1') throw new HandshakeError(505, 'HTTP_VERSION_NOT_SUPPORTED', `HTTP/${head.httpVersion} is not supported`);
  const host = head.headers.get('host');
  if (host === undefined || head.hostCount !== 1 || host === '') throw new HandshakeError(400, 'BAD_REQUEST', 'exactly one Host header is required');
  if (head.originCount > 1) throw new HandshakeError(403, 'FORBIDDEN_ORIGIN', 'more than one Origin header');
  if (origins !== undefined && !origins.allows(head.headers.get('origin'))) {
    throw new HandshakeError(403, 'FORBIDDEN_ORIGIN', 'this origin may not connect');
  }
  if (wire === Wire.Sse || head.method === 'OPTIONS') return 0;
  // RFC 9112 §6.1: a chunked body would need a decoder; the SDK always knows its body's length.
  if (head.headers.has('transfer-encoding')) throw new HandshakeError(411, 'LENGTH_REQUIRED', 'send the body with Content-Length, not chunked');
  const declared = head.headers.get('content-length');
  if (declared === undefined) throw new HandshakeError(411, 'LENGTH_REQUIRED', 'Content-Length is required');
  if (!/^\d{1,9}$/.test(declared)) throw new HandshakeError(400, 'BAD_REQUEST', 'malformed Content-Length');
  const length = Number(declared);
  if (length > maxBodyBytes) throw new HandshakeError(413, 'BODY_TOO_LARGE', `the body exceeds ${maxBodyBytes} bytes`);
  if (length === 0) throw new HandshakeError(400, 'BAD_BODY', 'the body is empty');
  return length;
}

/** The method each endpoint takes. */
export function streamMethodOf(wire: Wire): 'GET' | 'POST' {
  return wire === Wire.Sse ? 'GET' : 'POST';
}
