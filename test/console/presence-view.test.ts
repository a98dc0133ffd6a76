/**
 * The console's presence panel without a browser: what it shows for the
 * answers of `GET /v1/presence-stats` and `GET /v1/presence` — figures and a
 * bounded list, "presence unavailable" for a server without the routes (404),
 * a token hint on 401, the error of any other failure.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PRESENCE_ROWS, describePresence, readPresence } from '../../src/console/presence-view.js';

const row = (i: number) => ({ client: `n1.${i}`, uid: i % 2 === 0 ? `user${i}` : '', node: 'n1', connectedAt: 1_700_000_000_000 + i });

describe('console presence view', () => {
  it('shows the counts and lists the subscribers', () => {
    const view = describePresence('room', { status: 200, body: { clients: 2, users: 1 } }, { status: 200, body: { clients: [row(0), row(1)] } });
    assert.deepEqual(view, { topic: 'room', state: 'ok', summary: '2 connections, 1 user', rows: [row(0), row(1)], more: 0 });
  });

  it(`lists at most ${PRESENCE_ROWS} and counts the rest; skips malformed entries`, () => {
    const listed = [{ client: 7 }, ...Array.from({ length: 30 }, (_, i) => row(i))];
    const view = describePresence('room', { status: 200, body: { clients: 1234, users: 900 } }, { status: 200, body: { clients: listed } });
    assert.equal(view.summary, '1,234 connections, 900 users');
    assert.equal(view.rows.length, PRESENCE_ROWS);
    assert.deepEqual(view.rows[0], row(0));
    assert.equal(view.more, 1234 - PRESENCE_ROWS);
  });

  it('says "presence unavailable" when the routes answer 404', () => {
    const notFound = { status: 404, body: { error: { code: 'NOT_FOUND', message: 'no route' } } };
    assert.deepEqual(describePresence('room', notFound, notFound), { topic: 'room', state: 'unavailable', summary: 'presence unavailable', rows: [], more: 0 });
  });

  it('says presence is off when the server does not keep it (409 PRESENCE_OFF)', () => {
    const off = { status: 409, body: { error: { code: 'PRESENCE_OFF', message: 'start it with --presence' } } };
    const view = describePresence('room', off, off);
    assert.equal(view.state, 'unavailable');
    assert.match(view.summary, /--presence/);
  });

  it('asks for the token on 401 and shows the error of other failures', () => {
    const ok = { status: 200, body: { clients: [] } };
    assert.equal(describePresence('room', { status: 401, body: undefined }, ok).state, 'unauthorized');
    const bad = describePresence('room', { status: 400, body: { error: { code: 'INVALID_TOPIC', message: 'too long' } } }, ok);
    assert.deepEqual([bad.state, bad.summary], ['error', 'presence failed: INVALID_TOPIC: too long']);
    assert.equal(describePresence('room', { status: 503, body: undefined }, ok).summary, 'presence failed: HTTP 503');
    assert.equal(describePresence('room', { status: 200, body: {} }, ok).summary, 'presence failed: unexpected answer');
  });

  it('reads both routes with the topic escaped and the given headers', async () => {
    const asked: string[] = [];
    const view = await readPresence(
      async (url, init) => {
        asked.push(`${url} ${init.headers.Authorization}`);
        const body = url.startsWith('/v1/presence-stats') ? { clients: 1, users: 1 } : { clients: [row(0)] };
        return { status: 200, json: async () => body };
      },
      'a b/c',
      { Authorization: 'Bearer t' },
    );
    assert.deepEqual(asked.sort(), ['/v1/presence-stats?topic=a%20b%2Fc Bearer t', '/v1/presence?topic=a%20b%2Fc Bearer t']);
    assert.equal(view.summary, '1 connection, 1 user');
  });
});
