import { createHash } from 'node:crypto';
import { WEBSOCKET_GUID } from './constants.js';
import { HandshakeError } from './errors.js';

/** An HTTP/1.x request head: request line and headers (names lower-cased). */
export interface RequestHead {
  method: string;
  /** The request-target as sent, e.g. `/ws?token=x`. */
  target: string;
  /** e.g. `1.1`. */
  httpVersion: string;
  /** Lower-cased header names; repeated headers joined with `, ` (RFC 9110 §5.3). */
  headers: Map<string, string>;
  /** How many times each header appeared, only for headers that must not repeat. */
  hostCount: number;
  originCount: number;
}

/** A validated WebSocket opening handshake (RFC 6455 §4.2.1). */
export interface UpgradeRequest {
  path: string;
  /** The query string without `?`, or ''. */
  query: string;
  host: string;
  key: string;
  /** Sec-WebSocket-Protocol values in the client's order of preference. */
  protocols: string[];
  /** The raw Sec-WebSocket-Extensions header, or ''. */
  extensions: string;
  /** The Origin header, if sent (browsers always send it, §4.1 item 8). */
  origin: string | undefined;
  headers: Map<string, string>;
}

/** Options of {@link validateUpgrade}. */
export interface UpgradeValidationOptions {
  /** Only this path accepts upgrades (404 otherwise); undefined accepts any path. */
  path?: string;
}

const CRLFCRLF = Buffer.from('\r\n\r\n');
// RFC 9110 §5.6.2 token characters.
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const REQUEST_LINE = /^([!#$%&'*+\-.^_`|~0-9A-Za-z]+) (\S+) HTTP\/(\d)\.(\d)$/;
// Field values: visible ASCII, obs-text, space and tab; no other control characters.
const BAD_FIELD_VALUE = /[\x00-\x08\x0a-\x1f\x7f]/;
// RFC 6455 §4.1 item 7: base64 of a 16-byte nonce is always 22 characters plus `==`.
const WEBSOCKET_KEY = /^[+/0-9A-Za-z]{21}[AQgw]==$/;

/**
 * Index just past the `\r\n\r\n` that ends a request head, searching from
 * `from` (pass the previous length minus 3 when data arrives in pieces), or -1.
 */
export function findHeadEnd(buf: Buffer, from = 0): number {
  const at = buf.indexOf(CRLFCRLF, Math.max(0, from));
  return at === -1 ? -1 : at + 4;
}

/** Parse a complete request head (up to and including the blank line). Throws HandshakeError(400). */
export function parseRequestHead(head: Buffer): RequestHead {
  const text = head.toString('latin1', 0, head.length - 4);
  const lines = text.split('\r\n');
  const requestLine = REQUEST_LINE.exec(lines[0]);
  if (requestLine === null) throw badRequest('malformed request line');
  const headers = new Map<string, string>();
  let hostCount = 0;
  let originCount = 0;
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i];
    const colon = line.indexOf(':');
    // RFC 9112 §5.2: obsolete line folding is rejected with 400; so is a line with no name.
    if (colon <= 0) throw badRequest('malformed header line');
    const name = line.slice(0, colon);
    if (!TOKEN.test(name)) throw badRequest('malformed header name');
    const value = trimOws(line.slice(colon + 1));
    if (BAD_FIELD_VALUE.test(value)) throw badRequest(`invalid characters in ${name} header`);
    const key = name.toLowerCase();
    if (key === 'host') hostCount++;
    else if (key === 'origin') originCount++;
    const previous = headers.get(key);
    headers.set(key, previous === undefined ? value : `${previous}, ${value}`);
  }
  return {
    method: requestLine[1],
    target: requestLine[2],
    httpVersion: `${requestLine[3]}.${requestLine[4]}`,
    headers,
    hostCount,
    originCount,
  };
}

/**
 * Check a request head against RFC 6455 §4.2.1 and return what the server
 * needs to answer it. Throws {@link HandshakeError} with the status to send.
 */
export function validateUpgrade(head: RequestHead, options: UpgradeValidationOptions = {}): UpgradeRequest {
  const h = head.headers;
  // §4.1 item 2: "The method of the request MUST be GET, and the HTTP version MUST be at least 1.1."
  if (head.method !== 'GET') {
    throw new HandshakeError(405, 'METHOD_NOT_ALLOWED', 'WebSocket upgrades must use GET', { Allow: 'GET' });
  }
  // The upgrade mechanism is HTTP/1.1's (RFC 9110 §7.8; HTTP/2 has its own, RFC 8441), so only HTTP/1.x
  // is spoken here. RFC 9112 §2.3: a higher minor version of a major version we implement (1.2…1.9) is
  // processed as 1.1; another major version gets 505 (RFC 9110 §15.6.6) rather than a 101 in a protocol
  // the client did not ask for. HTTP/1.0 has no Upgrade (400).
  const [major, minor] = head.httpVersion.split('.');
  if (major !== '1') {
    throw new HandshakeError(505, 'HTTP_VERSION_NOT_SUPPORTED', `HTTP/${head.httpVersion} is not supported; upgrade with HTTP/1.1`);
  }
  if (minor === '0') throw badRequest('HTTP/1.1 is required: HTTP/1.0 has no Upgrade');
  if (head.target[0] !== '/') throw badRequest('request-target must be an absolute path');
  const q = head.target.indexOf('?');
  const path = q === -1 ? head.target : head.target.slice(0, q);
  const query = q === -1 ? '' : head.target.slice(q + 1);
  if (options.path !== undefined && path !== options.path) {
    throw new HandshakeError(404, 'NOT_FOUND', 'no WebSocket endpoint at this path');
  }
  // §4.1 item 4 / RFC 9112 §3.2: exactly one Host header.
  const host = h.get('host');
  if (host === undefined || head.hostCount !== 1 || host === '') throw badRequest('exactly one Host header is required');
  // RFC 6454 §7.3: a user agent never sends more than one Origin; joined, two would be judged as one string.
  if (head.originCount > 1) throw new HandshakeError(403, 'FORBIDDEN_ORIGIN', 'more than one Origin header');

  const upgrade = h.get('upgrade');
  // RFC 9110 §15.5.22: 426 tells a plain HTTP client that this resource needs an upgrade.
  if (upgrade === undefined) {
    throw new HandshakeError(426, 'UPGRADE_REQUIRED', 'this endpoint only speaks WebSocket', { Upgrade: 'websocket' });
  }
  // §4.2.1 items 3–4: Upgrade contains "websocket", Connection contains "Upgrade", case-insensitive.
  if (!hasToken(upgrade, 'websocket')) throw badRequest('Upgrade header must be "websocket"');
  if (!hasToken(h.get('connection'), 'upgrade')) throw badRequest('Connection header must contain "Upgrade"');
  // §4.2.2 item 4 / §4.4: an unsupported version is answered 426 with the versions we speak.
  if (h.get('sec-websocket-version') !== '13') {
    throw new HandshakeError(426, 'UNSUPPORTED_VERSION', 'Sec-WebSocket-Version must be 13', {
      'Sec-WebSocket-Version': '13',
    });
  }
  const key = h.get('sec-websocket-key');
  if (key === undefined || !WEBSOCKET_KEY.test(key)) {
    throw badRequest('Sec-WebSocket-Key must be the base64 encoding of 16 bytes');
  }
  const protocols = parseTokenList(h.get('sec-websocket-protocol'), 'Sec-WebSocket-Protocol');
  return {
    path,
    query,
    host,
    key,
    protocols,
    extensions: h.get('sec-websocket-extensions') ?? '',
    origin: h.get('origin'),
    headers: h,
  };
}

/** Sec-WebSocket-Accept for a client key (RFC 6455 §4.2.2 item 5.4). */
export function acceptKey(key: string): string {
  return createHash('sha1').update(key + WEBSOCKET_GUID).digest('base64');
}

/** The 101 response completing the handshake, as one latin1 string. */
export function buildUpgradeResponse(key: string, protocol?: string, extensions?: string): string {
  let response =
    'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ' +
    acceptKey(key) +
    '\r\n';
  if (protocol !== undefined) response += `Sec-WebSocket-Protocol: ${protocol}\r\n`;
  if (extensions !== undefined) response += `Sec-WebSocket-Extensions: ${extensions}\r\n`;
  return response + '\r\n';
}

const REASON_PHRASES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  408: 'Request Timeout',
  411: 'Length Required',
  413: 'Content Too Large',
  426: 'Upgrade Required',
  429: 'Too Many Requests',
  431: 'Request Header Fields Too Large',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
  505: 'HTTP Version Not Supported',
};

/**
 * A complete HTTP error response for a rejected handshake: a JSON body
 * `{"error":{"code","message"}}` and `Connection: close`.
 */
export function buildRejectionResponse(error: HandshakeError): string {
  const body = JSON.stringify({ error: { code: error.code, message: error.message } });
  let response = `HTTP/1.1 ${error.status} ${REASON_PHRASES[error.status] ?? 'Error'}\r\nConnection: close\r\n`;
  for (const [name, value] of Object.entries(error.headers)) response += `${name}: ${value}\r\n`;
  return (
    response +
    `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n` +
    body
  );
}

/** Case-insensitive search for `token` in a comma-separated header value. */
function hasToken(value: string | undefined, token: string): boolean {
  if (value === undefined) return false;
  for (const part of value.split(',')) {
    if (part.trim().toLowerCase() === token) return true;
  }
  return false;
}

function parseTokenList(value: string | undefined, name: string): string[] {
  if (value === undefined) return [];
  const out: string[] = [];
  for (const part of value.split(',')) {
    const item = part.trim();
    if (!TOKEN.test(item)) throw badRequest(`malformed ${name} header`);
    out.push(item);
  }
  return out;
}

/**
 * Strip optional whitespace, which is only SP and HTAB (RFC 9110 §5.5/§5.6.3).
 * `String#trim` would also strip VT, FF, CR, LF and NBSP, hiding control
 * characters from the field-value check.
 */
function trimOws(value: string): string {
  let start = 0;
  let end = value.length;
  while (start < end && (value[start] === ' ' || value[start] === '\t')) start++;
  while (end > start && (value[end - 1] === ' ' || value[end - 1] === '\t')) end--;
  return value.slice(start, end);
}

function badRequest(message: string): HandshakeError {
  return new HandshakeError(400, 'BAD_REQUEST', message);
}
