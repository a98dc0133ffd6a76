/**
 * herald.v1 join/leave: a subscribe with `"joinLeave": true` makes the
 * connection a watcher of the topic; the session tells the node of the first
 * and last watcher (`onJoinLeaveWatch`) and delivers the node's events to the
 * watchers as one shared envelope frame. Driven on a GpushSession over fake
 * connections, so the hook's calls and the exact frames are visible; gpush
 * connections never watch.
 */
import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';
import type { JoinLeaveEvent } from '../../src/control/control-plane.js';
import type { WebSocketConnection } from '../../src/gateway/connection.js';
import { Hub } from '../../src/hub/hub.js';
import { GpushSession, type SessionClient } from '../../src/session/gpush-session.js';
import { joinLeaveEnvelope } from '../../src/session/join-leave.js';
import { fakeVerifier, waitUntil } from '../helpers/herald-node.js';

/** The payload of one unmasked, unfragmented server frame. */
function payloadOf(frame: Buffer): string {
  const len = frame[1] & 0x7f;
  const start = len === 126 ? 4 : len === 127 ? 10 : 2;
  return frame.subarray(start).toString('utf8');
}

/** Just enough of a WebSocketConnection for the session: records frames and closes. */
class FakeConnection {
  context: unknown = undefined;
  isOpen = true;
  readonly frames: Buffer[] = [];
  closedWith: number | undefined;
  readonly bufferLimit = 1 << 20;
  constructor(readonly protocol: string | undefined) {}
  sendFrame(frame: Buffer): 'ok' {
    this.frames.push(frame);
    return 'ok';
  }
  sendPrepared(): 'ok' {
    return 'ok';
  }
  close(code: number): void {
    this.closedWith = code;
    this.isOpen = false;
  }
  /** Every frame's text, parsed; forgets them. */
  take(): Record<string, unknown>[] {
    return this.frames.splice(0).map((f) => JSON.parse(payloadOf(f)) as Record<string, unknown>);
  }
}

const EVENT: JoinLeaveEvent = {
  kind: 'join',
  topic: 'room',
  entry: { client: 'nodeA12345.7', uid: 'alice', node: 'nodeA12345', connectedAt: 1_700_000_000_000 },
};

describe('herald.v1 join/leave watching in the session', () => {
  let session: GpushSession;
  let calls: [string, boolean][];

  beforeEach(() => {
    calls = [];
    session = new GpushSession({
      hub: new Hub(),
      verifier: fakeVerifier(),
      topicRules: { maxTopicLength: 256 },
      maxSubscriptionsPerConnection: 16,
      events: { onJoinLeaveWatch: (topic, watching) => calls.push([topic, watching]) },
    });
  });

  function open(gpush = false): FakeConnection {
    const conn = new FakeConnection(gpush ? undefined : 'herald.v1');
    session.onOpen(conn as unknown as WebSocketConnection);
    assert.equal(conn.take()[0]?.code, 20000);
    return conn;
  }
  function send(conn: FakeConnection, command: object): void {
    session.onMessage(conn as unknown as WebSocketConnection, Buffer.from(JSON.stringify(command)), true);
  }
  function client(conn: FakeConnection): SessionClient {
    return conn.context as SessionClient;
  }

  it('frames the envelope as documented: type, topic, client, uid, node, connectedAt; no code, no seq', () => {
    assert.equal(
      joinLeaveEnvelope(EVENT),
      '{"type":"join","topic":"room","client":"nodeA12345.7","uid":"alice","node":"nodeA12345","connectedAt":1700000000000}',
    );
    assert.equal(joinLeaveEnvelope({ ...EVENT, kind: 'leave' }).startsWith('{"type":"leave",'), true);
  });

  it('calls onJoinLeaveWatch on the first watcher and the last, not in between', () => {
    const a = open();
    const b = open();
    send(a, { code: 1, topic: 'room', joinLeave: true, id: 1 });
    assert.deepEqual(a.take(), [{ code: 20001, message: 'subscribed', id: 1 }]);
    assert.deepEqual(calls, [['room', true]]);
    send(b, { code: 1, topic: 'room', joinLeave: true });
    send(a, { code: 1, topic: 'room', joinLeave: true });
    assert.deepEqual(calls, [['room', true]], 'a second watcher (and a repeated subscribe) says nothing');
    send(a, { code: 2, topic: 'room' });
    assert.deepEqual(calls, [['room', true]]);
    send(b, { code: 2, topic: 'room' });
    assert.deepEqual(calls, [['room', true], ['room', false]], 'the last watcher leaving ends the watch');
    assert.equal(client(a).joinLeaveTopics, null);
    assert.equal(client(b).joinLeaveTopics, null);
  });

  it('a subscribe without the flag does not watch, and idle connections carry nothing', () => {
    const a = open();
    send(a, { code: 1, topic: 'room' });
    assert.equal(client(a).joinLeaveTopics, null);
    assert.deepEqual(calls, []);
    assert.equal(session.deliverJoinLeave(EVENT), 0);
    assert.deepEqual(a.take(), [{ code: 20001, message: 'subscribed' }]);
  });

  it('"joinLeave": false on a later subscribe stops watching; a non-boolean is 30001', () => {
    const a = open();
    send(a, { code: 1, topic: 'room', joinLeave: true });
    send(a, { code: 1, topic: 'room', joinLeave: false });
    assert.deepEqual(calls, [['room', true], ['room', false]]);
    a.take();
    send(a, { code: 1, topic: 'other', joinLeave: 'yes' });
    const [reply] = a.take();
    assert.equal(reply.code, 30001);
    assert.equal(reply.detail, 'joinLeave must be a boolean');
    assert.equal(client(a).publicTopics, 'room', 'the malformed subscribe subscribed nothing');
  });

  it('delivers one shared frame to every watcher of the topic, and nothing to the others', () => {
    const a = open();
    const b = open();
    const c = open();
    send(a, { code: 1, topic: 'room', joinLeave: true });
    send(b, { code: 1, topic: 'room', joinLeave: true });
    send(c, { code: 1, topic: 'room' });
    for (const conn of [a, b, c]) conn.take();
    assert.equal(session.deliverJoinLeave(EVENT), 2);
    assert.equal(a.frames.length, 1);
    assert.equal(a.frames[0], b.frames[0], 'framed once, the same buffer queued on each');
    assert.deepEqual(a.take(), [{ type: 'join', topic: 'room', client: 'nodeA12345.7', uid: 'alice', node: 'nodeA12345', connectedAt: 1_700_000_000_000 }]);
    assert.deepEqual(c.take(), []);
    assert.equal(session.deliverJoinLeave({ ...EVENT, topic: 'elsewhere' }), 0);
  });

  it('gpush-protocol connections never watch nor get join/leave events (the flag is ignored)', () => {
    const g = open(true);
    send(g, { code: 1, topic: 'room', joinLeave: true });
    assert.deepEqual(g.take(), [{ code: 20001, message: 'subscribed' }]);
    send(g, { code: 1, topic: 'other', joinLeave: 'not checked: gpush ignores unknown fields' });
    assert.deepEqual(g.take(), [{ code: 20001, message: 'subscribed' }]);
    assert.equal(client(g).joinLeaveTopics, null);
    assert.deepEqual(calls, []);
    assert.equal(session.deliverJoinLeave(EVENT), 0);
    assert.deepEqual(g.take(), []);
  });

  it('a close ends every watch of the connection', () => {
    const a = open();
    send(a, { code: 1, topic: 'room', joinLeave: true });
    send(a, { code: 1, topic: 'hall', joinLeave: true });
    session.onClose(a as unknown as WebSocketConnection);
    assert.deepEqual(calls.sort(), [['hall', false], ['hall', true], ['room', false], ['room', true]]);
    assert.equal(session.deliverJoinLeave(EVENT), 0);
  });

  it('a logout ends the watch of a private-only topic and keeps one still held publicly', async () => {
    const a = open();
    send(a, { code: 3, data: 'user:alice' });
    await waitUntil(() => a.frames.length > 0, 'the login');
    assert.equal(a.take()[0].code, 20003);
    send(a, { code: 5, topic: 'secret', joinLeave: true });
    send(a, { code: 5, topic: 'room', joinLeave: true });
    send(a, { code: 1, topic: 'room' });
    assert.deepEqual(calls, [['secret', true], ['room', true]]);
    send(a, { code: 4 });
    assert.deepEqual(calls, [['secret', true], ['room', true], ['secret', false]], 'room is still held publicly');
    assert.equal(client(a).joinLeaveTopics, 'room');
    send(a, { code: 2, topic: 'room' });
    assert.deepEqual(calls.at(-1), ['room', false]);
  });

  it('unsubscribing one kind keeps the watch while the other kind is held', async () => {
    const a = open();
    send(a, { code: 3, data: 'user:bob' });
    await waitUntil(() => a.frames.length > 0, 'the login');
    send(a, { code: 1, topic: 'room', joinLeave: true });
    send(a, { code: 5, topic: 'room' });
    send(a, { code: 6, topic: 'room' });
    assert.deepEqual(calls, [['room', true]]);
    send(a, { code: 2, topic: 'room' });
    assert.deepEqual(calls, [['room', true], ['room', false]]);
  });

  it('a refused subscribe (30004, 30005) starts no watch', () => {
    const a = open();
    send(a, { code: 1, topic: '', joinLeave: true });
    for (let i = 0; i < 16; i++) send(a, { code: 1, topic: `t${i}` });
    send(a, { code: 1, topic: 'one-too-many', joinLeave: true });
    const codes = a.take().map((r) => r.code);
    assert.equal(codes[0], 30004);
    assert.equal(codes.at(-1), 30005);
    assert.deepEqual(calls, []);
  });
});
