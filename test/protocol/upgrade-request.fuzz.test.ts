/**
 * Fuzz target for the opening-handshake parser: mutated valid requests go
 * through `parseRequestHead` + `validateUpgrade`, which must either return a
 * well-formed upgrade or throw a `HandshakeError` with a 4xx status (or 505
 * for an HTTP major version other than 1).
 *
 * The seed is printed in the suite name; rerun a failure with
 * `HERALD_FUZZ_SEED=<seed> node scripts/run-tests.mjs upgrade-request.fuzz`.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { HandshakeError } from '../../src/protocol/errors.js';
import {
  acceptKey,
  buildRejectionResponse,
  findHeadEnd,
  parseRequestHead,
  validateUpgrade,
  type UpgradeValidationOptions,
} from '../../src/protocol/upgrade-request.js';
import { fuzzSeed, prng, randInt, randomBytes } from './harness.js';

const SEED = fuzzSeed();
const ITERATIONS = 3000;
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

const REQUESTS = [
  'GET /ws HTTP/1.1\r\nHost: push.example.com\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
    'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
  'GET /ws?token=abc&x=1 HTTP/1.1\r\nhost: h:8080\r\nupgrade: WebSocket\r\nconnection: keep-alive, Upgrade\r\n' +
    'sec-websocket-key: AQIDBAUGBwgJCgsMDQ4PEA==\r\nsec-websocket-version: 13\r\nOrigin: https://app.example\r\n' +
    'Sec-WebSocket-Protocol: chat, superchat\r\nSec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n' +
    'User-Agent: fuzz/1.0\r\n\r\n',
];

/** Bytes that tend to matter to an HTTP parser. */
const INTERESTING = [...'\r\n \t:,;=?/\\"', '\x00', '\x0b', '\x7f', '\x80', '\xa0', '\xff', 'A', 'z', '1', '3'];

type Rand = () => number;

function mutate(rand: Rand, request: string): Buffer {
  let text = request;
  for (let n = 1 + randInt(rand, 4); n > 0; n--) {
    const lines = text.split('\r\n');
    const at = randInt(rand, text.length + 1);
    switch (randInt(rand, 9)) {
      case 0: // flip a bit
        text = text.slice(0, at) + String.fromCharCode((text.charCodeAt(at) ^ (1 << randInt(rand, 8))) & 0xff) + text.slice(at + 1);
        break;
      case 1: // insert an interesting byte
        text = text.slice(0, at) + INTERESTING[randInt(rand, INTERESTING.length)] + text.slice(at);
        break;
      case 2: // delete a few bytes
        text = text.slice(0, at) + text.slice(at + 1 + randInt(rand, 4));
        break;
      case 3: // truncate
        text = text.slice(0, at);
        break;
      case 4: // duplicate a line
        lines.splice(randInt(rand, lines.length), 0, lines[randInt(rand, lines.length)]);
        text = lines.join('\r\n');
        break;
      case 5: // drop a line
        lines.splice(randInt(rand, lines.length), 1);
        text = lines.join('\r\n');
        break;
      case 6: // change the case of a stretch
        text = text.slice(0, at) + text.slice(at, at + 12).toUpperCase() + text.slice(at + 12);
        break;
      case 7: // replace a header value with random bytes
        {
          const i = 1 + randInt(rand, Math.max(1, lines.length - 1));
          const colon = (lines[i] ?? '').indexOf(':');
          if (colon > 0) lines[i] = lines[i].slice(0, colon + 1) + ' ' + randomBytes(rand, randInt(rand, 30)).toString('latin1');
          text = lines.join('\r\n');
        }
        break;
      default: // insert a random header line
        lines.splice(1 + randInt(rand, lines.length), 0, `${randomBytes(rand, 1 + randInt(rand, 6)).toString('latin1')}: ${randInt(rand, 100)}`);
        text = lines.join('\r\n');
    }
  }
  return Buffer.from(text, 'latin1');
}

/** Parse and validate; return a description of the outcome, failing on anything but a 4xx (or 505) HandshakeError. */
function check(head: Buffer, options: UpgradeValidationOptions, context: string): number {
  try {
    const req = validateUpgrade(parseRequestHead(head), options);
    assert.equal(Buffer.from(req.key, 'base64').length, 16, `${context}: key ${req.key}`);
    assert.equal(acceptKey(req.key).length, 28);
    assert.ok(req.host !== '', `${context}: empty host`);
    assert.ok(req.path.startsWith('/'), `${context}: path ${req.path}`);
    for (const p of req.protocols) assert.match(p, TOKEN, `${context}: protocol ${p}`);
    return 101;
  } catch (error) {
    if (error instanceof assert.AssertionError) throw error;
    assert.ok(error instanceof HandshakeError, `${context}: threw ${(error as Error)?.stack ?? String(error)}`);
    assert.ok((error.status >= 400 && error.status < 500) || error.status === 505, `${context}: status ${error.status}`);
    const response = buildRejectionResponse(error);
    const body = response.slice(response.indexOf('\r\n\r\n') + 4);
    assert.ok(response.includes(`Content-Length: ${Buffer.byteLength(body)}\r\n`), `${context}: Content-Length`);
    return error.status;
  }
}

describe(`upgrade request fuzz (seed ${SEED}; set HERALD_FUZZ_SEED=${SEED} to replay)`, () => {
  it('accepts the unmutated requests', () => {
    for (const request of REQUESTS) assert.equal(check(Buffer.from(request, 'latin1'), { path: '/ws' }, 'base'), 101);
  });

  it('either returns a valid upgrade or throws a 4xx (or 505) HandshakeError for mutated requests', (t) => {
    t.diagnostic(`seed ${SEED}`);
    const rand = prng(SEED ^ 0x3333_3333);
    const outcomes = new Map<number, number>();
    for (let i = 0; i < ITERATIONS; i++) {
      const mutated = mutate(rand, REQUESTS[randInt(rand, REQUESTS.length)]);
      const options: UpgradeValidationOptions = rand() < 0.5 ? { path: '/ws' } : {};
      const context = `seed ${SEED}, mutation #${i}, request ${JSON.stringify(mutated.toString('latin1'))}`;
      // As a connection handler would: up to the blank line when there is one…
      const end = findHeadEnd(mutated);
      const status = check(end === -1 ? Buffer.concat([mutated, Buffer.from('\r\n\r\n')]) : mutated.subarray(0, end), options, context);
      outcomes.set(status, (outcomes.get(status) ?? 0) + 1);
      // …and the raw bytes, blank line or not.
      check(mutated, options, `${context} (raw)`);
    }
    t.diagnostic(`outcomes ${JSON.stringify(Object.fromEntries(outcomes))}`);
    assert.ok(outcomes.size >= 4, 'the mutations reach several outcomes');
  });
});
