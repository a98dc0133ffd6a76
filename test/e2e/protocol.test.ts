/**
 * The gpush-compatible client protocol over real sockets: greeting, text and
 * WS-level heartbeats, ops 1–6 and their replies, and every refusal (30001,
 * 30002, 30004, 30005, close 1009).
 */
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import { fakeVerifier, startNode, waitUntil, type TestNode } from '../helpers/herald-node.js';

describe('e2e: client protocol', () => {
  let h: TestNode;
  before(async () => {
    h = await startNode({ verifier: fakeVerifier(), maxTopicLength: 16, maxSubscriptionsPerConnection: 3 });
  });
  afterEach(async () => {
    await h.closeClients();
  });
  after(async () => {
    await h.stop();
  });

  it('sends the greeting {"code":20000,...} as a text frame right after the upgrade', async () => {
    const c = await h.connect({ greeting: false });
    const first = await c.next();
    assert.equal(first.isBinary, false);
    const greeting = JSON.parse(first.data.toString('utf8'));
    assert.equal(greeting.code, 20000);
    assert.equal(typeof greeting.message, 'string');
    await c.close();
  });

  it('answers text ping, PING and Ping with a text pong', async () => {
    const c = await h.connect();
    for (const ping of ['ping', 'PING', 'Ping', 'pInG']) {
      c.send(ping);
      assert.equal(await c.nextText(), 'pong', `after ${ping}`);
    }
    await c.close();
  });

  it('answers a WS-level ping frame with a pong frame carrying the same payload', async () => {
    const c = await h.connect();
    c.ws.ping('x');
    c.ws.ping(Buffer.from([0, 1, 2, 0xff]));
    await c.sync(); // both pongs precede the text pong
    assert.deepEqual(c.pongs, [Buffer.from('x'), Buffer.from([0, 1, 2, 0xff])]);
    await c.close();
  });

  it('op 1 → 20001, op 2 → 20002, op 3 → 20003 with detail.uid, op 4 → 20004 (not gpush’s 20003)', async () => {
    const c = await h.connect();
    await c.op(1, { topic: 'news' }, 20001);
    await c.op(2, { topic: 'news' }, 20002);
    const login = await c.op(3, { data: 'user:alice' }, 20003);
    assert.deepEqual(login.detail, { uid: 'alice' });
    await c.op(5, { topic: 'inbox' }, 20001);
    await c.op(6, { topic: 'inbox' }, 20002);
    const logout = await c.op(4, {}, 20004);
    assert.notEqual(logout.code, 20003);
    await c.close();
  });

  it('op 1 and op 5 answer 20001 again for a topic already subscribed; op 2 and op 6 answer 20002 when not subscribed', async () => {
    const c = await h.connect();
    await c.login('user:bob', 'bob');
    await c.subscribe('a');
    await c.subscribe('a');
    await c.subscribePrivate('p');
    await c.subscribePrivate('p');
    await c.unsubscribe('never');
    await c.unsubscribePrivate('never');
    await c.close();
  });

  it('ops 4, 5 and 6 without a login → 30002 (gpush had op 6’s check inverted)', async () => {
    const c = await h.connect();
    await c.op(5, { topic: 'inbox' }, 30002);
    await c.op(6, { topic: 'inbox' }, 30002);
    await c.op(4, {}, 30002);
    // ...and after a logout, too.
    await c.login('user:carol', 'carol');
    await c.logout();
    await c.op(5, { topic: 'inbox' }, 30002);
    await c.op(6, { topic: 'inbox' }, 30002);
    await c.op(4, {}, 30002);
    await c.close();
  });

  it('a refused login → 30003 and the connection stays usable', async () => {
    const c = await h.connect();
    await c.op(3, { data: 'not-a-user' }, 30003);
    await c.op(5, { topic: 'inbox' }, 30002);
    await c.subscribe('still-works');
    await c.close();
  });

  it('malformed JSON, a JSON array, a JSON number, a string, null → 30001', async () => {
    const c = await h.connect();
    for (const bad of ['{"code":1,', 'not json', '[1,2]', '[]', '42', '"hello"', 'null', 'true', '']) {
      c.send(bad);
      await c.nextReply(30001);
    }
    await c.subscribe('ok-after-bad'); // the connection survives
    await c.close();
  });

  it('an unknown or missing code (0, 7, 255, -1, 1.5, "1" as a string, null, none) → 30001', async () => {
    const c = await h.connect();
    for (const code of [0, 7, 255, -1, 1.5, '1', null, true]) {
      await c.op(code, { topic: 'x' }, 30001);
    }
    c.send({ topic: 'x' });
    await c.nextReply(30001);
    await c.close();
  });

  it('a binary frame → 30001', async () => {
    const c = await h.connect();
    c.send(Buffer.from(JSON.stringify({ code: 1, topic: 'x' })));
    await c.nextReply(30001);
    c.send(Buffer.from([0xff, 0x00, 0x80]));
    await c.nextReply(30001);
    await c.close();
  });

  it('a non-string topic (number, null, object, array, boolean) or a missing topic → 30004 for op 1 and op 5', async () => {
    const c = await h.connect();
    await c.login('user:dave', 'dave');
    for (const op of [1, 5]) {
      for (const topic of [42, null, { a: 1 }, ['a'], true]) await c.op(op, { topic }, 30004);
      await c.op(op, {}, 30004);
    }
    await c.close();
  });

  it('an empty topic → 30004', async () => {
    const c = await h.connect();
    await c.login('user:erin', 'erin');
    await c.op(1, { topic: '' }, 30004);
    await c.op(5, { topic: '' }, 30004);
    await c.close();
  });

  it('a topic longer than maxTopicLength (16 bytes here) → 30004; exactly 16 bytes is accepted', async () => {
    const c = await h.connect();
    await c.login('user:frank', 'frank');
    await c.op(1, { topic: 'a'.repeat(17) }, 30004);
    await c.op(5, { topic: 'b'.repeat(17) }, 30004);
    // The limit is in UTF-8 bytes: 6 × "é" (2 bytes) + 5 = 17 bytes in 11 characters.
    await c.op(1, { topic: 'é'.repeat(6) + 'abcde' }, 30004);
    await c.op(1, { topic: 'a'.repeat(16) }, 20001);
    await c.close();
  });

  it('a topic with a control character (NUL, \\n, \\t, ESC, DEL, U+0085) → 30004', async () => {
    const c = await h.connect();
    await c.login('user:gina', 'gina');
    for (const topic of ['a\u0000b', 'a\nb', '\tab', 'a\u001b', 'ab\u007f', 'a\u0085']) {
      await c.op(1, { topic }, 30004);
      await c.op(5, { topic }, 30004);
    }
    await c.op(1, { topic: 'naïve-日本' }, 20001); // other Unicode is fine
    await c.close();
  });

  it('the 4th subscription with maxSubscriptionsPerConnection 3 → 30005; re-subscribing an existing topic still → 20001', async () => {
    const c = await h.connect();
    await c.login('user:hank', 'hank');
    await c.subscribe('s1');
    await c.subscribe('s2');
    await c.subscribePrivate('s3'); // public and private count together
    await c.op(1, { topic: 's4' }, 30005);
    await c.op(5, { topic: 's4' }, 30005);
    await c.subscribe('s1');
    await c.subscribePrivate('s3');
    // Freeing one makes room again.
    await c.unsubscribe('s2');
    await c.subscribe('s4');
    await c.op(1, { topic: 's5' }, 30005);
    await c.close();
  });

  it('op 2 / op 6 with a non-string topic → 30004', async () => {
    const c = await h.connect();
    await c.login('user:ivy', 'ivy');
    await c.op(2, { topic: 5 }, 30004);
    await c.op(6, { topic: null }, 30004);
    await c.close();
  });
});

describe('e2e: client protocol limits', () => {
  it('a 100 KB topic with the default topic limit (maxMessageBytes raised) → 30004', async () => {
    const h = await startNode({ verifier: fakeVerifier(), maxMessageBytes: 1024 * 1024 });
    try {
      const c = await h.connect();
      await c.op(1, { topic: 't'.repeat(100 * 1024) }, 30004);
      await c.login('user:big', 'big');
      await c.op(5, { topic: 't'.repeat(100 * 1024) }, 30004);
      await c.op(1, { topic: 't'.repeat(256) }, 20001); // the default limit is 256 bytes
      await c.op(1, { topic: 't'.repeat(257) }, 30004);
      assert.equal(h.node.hub.topicCount, 1);
      await c.close();
    } finally {
      await h.stop();
    }
  });

  it('a message bigger than maxMessageBytes → close 1009, other clients unaffected', async () => {
    const h = await startNode({ maxMessageBytes: 1024 });
    try {
      const other = await h.connect();
      await other.subscribe('t');
      const big = await h.connect();
      await big.subscribe('t');
      big.send({ code: 1, topic: 'x'.repeat(2000) });
      const { code } = await big.closed();
      assert.equal(code, 1009);
      // A message exactly at the limit is fine on another connection.
      const exact = await h.connect();
      const padded = JSON.stringify({ code: 1, topic: 'y', pad: '' });
      exact.send(JSON.stringify({ code: 1, topic: 'y', pad: 'p'.repeat(1024 - padded.length) }));
      await exact.nextReply(20001);
      await h.send({ topic: 't' }, 'after-1009');
      assert.deepEqual(await other.sync(), ['after-1009']);
      await other.subscribe('u');
      await waitUntil(() => h.node.hub.clientCount === 2, 'the hub to drop the closed client');
      await other.close();
      await exact.close();
    } finally {
      await h.stop();
    }
  });
});
