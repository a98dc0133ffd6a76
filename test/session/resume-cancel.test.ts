/**
 * herald.v1: every request gets exactly one reply, in order, also when a
 * subscribe with `since` (which answers once its history is read) is
 * overtaken in the same write by an unsubscribe or a newer subscribe of the
 * same topic: the overtaken subscribe is answered 30007 (cancelled) first.
 * The commands go out in one TCP write from a raw client, so the server reads
 * both before the history read can answer.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { OpCode, encodeClientFrame } from '../../src/index.js';
import { HERALD_V1 } from '../../src/node.js';
import { RawClient } from '../helpers/raw-client.js';
import { startNode, type TestNode } from '../helpers/herald-node.js';

type Json = Record<string, unknown>;

/** One masked text frame per command, concatenated for a single write. */
function frames(...commands: Json[]): Buffer {
  return Buffer.concat(commands.map((command, i) => encodeClientFrame(OpCode.Text, JSON.stringify(command), 0x1234_5678 + i)));
}

/** The next frame, a JSON text frame, parsed. */
async function nextJson(client: RawClient): Promise<Json> {
  const event = await client.nextEvent();
  assert.equal(event.type, 'message', `unexpected ${event.type}`);
  return JSON.parse((event as { data: Buffer }).data.toString('utf8')) as Json;
}

/** Read `count` JSON frames. */
async function take(client: RawClient, count: number): Promise<Json[]> {
  const seen: Json[] = [];
  while (seen.length < count) seen.push(await nextJson(client));
  return seen;
}

/**
 * Send text `ping` and return every text frame (parsed) that arrives before
 * the `pong`. A barrier only for what was sent in earlier reads: a ping read
 * together with a resuming subscribe is answered before the subscribe.
 */
async function untilPong(client: RawClient): Promise<Json[]> {
  client.send(OpCode.Text, 'ping');
  const seen: Json[] = [];
  for (;;) {
    const event = await client.nextEvent();
    assert.equal(event.type, 'message', `unexpected ${event.type}`);
    if (event.type !== 'message') continue;
    const text = event.data.toString('utf8');
    if (text === 'pong') return seen;
    seen.push(JSON.parse(text) as Json);
  }
}

describe('herald.v1: a resuming subscribe overtaken by a later command still gets its reply', () => {
  let h: TestNode;
  let epoch: string;
  const clients: RawClient[] = [];

  async function open(): Promise<RawClient> {
    const client = await RawClient.open(h.wsPort, { path: '/ws', headers: { 'Sec-WebSocket-Protocol': HERALD_V1 } });
    clients.push(client);
    const greeting = await client.nextEvent();
    assert.equal(greeting.type === 'message' && JSON.parse(greeting.data.toString()).code, 20000);
    return client;
  }

  before(async () => {
    h = await startNode();
    for (const text of ['m1', 'm2', 'm3']) await h.send({ topic: 'news' }, text);
    // Learn the stream's epoch from a resume that cannot recover.
    const probe = await open();
    probe.write(frames({ code: 1, topic: 'news', since: { seq: 0, epoch: 'unknown' }, id: 'probe' }));
    const reply = await nextJson(probe);
    assert.equal(reply.recovered, false);
    epoch = (reply.position as { epoch: string }).epoch;
  });
  after(async () => {
    for (const client of clients) client.destroy();
    await h.stop();
  });

  it('subscribe with since (id 1) + unsubscribe (id 2) in one write → 30007 for id 1, then 20002 for id 2, and no replay', async () => {
    const c = await open();
    c.write(frames({ code: 1, topic: 'news', since: { seq: 0, epoch }, id: 1 }, { code: 2, topic: 'news', id: 2 }));
    const seen = [await nextJson(c)];
    assert.deepEqual([seen[0].id, seen[0].code], [1, 30007], `the first reply must answer id 1: ${JSON.stringify(seen[0])}`);
    seen.push(...(await take(c, 1)), ...(await untilPong(c)));
    assert.deepEqual(
      seen.map((m) => [m.id, m.code]),
      [
        [1, 30007],
        [2, 20002],
      ],
    );
    assert.equal(seen[0].message, 'cancelled');
    assert.match(String(seen[0].detail), /unsubscribed/);
    // Unsubscribed: later pushes do not arrive, and the connection keeps working.
    await h.send({ topic: 'news' }, 'after-unsubscribe');
    assert.deepEqual(await untilPong(c), []);
    c.write(frames({ code: 1, topic: 'other', id: 3 }));
    assert.deepEqual((await take(c, 1)).map((m) => [m.id, m.code]), [[3, 20001]]);
  });

  it('the same without ids: two replies, 30007 then 20002', async () => {
    const c = await open();
    c.write(frames({ code: 1, topic: 'news', since: { seq: 0, epoch } }, { code: 2, topic: 'news' }));
    assert.equal((await nextJson(c)).code, 30007);
    assert.equal((await nextJson(c)).code, 20002);
    assert.deepEqual(await untilPong(c), []);
  });

  it('two subscribes with since (ids 1, 2) in one write → 30007 for id 1, then id 2 recovers and replays once', async () => {
    const c = await open();
    c.write(frames({ code: 1, topic: 'news', since: { seq: 0, epoch }, id: 1 }, { code: 1, topic: 'news', since: { seq: 1, epoch }, id: 2 }));
    const first = await nextJson(c);
    assert.deepEqual([first.id, first.code], [1, 30007], `the first reply must answer id 1: ${JSON.stringify(first)}`);
    const seen = [first, ...(await take(c, 4)), ...(await untilPong(c))];
    assert.deepEqual(seen.slice(0, 2).map((m) => [m.id, m.code, m.recovered]), [
      [1, 30007, undefined],
      [2, 20001, true],
    ]);
    // Only id 2's replay (after seq 1), once.
    assert.deepEqual(seen.slice(2).map((m) => [m.seq, m.data]), [
      [2, 'm2'],
      [3, 'm3'],
      [4, 'after-unsubscribe'],
    ]);
    await h.send({ topic: 'news' }, 'live');
    assert.deepEqual((await untilPong(c)).map((m) => m.data), ['live']);
  });
});
