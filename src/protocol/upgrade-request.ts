import * as crypto from 'node:crypto';
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

/**
 * Parse a complete request head (up to and including the blank line). Throws HandshakeError(400).
 * One pass over the latin1 text by index: a header costs two slices (name, value) and a Map entry —
 * no array of lines, no per-line copy, no regex call per name and value (this was the largest
 * JavaScript item of a handshake's profile).
 */
export function parseRequestHead(head: Buffer): RequestHead {
  const text = head.toString('latin1', 0, head.length - 4);
  const length = text.length;
  let lineEnd = text.indexOf('\r\n');
  if (lineEnd === -1) lineEnd = length;
  const requestLine = REQUEST_LINE.exec(lineEnd === length ? text : text.slice(0, lineEnd));
  if (requestLine === null) throw badRequest('malformed request line');
  const headers = new Map<string, string>();
  let hostCount = 0;
  let originCount = 0;
  let at = lineEnd + 2;
  while (lineEnd < length) {
    lineEnd = text.indexOf('\r\n', at);
    if (lineEnd === -1) lineEnd = length;
    const colon = text.indexOf(':', at);
    // RFC 9112 §5.2: obsolete line folding is rejected with 400; so is a line with no name.
    if (colon === -1 || colon >= lineEnd || colon === at) throw badRequest('malformed header line');
    // A name spelled as clients nearly always spell it is a valid token already: its lower-case key is a
    // constant, with no slice, no character check and no toLowerCase (a runtime call and a new string).
    let key = knownHeader(text, at, colon - at);
    if (key === undefined) {
      for (let i = at; i < colon; i++) {
        const c = text.charCodeAt(i);
        if (c > 127 || TOKEN_CHAR[c] === 0) throw badRequest('malformed header name');
      }
      key = text.slice(at, colon).toLowerCase();
    }
    // Optional whitespace is only SP and HTAB (RFC 9110 §5.5/§5.6.3): `String#trim` would also strip
    // VT, FF, CR, LF and NBSP, hiding control characters from the field-value check.
    let from = colon + 1;
    let to = lineEnd;
    while (from < to && isOws(text.charCodeAt(from))) from++;
    while (to > from && isOws(text.charCodeAt(to - 1))) to--;
    // Field values: visible ASCII, obs-text, space and tab; no other control characters.
    for (let i = from; i < to; i++) {
      const c = text.charCodeAt(i);
      if (c < 0x20 ? c !== 0x09 : c === 0x7f) throw badRequest(`invalid characters in ${text.slice(at, colon)} header`);
    }
    const value = text.slice(from, to);
    if (key === 'host') hostCount++;
    else if (key === 'origin') originCount++;
    const previous = headers.get(key);
    headers.set(key, previous === undefined ? value : `${previous}, ${value}`);
    at = lineEnd + 2;
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
 * Header names in their usual spellings (as written here, and all lower case),
 * by length: [spelling, lower-case key]. Only an exact (case-sensitive) match
 * takes the shortcut; any other spelling is checked and lower-cased as before,
 * so the result is the same.
 */
const KNOWN_HEADERS: (readonly [string, string])[][] = [];
for (const name of [
  'Host', 'Upgrade', 'Connection', 'Origin', 'User-Agent', 'Sec-WebSocket-Key', 'Sec-WebSocket-Version',
  'Sec-WebSocket-Protocol', 'Sec-WebSocket-Extensions', 'Cookie', 'Authorization', 'Pragma', 'Cache-Control',
  'Accept-Encoding', 'Accept-Language', 'X-Forwarded-For', 'X-Forwarded-Proto', 'X-Real-IP',
]) {
  const key = name.toLowerCase();
  (KNOWN_HEADERS[name.length] ??= []).push([name, key], [key, key]);
}

/** The lower-case key of the header name at `text[at, at + length)` if it is a known spelling, else undefined. */
function knownHeader(text: string, at: number, length: number): string | undefined {
  const candidates = KNOWN_HEADERS[length];
  if (candidates === undefined) return undefined;
  for (let i = 0; i < candidates.length; i++) {
    if (text.startsWith(candidates[i][0], at)) return candidates[i][1];
  }
  return undefined;
}

/** RFC 9110 §5.6.2 token characters, by char code (1 = allowed). */
const TOKEN_CHAR = new Uint8Array(128);
for (const c of "!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz") TOKEN_CHAR[c.charCodeAt(0)] = 1;

function isOws(c: number): boolean {
  return c === 0x20 || c === 0x09;
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

  // An opening handshake has no content (RFC 6455 §4.1): the bytes after the head are frames. A request
  // that announces a body would have those bytes read as frames here while an intermediary that honours
  // Content-Length or chunked framing reads them as a body, or as the next request (a desync); RFC 9112
  // §6.3 also makes an invalid Content-Length (`-1`, `5, 6`) an unrecoverable 400.
  const contentLength = h.get('content-length');
  if (h.has('transfer-encoding') || (contentLength !== undefined && contentLength !== '0')) {
    throw badRequest('an upgrade request has no content: no Transfer-Encoding, and no Content-Length but 0');
  }

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
  return sha1Base64(key + WEBSOCKET_GUID);
}

/**
 * SHA-1 in base64. `crypto.hash` (Node ≥ 20.12) hashes in one native call;
 * `createHash` builds a Hash object per call, about three times the CPU, once
 * per handshake. Older Node 20 releases keep `createHash`.
 */
const sha1Base64: (text: string) => string =
  typeof (crypto as { hash?: unknown }).hash === 'function'
    ? (text) => (crypto as unknown as { hash(algorithm: string, data: string, encoding: 'base64'): string }).hash('sha1', text, 'base64')
    : (text) => crypto.createHash('sha1').update(text).digest('base64');

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
 * `{"error":{"code","message"}}` and `Connection: close`. All ASCII (the body's
 * other characters as `\uXXXX` escapes, RFC 8259 §7), since connections write
 * it as latin1: a message may quote a client's topic, in any script. Without
 * `withContent` (the answer to a HEAD), the same head and no body (RFC 9110 §9.3.2).
 */
export function buildRejectionResponse(error: HandshakeError, withContent = true): string {
  const body = asciiJson({ error: { code: error.code, message: error.message } });
  let response = `HTTP/1.1 ${error.status} ${REASON_PHRASES[error.status] ?? 'Error'}\r\nConnection: close\r\n`;
  for (const [name, value] of Object.entries(error.headers)) response += `${name}: ${value}\r\n`;
  return (
    response +
    `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n` +
    (withContent ? body : '')
  );
}

/** JSON text with every non-ASCII UTF-16 unit escaped: the same value, one byte per character. */
function asciiJson(value: unknown): string {
  return JSON.stringify(value).replace(/[\u0080-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** Case-insensitive search for `token` in a comma-separated header value. */
function hasToken(value: string | undefined, token: string): boolean {
  if (value === undefined) return false;
  // One value (nearly always): no list to split.
  if (value.indexOf(',') === -1) return value.trim().toLowerCase() === token;
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

function badRequest(message: string): HandshakeError {
  return new HandshakeError(400, 'BAD_REQUEST', message);
}
