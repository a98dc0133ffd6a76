/**
 * Client presence requests (herald.v1 ops 7 and 8) against a node with a
 * fake presence source: answered 20007/20008 with the request's id when the
 * server allows it and the connection is subscribed to the topic; 30008
 * otherwise, and 30008 `presence unavailable` when the lookup fails (the
 * connection stays open). gpush connections do not have these ops (30001).
 */
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import type { PresenceEntry, PresenceStats } from '../../src/control/control-plane.js';
import { CLIENT_PRESENCE_LIMIT, type ClientPresence } from '../../src/session/presence-requests.js';
import { fakeVerifier, startNode, type TestClient, type TestNode } from '../helpers/herald-node.js';

const ALICE: PresenceEntry = { client: 'n1.1', uid: 'alice', node: 'n1', connectedAt: 1_700_000_000_000 };

/** A presence source that answers from a table and records what it was asked. */
class FakePresence implements ClientPresence {
  readonly asked: string[] = [];
  entries: PresenceEntry[] = [ALICE];
  fail = false;
  /** While set, lookups wait for it. */
  gate: Promise<void> | undefined;
  async list(topic: string, limit: number): Promise<PresenceEntry[]> {
    this.asked.push(`list ${topic} ${limit}`);
    await this.gate;
    if (this.fail) throw new Error('redis is down');
    // Extra fields an implementation might carry are not passed on to clients.
    return this.entries.slice(0, limit).map((e) => ({ ...e, internal: 'x' }));
  }
  async stats(topic: string): Promise<PresenceStats> {
    this.asked.push(`stats ${topic}`);
    if (this.fail) throw new Error('redis is down');
    return { clients: 3, users: 2 };
  }
}

async function ask(c: TestClient, command: object): Promise<Record<string, unknown>> {
  c.send(command);
  return (await c.nextReply()) as unknown as Record<string, unknown>;
}

describe('herald.v1 ops 7/8 with --client-presence', () => {
  let h: TestNode;
  const presence = new FakePresence();

  before(async () => {
    h = await startNode({ clientPresence: true, presenceSource: presence, verifier: fakeVerifier() });
  });
  after(() => h.stop());
  afterEach(async () => {
    presence.fail = false;
    presence.gate = undefined;
    presence.entries = [ALICE];
    presence.asked.length = 0;
    await h.closeClients();
  });

  it('answers op 7 with the subscribers and op 8 with the counts, keeping the id', async () => {
    const c = await h.connect({ protocol: 'herald.v1' });
    await ask(c, { code: 1, topic: 'room' });
    assert.deepEqual(await ask(c, { code: 7, topic: 'room', id: 'p1' }), {
      code: 20007,
      message: 'presence',
      detail: { clients: [ALICE] },
      id: 'p1',
    });
    assert.deepEqual(await ask(c, { code: 8, topic: 'room', id: 9 }), {
      code: 20008,
      message: 'presence stats',
      detail: { clients: 3, users: 2 },
      id: 9,
    });
    assert.deepEqual(presence.asked, [`list room ${CLIENT_PRESENCE_LIMIT + 1}`, 'stats room']);
  });

  it('one lookup at a time per connection: a second op 7 while the first is unanswered gets 30008 busy', async () => {
    const c = await h.connect({ protocol: 'herald.v1' });
    await ask(c, { code: 1, topic: 'room' });
    let open!: () => void;
    presence.gate = new Promise((resolve) => (open = resolve));
    c.send({ code: 7, topic: 'room', id: 'first' });
    const busy = await ask(c, { code: 7, topic: 'room', id: 'second' });
    assert.equal(busy.code, 30008);
    assert.equal(busy.id, 'second');
    assert.match(String(busy.detail), /busy/);
    open();
    presence.gate = undefined;
    const first = (await c.nextReply()) as unknown as Record<string, unknown>;
    assert.deepEqual([first.code, first.id], [20007, 'first']);
    const third = await ask(c, { code: 7, topic: 'room', id: 'third' });
    assert.deepEqual([third.code, third.id], [20007, 'third']);
    assert.equal(presence.asked.filter((a) => a.startsWith('list')).length, 2, 'the refused one asked nothing');
  });

  it('bounds the list and says when it was cut', async () => {
    presence.entries = Array.from({ length: CLIENT_PRESENCE_LIMIT + 5 }, (_, i) => ({ ...ALICE, client: `n1.${i}` }));
    const c = await h.connect({ protocol: 'herald.v1' });
    await ask(c, { code: 1, topic: 'room' });
    const reply = await ask(c, { code: 7, topic: 'room', id: 1 });
    const detail = reply.detail as { clients: unknown[]; truncated?: boolean };
    assert.equal(detail.clients.length, CLIENT_PRESENCE_LIMIT);
    assert.equal(detail.truncated, true);
  });

  it('answers for a private subscription too', async () => {
    const c = await h.connect({ protocol: 'herald.v1' });
    await ask(c, { code: 3, data: 'user:alice' });
    await ask(c, { code: 5, topic: 'mine' });
    assert.equal((await ask(c, { code: 8, topic: 'mine', id: 2 })).code, 20008);
  });

  it('refuses a topic the connection is not subscribed to with 30008, and a bad topic with 30004', async () => {
    const c = await h.connect({ protocol: 'herald.v1' });
    assert.deepEqual(await ask(c, { code: 7, topic: 'room', id: 3 }), {
      code: 30008,
      message: 'forbidden',
      detail: 'presence is only given for a topic this connection is subscribed to',
      id: 3,
    });
    await ask(c, { code: 1, topic: 'room' });
    await ask(c, { code: 2, topic: 'room' });
    assert.equal((await ask(c, { code: 8, topic: 'room' })).code, 30008, 'no longer subscribed');
    assert.equal((await ask(c, { code: 8, topic: '' })).code, 30004);
    assert.equal((await ask(c, { code: 7 })).code, 30004);
    assert.deepEqual(presence.asked, [], 'nothing was looked up');
  });

  it('a failed lookup answers 30008 "presence unavailable" and the connection stays', async () => {
    presence.fail = true;
    const c = await h.connect({ protocol: 'herald.v1' });
    await ask(c, { code: 1, topic: 'room' });
    assert.deepEqual(await ask(c, { code: 7, topic: 'room', id: 4 }), {
      code: 30008,
      message: 'forbidden',
      detail: 'presence unavailable',
      id: 4,
    });
    assert.equal((await ask(c, { code: 8, topic: 'room', id: 5 })).detail, 'presence unavailable');
    assert.deepEqual(await c.sync(), []);
    assert.equal(c.closeEvent, undefined);
  });

  it('gpush-protocol connections do not have ops 7 and 8 (30001, as any unknown code)', async () => {
    const c = await h.connect();
    await c.subscribe('room');
    const reply = await ask(c, { code: 7, topic: 'room' });
    assert.equal(reply.code, 30001);
    assert.equal(reply.detail, 'unknown code');
    assert.deepEqual(presence.asked, []);
  });
});

describe('herald.v1 ops 7/8 without --client-presence', () => {
  let h: TestNode;
  const presence = new FakePresence();
  before(async () => {
    h = await startNode({ presenceSource: presence });
  });
  after(() => h.stop());

  it('answers 30008 forbidden, even for a subscribed topic, and asks nothing', async () => {
    const c = await h.connect({ protocol: 'herald.v1' });
    await ask(c, { code: 1, topic: 'room' });
    assert.deepEqual(await ask(c, { code: 7, topic: 'room', id: 1 }), {
      code: 30008,
      message: 'forbidden',
      detail: 'this server does not let clients ask for presence',
      id: 1,
    });
    assert.equal((await ask(c, { code: 8, topic: 'room' })).code, 30008);
    assert.deepEqual(presence.asked, []);
  });
});
