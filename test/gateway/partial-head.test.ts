/**
 * The request head of a client that trickles it a byte per packet is kept in
 * one buffer bounded by the head limit, not one Buffer per read.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PartialHead } from '../../src/internal.js';
import { buildRequest } from '../helpers/raw-client.js';

const LIMIT = 8192;

describe('PartialHead', () => {
  it('a head of almost the limit appended one byte at a time stays in one buffer of at most the limit and ends where it should', () => {
    const request = Buffer.from(buildRequest({ headers: { 'X-Padding': 'p'.repeat(LIMIT - 300) } }), 'latin1');
    assert.ok(request.length < LIMIT && request.length > LIMIT - 200);
    const head = new PartialHead(request.subarray(0, 1), LIMIT);
    let end = -1;
    for (let i = 1; i < request.length; i++) {
      end = head.append(Buffer.from([request[i]]));
      assert.ok(head.capacity <= LIMIT, `capacity ${head.capacity} after ${i + 1} bytes`);
      if (i < request.length - 1) assert.equal(end, -1, `head end found early at byte ${i}`);
    }
    assert.equal(end, request.length);
    assert.ok(head.bytes.equals(request));
  });

  it('finds a terminator split across appends in every way', () => {
    const request = Buffer.from(buildRequest(), 'latin1');
    for (let cut = 1; cut < request.length; cut++) {
      const head = new PartialHead(request.subarray(0, cut), LIMIT);
      assert.equal(head.append(request.subarray(cut)), request.length, `cut at ${cut}`);
    }
  });

  it('a read larger than the room left is taken whole (the caller then refuses or completes the head)', () => {
    const head = new PartialHead(Buffer.from('GET / HTTP/1.1\r\n'), 64);
    assert.equal(head.append(Buffer.alloc(200, 0x61)), -1);
    assert.equal(head.length, 16 + 200);
    assert.ok(head.capacity >= head.length);
  });
});
