import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  acceptKey,
  buildRejectionResponse,
  buildUpgradeResponse,
  findHeadEnd,
  parseRequestHead,
  validateUpgrade,
  type UpgradeRequest,
  type UpgradeValidationOptions,
} from '../../src/protocol/upgrade-request.js';
import { HandshakeError } from '../../src/protocol/errors.js';

const KEY = 'dGhlIHNhbXBsZSBub25jZQ=='; // RFC 6455 §1.3

const BASE_HEADERS: ReadonlyArray<[string, string]> = [
  ['Host', 'push.example.com'],
  ['Upgrade', 'websocket'],
  ['Connection', 'Upgrade'],
  ['Sec-WebSocket-Key', KEY],
  ['Sec-WebSocket-Version', '13'],
  ['Origin', 'https://app.example.com'],
];

interface RequestSpec {
  requestLine?: string;
  /** Replace (or, with `null`, drop) headers by name; names not in the base are appended. */
  set?: Record<string, string | null>;
  /** Extra raw header lines, appended verbatim. */
  extra?: string[];
}

/** A request head as it arrives on the wire, ending with the blank line. */
function requestHead(spec: RequestSpec = {}): Buffer {
  const lines = [spec.requestLine ?? 'GET /ws?token=abc HTTP/1.1'];
  const set = spec.set ?? {};
  for (const [name, value] of BASE_HEADERS) {
    const replaced = Object.hasOwn(set, name) ? set[name] : value;
    if (replaced !== null) lines.push(`${name}: ${replaced}`);
  }
  for (const [name, value] of Object.entries(set)) {
    if (value !== null && !BASE_HEADERS.some(([n]) => n === name)) lines.push(`${name}: ${value}`);
  }
  lines.push(...(spec.extra ?? []));
  return Buffer.from(lines.join('\r\n') + '\r\n\r\n', 'latin1');
}

function upgrade(spec: RequestSpec = {}, options: UpgradeValidationOptions = { path: '/ws' }): UpgradeRequest {
  return validateUpgrade(parseRequestHead(requestHead(spec)), options);
}

/** Assert that the request is rejected with `status` (and these response headers). */
function assertRejected(spec: RequestSpec, status: number, headers: Record<string, string> = {}): HandshakeError {
  let caught: unknown;
  try {
    upgrade(spec);
  } catch (error) {
    caught = error;
  }
  assert.ok(caught instanceof HandshakeError, `expected a HandshakeError, got ${String(caught)}`);
  assert.equal(caught.name, 'HandshakeError');
  assert.equal(caught.status, status, caught.message);
  for (const [name, value] of Object.entries(headers)) assert.equal(caught.headers[name], value, name);
  return caught;
}

describe('validateUpgrade: a valid request', () => {
  it('returns the path, query, host, key, origin and headers', () => {
    const req = upgrade();
    assert.equal(req.path, '/ws');
    assert.equal(req.query, 'token=abc');
    assert.equal(req.host, 'push.example.com');
    assert.equal(req.key, KEY);
    assert.equal(req.origin, 'https://app.example.com');
    assert.deepEqual(req.protocols, []);
    assert.equal(req.extensions, '');
    assert.equal(req.headers.get('sec-websocket-version'), '13');
  });

  it('accepts any path when no path is configured, and an empty query', () => {
    const req = upgrade({ requestLine: 'GET /anything HTTP/1.1' }, {});
    assert.equal(req.path, '/anything');
    assert.equal(req.query, '');
  });

  it('computes the RFC 6455 §1.3 accept key', () => {
    assert.equal(acceptKey(KEY), 's3pPLMBiTxaQ9kYGzzhZRbK+xOo=');
  });

  it('builds a 101 response with the accept key and the chosen subprotocol', () => {
    assert.equal(
      buildUpgradeResponse(KEY, 'chat'),
      'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
        'Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\nSec-WebSocket-Protocol: chat\r\n\r\n',
    );
    assert.ok(!buildUpgradeResponse(KEY).includes('Sec-WebSocket-Protocol'));
  });

  it('accepts a Connection list such as "keep-alive, Upgrade" in any case', () => {
    for (const connection of ['keep-alive, Upgrade', 'KEEP-ALIVE,upgrade', 'uPgRaDe', 'close ,  UPGRADE , foo']) {
      assert.doesNotThrow(() => upgrade({ set: { Connection: connection } }), connection);
    }
  });

  it('accepts "Upgrade: WebSocket" in any case and header names in any case', () => {
    assert.doesNotThrow(() => upgrade({ set: { Upgrade: 'WebSocket' } }));
    const head = Buffer.from(
      `GET /ws HTTP/1.1\r\nhost: h\r\nUPGRADE: websocket\r\nconnection: upgrade\r\nsec-websocket-key: ${KEY}\r\nSEC-WEBSOCKET-VERSION: 13\r\n\r\n`,
    );
    assert.equal(validateUpgrade(parseRequestHead(head)).host, 'h');
  });

  it('parses the subprotocol list in the client order', () => {
    assert.deepEqual(upgrade({ set: { 'Sec-WebSocket-Protocol': 'chat, superchat,v2.json' } }).protocols, [
      'chat',
      'superchat',
      'v2.json',
    ]);
  });

  it('joins repeated Sec-WebSocket-Protocol headers into one list', () => {
    const req = upgrade({ extra: ['Sec-WebSocket-Protocol: a', 'Sec-WebSocket-Protocol: b, c'] });
    assert.deepEqual(req.protocols, ['a', 'b', 'c']);
  });

  it('rejects a subprotocol that is not a token with 400', () => {
    assertRejected({ set: { 'Sec-WebSocket-Protocol': 'chat; v=1' } }, 400);
    assertRejected({ set: { 'Sec-WebSocket-Protocol': 'a b' } }, 400);
  });

  it('passes the extensions header through raw', () => {
    const value = 'permessage-deflate; client_max_window_bits';
    assert.equal(upgrade({ set: { 'Sec-WebSocket-Extensions': value } }).extensions, value);
  });

  it('trims optional whitespace around header values', () => {
    assert.equal(upgrade({ set: { Host: ' \t spaced.example \t' } }).host, 'spaced.example');
  });
});

describe('validateUpgrade: rejections', () => {
  it('rejects POST with 405 and Allow: GET', () => {
    assertRejected({ requestLine: 'POST /ws HTTP/1.1' }, 405, { Allow: 'GET' });
  });

  it('rejects any other method, in any case, with 405', () => {
    for (const method of ['PUT', 'HEAD', 'OPTIONS', 'get']) {
      assertRejected({ requestLine: `${method} /ws HTTP/1.1` }, 405, { Allow: 'GET' });
    }
  });

  it('rejects HTTP/1.0 with 400', () => {
    assertRejected({ requestLine: 'GET /ws HTTP/1.0' }, 400);
  });

  it('rejects a request-target that is not an absolute path with 400', () => {
    assertRejected({ requestLine: 'GET * HTTP/1.1' }, 400);
  });

  it('rejects a missing Host header with 400', () => {
    assertRejected({ set: { Host: null } }, 400);
  });

  it('rejects two Host headers with 400', () => {
    assertRejected({ extra: ['host: other.example.com'] }, 400);
  });

  it('rejects an empty Host header with 400', () => {
    assertRejected({ set: { Host: '' } }, 400);
  });

  it('rejects a missing Upgrade header with 426 and Upgrade: websocket', () => {
    assertRejected({ set: { Upgrade: null } }, 426, { Upgrade: 'websocket' });
  });

  it('rejects Upgrade: h2c with 400', () => {
    assertRejected({ set: { Upgrade: 'h2c' } }, 400);
  });

  it('rejects a Connection header without "upgrade" with 400', () => {
    assertRejected({ set: { Connection: 'keep-alive' } }, 400);
    assertRejected({ set: { Connection: 'upgraded' } }, 400);
    assertRejected({ set: { Connection: null } }, 400);
  });

  for (const version of ['8', '12', '14', '13, 8', null]) {
    it(`rejects Sec-WebSocket-Version ${version ?? '(missing)'} with 426 and Sec-WebSocket-Version: 13`, () => {
      assertRejected({ set: { 'Sec-WebSocket-Version': version } }, 426, { 'Sec-WebSocket-Version': '13' });
    });
  }

  const badKeys: Array<[string, string | null]> = [
    ['missing', null],
    ['empty', ''],
    ['too short', 'dGhlIHNhbXBsZQ=='],
    ['too long', KEY + 'AAAA'],
    ['missing its padding', KEY.slice(0, 22)],
    ['short of one padding character', KEY.slice(0, 23)],
    ['not base64', 'dGhlIHNhbXBsZSBub25j!Q=='],
    ['15 bytes decoded', Buffer.alloc(15, 7).toString('base64')],
    ['17 bytes decoded', Buffer.alloc(17, 7).toString('base64')],
    ['16 bytes in base64url', Buffer.from('fbff0000000000000000000000000000', 'hex').toString('base64url') + '=='],
    ['two keys', `${KEY}, ${KEY}`],
  ];
  for (const [label, key] of badKeys) {
    it(`rejects a Sec-WebSocket-Key that is ${label} with 400`, () => {
      assertRejected({ set: { 'Sec-WebSocket-Key': key } }, 400);
    });
  }

  it('accepts any canonical base64 encoding of 16 bytes as the key', () => {
    for (const fill of [0, 0x41, 0xff]) {
      const key = Buffer.alloc(16, fill).toString('base64');
      assert.equal(upgrade({ set: { 'Sec-WebSocket-Key': key } }).key, key);
    }
  });

  it('rejects a path mismatch with 404', () => {
    assertRejected({ requestLine: 'GET /other HTTP/1.1' }, 404);
    assertRejected({ requestLine: 'GET /ws/ HTTP/1.1' }, 404);
  });

  it('rejects an obs-fold header line with 400', () => {
    assertRejected({ extra: ['X-Long: first part', ' folded continuation'] }, 400);
    assertRejected({ extra: ['X-Long: first part', '\tfolded: continuation'] }, 400);
  });

  it('rejects a control character inside a header value with 400', () => {
    for (const ch of ['\x00', '\x01', '\x1b', '\x7f', '\n']) {
      assertRejected({ set: { 'User-Agent': `bad${ch}agent` } }, 400);
    }
  });

  it('rejects a control character at either end of a header value with 400', () => {
    for (const value of ['chat\x0b', '\x0cchat', 'chat\r', '\nchat', 'chat\x00']) {
      assertRejected({ set: { 'Sec-WebSocket-Protocol': value } }, 400);
    }
  });

  it('keeps obs-text and inner tabs in a value, trims only SP/HTAB, and rejects a non-ASCII or empty header name', () => {
    const head = parseRequestHead(Buffer.from('GET /ws HTTP/1.1\r\nX-Latin: \t caf\xe9\tau lait \t\r\nX-Empty:\r\nhost: h\r\n\r\n', 'latin1'));
    assert.equal(head.headers.get('x-latin'), 'caf\xe9\tau lait');
    assert.equal(head.headers.get('x-empty'), '');
    assert.equal(head.hostCount, 1);
    assert.throws(() => parseRequestHead(Buffer.from('GET /ws HTTP/1.1\r\nX-Caf\xe9: 1\r\n\r\n', 'latin1')), /malformed header name/);
    assert.throws(() => parseRequestHead(Buffer.from('GET /ws HTTP/1.1\r\n: 1\r\n\r\n', 'latin1')), /malformed header line/);
    // A colon only on the next line does not make a name of this one.
    assert.throws(() => parseRequestHead(Buffer.from('GET /ws HTTP/1.1\r\nNoColon\r\nX: 1\r\n\r\n', 'latin1')), /malformed header line/);
    // The request line alone: no headers.
    assert.equal(parseRequestHead(Buffer.from('GET /ws HTTP/1.1\r\n\r\n', 'latin1')).headers.size, 0);
  });

  it('rejects a request announcing content (Content-Length other than 0, or Transfer-Encoding) with 400', () => {
    for (const length of ['5', '-1', 'NaN', '0, 0', '00']) {
      assertRejected({ set: { 'Content-Length': length } }, 400);
    }
    assertRejected({ set: { 'Transfer-Encoding': 'chunked' } }, 400);
    assertRejected({ set: { 'Transfer-Encoding': 'identity' } }, 400);
    assertRejected({ extra: ['Content-Length: 0', 'Content-Length: 0'] }, 400);
    assert.equal(upgrade({ set: { 'Content-Length': '0' } }).key, KEY);
  });

  it('rejects a malformed request line or header name with 400', () => {
    assertRejected({ requestLine: 'GET /ws' }, 400);
    assertRejected({ requestLine: 'GET  /ws HTTP/1.1' }, 400);
    assertRejected({ requestLine: 'GET /ws HTTP/1.1 extra' }, 400);
    assertRejected({ extra: ['Bad Name: x'] }, 400);
    assertRejected({ extra: [': no name'] }, 400);
    assertRejected({ extra: ['no colon'] }, 400);
  });
});

describe('buildRejectionResponse', () => {
  it('answers with Connection: close, the extra headers, a correct Content-Length and a JSON error body', () => {
    const error = assertRejected({ requestLine: 'POST /ws HTTP/1.1' }, 405);
    const response = buildRejectionResponse(error);
    const end = response.indexOf('\r\n\r\n');
    const [statusLine, ...headerLines] = response.slice(0, end).split('\r\n');
    const body = response.slice(end + 4);
    assert.equal(statusLine, 'HTTP/1.1 405 Method Not Allowed');
    assert.ok(headerLines.includes('Connection: close'));
    assert.ok(headerLines.includes('Allow: GET'));
    assert.ok(headerLines.includes('Content-Type: application/json'));
    assert.ok(headerLines.includes(`Content-Length: ${Buffer.byteLength(body)}`));
    assert.deepEqual(JSON.parse(body), { error: { code: 'METHOD_NOT_ALLOWED', message: error.message } });
  });

  it('escapes a non-ASCII message, so the latin1 write carries it intact, and names unknown statuses "Error"', () => {
    const response = buildRejectionResponse(new HandshakeError(418, 'TEAPOT', 'café ☕ 😀'));
    const body = response.slice(response.indexOf('\r\n\r\n') + 4);
    assert.ok(response.startsWith('HTTP/1.1 418 Error\r\n'));
    assert.match(response, /^[\x00-\x7f]*$/);
    assert.ok(response.includes(`Content-Length: ${body.length}\r\n`));
    assert.deepEqual(JSON.parse(Buffer.from(response, 'latin1').toString('utf8').slice(response.indexOf('\r\n\r\n') + 4)), {
      error: { code: 'TEAPOT', message: 'café ☕ 😀' },
    });
  });

  it('carries Sec-WebSocket-Version: 13 on a 426 for a bad version', () => {
    const error = assertRejected({ set: { 'Sec-WebSocket-Version': '8' } }, 426);
    const response = buildRejectionResponse(error);
    assert.ok(response.startsWith('HTTP/1.1 426 Upgrade Required\r\n'));
    assert.ok(response.includes('\r\nSec-WebSocket-Version: 13\r\n'));
  });
});

describe('findHeadEnd', () => {
  it('finds the end of the head, also when searching from a later offset', () => {
    const head = requestHead();
    const withBody = Buffer.concat([head, Buffer.from('\x81\x80abcd', 'latin1')]);
    assert.equal(findHeadEnd(withBody), head.length);
    assert.equal(findHeadEnd(withBody, head.length - 4), head.length);
    assert.equal(findHeadEnd(head.subarray(0, head.length - 1)), -1);
    assert.equal(findHeadEnd(head, -10), head.length);
  });
});
