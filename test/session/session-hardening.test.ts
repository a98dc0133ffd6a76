/**
 * Session hardening, driven on a GpushSession over fake connections.
 *
 * Commands that wait (behind a connect admission, a subscribe being
 * authorized, a login) are bounded by count and bytes. A message the gateway
 * hands over is a view into the socket chunk it arrived in (frame-parser.ts),
 * so a waiting command must be kept as a copy: kept as the view, one small
 * command holds its whole chunk (up to 64 KiB — the rest of it pong frames the
 * gateway ignores, say), and 1024 waiting commands 64 MiB, though the byte
 * bound counted a few KiB. Driven on a GpushSession over fake connections, so
 * the held commands are visible.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { LoginIdentity, LoginVerifier } from '../../src/auth/login-verifier.js';
import type { WebSocketConnection } from '../../src/gateway/connection.js';
import { Hub } from '../../src/hub/hub.js';
import { GpushSession, type SessionClient } from '../../src/session/gpush-session.js';
import type { ConnectProxy, ConnectVerdict, SubscribeProxy } from '../../src/session/proxy-hooks.js';
import { Namespaces } from '../../src/util/namespaces.js';

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
  readonly bufferLimit = 1 << 20;
  readonly remoteAddress = '127.0.0.1';
  constructor(readonly protocol: string | undefined) {}
  sendFrame(frame: Buffer): 'ok' {
    this.frames.push(frame);
    return 'ok';
  }
  close(): void {
    this.isOpen = false;
  }
  take(): Record<string, unknown>[] {
    return this.frames.splice(0).map((f) => JSON.parse(payloadOf(f)) as Record<string, unknown>);
  }
}

/** A promise and the function that settles it. */
function held<T>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

/** A 64 KiB "socket chunk" whose first bytes are `command`'s JSON, and the view of them the gateway would hand over. */
function inChunk(command: object): { chunk: Buffer; message: Buffer } {
  const text = Buffer.from(JSON.stringify(command));
  const chunk = Buffer.alloc(64 * 1024);
  text.copy(chunk);
  return { chunk, message: chunk.subarray(0, text.length) };
}

function waiting(conn: FakeConnection): Buffer[] {
  const queue = (conn.context as SessionClient).deferred;
  assert.ok(queue !== null, 'commands are waiting');
  return queue.filter((item): item is Buffer => item instanceof Buffer);
}

const flush = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('commands waiting for a verdict hold copies, not the chunks they arrived in', () => {
  it('behind a connect admission', async () => {
    const verdict = held<ConnectVerdict>();
    const connectProxy: ConnectProxy = { check: () => verdict.promise };
    const session = new GpushSession({ hub: new Hub(), topicRules: { maxTopicLength: 256 }, maxSubscriptionsPerConnection: 16, connectProxy });
    const conn = new FakeConnection('herald.v1');
    session.onOpen(conn as unknown as WebSocketConnection);
    assert.equal(conn.take()[0]?.code, 20000);
    const { chunk, message } = inChunk({ code: 1, id: 1, topic: 'news' });
    session.onMessage(conn as unknown as WebSocketConnection, message, true);
    const [kept] = waiting(conn);
    assert.equal(kept.toString(), message.toString());
    assert.notEqual(kept.buffer, chunk.buffer, 'the waiting command holds its own bytes, not the 64 KiB chunk');
    // The chunk is the transport's again: what waits is unchanged, and runs once admitted.
    chunk.fill(0x20);
    verdict.resolve({ allowed: true });
    await flush();
    assert.deepEqual(conn.take().map((r) => [r.code, r.id]), [[20001, 1]]);
    session.close();
  });

  it('behind a login', async () => {
    const identity = held<LoginIdentity>();
    const verifier: LoginVerifier = { verify: () => identity.promise };
    const session = new GpushSession({ hub: new Hub(), verifier, topicRules: { maxTopicLength: 256 }, maxSubscriptionsPerConnection: 16 });
    const conn = new FakeConnection(undefined);
    session.onOpen(conn as unknown as WebSocketConnection);
    conn.take();
    session.onMessage(conn as unknown as WebSocketConnection, Buffer.from('{"code":3,"data":"alice"}'), true);
    const { chunk, message } = inChunk({ code: 5, topic: 'inbox' });
    session.onMessage(conn as unknown as WebSocketConnection, message, true);
    const [kept] = waiting(conn);
    assert.notEqual(kept.buffer, chunk.buffer, 'the waiting command holds its own bytes, not the 64 KiB chunk');
    chunk.fill(0x20);
    identity.resolve({ uid: 'alice' });
    await flush();
    assert.deepEqual(conn.take().map((r) => r.code), [20003, 20001]);
    session.close();
  });
});

describe('a subscribe proxy hook that throws instead of resolving', () => {
  it('is a refusal (30008 backend unavailable), not a 1011 for the connection', async () => {
    const subscribeProxy: SubscribeProxy = {
      check() {
        throw new Error('an embedder bug');
      },
    };
    const session = new GpushSession({
      hub: new Hub(),
      topicRules: { maxTopicLength: 256 },
      maxSubscriptionsPerConnection: 16,
      namespaces: Namespaces.parse([{ topics: 'proxy:*', subscribe: 'proxy' }]),
      subscribeProxy,
    });
    const conn = new FakeConnection('herald.v1');
    session.onOpen(conn as unknown as WebSocketConnection);
    conn.take();
    // The gateway turns a throw out of onMessage into a 1011 close; none may come out.
    session.onMessage(conn as unknown as WebSocketConnection, Buffer.from('{"code":1,"id":1,"topic":"proxy:a"}'), true);
    session.onMessage(conn as unknown as WebSocketConnection, Buffer.from('{"code":1,"id":2,"topic":"news"}'), true);
    await flush();
    assert.deepEqual(
      conn.take().map((r) => [r.code, r.id, r.detail]),
      [
        [30008, 1, 'backend unavailable'],
        [20001, 2, undefined],
      ],
    );
    assert.equal(conn.isOpen, true);
    session.close();
  });
});

/** The session's subscription-expiry wheel (private), to see that a closed connection leaves nothing on it. */
function expiringCount(session: GpushSession): number {
  return (session as unknown as { subscriptions: { expiries: { wheel: { size: number } } } }).subscriptions.expiries.wheel.size;
}

describe('a connection that closes while its subscribe is being authorized', () => {
  it('ignores the late verdict, and leaves no subscription or expiry behind', async () => {
    const pending: ((verdict: { allowed: true; expiresAt: number }) => void)[] = [];
    const subscribeProxy: SubscribeProxy = { check: () => new Promise((resolve) => pending.push(resolve)) };
    const hub = new Hub();
    const session = new GpushSession({
      hub,
      topicRules: { maxTopicLength: 256 },
      maxSubscriptionsPerConnection: 16,
      namespaces: Namespaces.parse([{ topics: 'proxy:*', subscribe: 'proxy' }]),
      subscribeProxy,
    });
    const send = (conn: FakeConnection, text: string): void => session.onMessage(conn as unknown as WebSocketConnection, Buffer.from(text), true);
    // One connection gets its grant (with an expiry) and then closes; the other closes before its verdict.
    const kept = new FakeConnection('herald.v1');
    const gone = new FakeConnection(undefined);
    for (const conn of [kept, gone]) {
      session.onOpen(conn as unknown as WebSocketConnection);
      conn.take();
    }
    send(kept, '{"code":1,"id":1,"topic":"proxy:a"}');
    send(gone, '{"code":1,"topic":"proxy:a"}');
    send(gone, '{"code":1,"topic":"news"}');
    assert.equal(pending.length, 2);
    const later = Date.now() + 3_600_000;
    pending[0]({ allowed: true, expiresAt: later });
    await flush();
    assert.deepEqual(kept.take().map((r) => [r.code, r.expiresAt]), [[20001, later]]);
    assert.equal(expiringCount(session), 1);
    gone.isOpen = false;
    session.onClose(gone as unknown as WebSocketConnection);
    pending[1]({ allowed: true, expiresAt: later });
    await flush();
    assert.deepEqual(gone.frames, [], 'nothing is sent to a closed connection');
    assert.equal(hub.subscriptionCount, 1, 'only the open connection holds a subscription');
    kept.isOpen = false;
    session.onClose(kept as unknown as WebSocketConnection);
    assert.equal(hub.subscriptionCount, 0);
    assert.equal(expiringCount(session), 0, "the closed connection's expiry left the wheel");
    session.close();
  });
});
