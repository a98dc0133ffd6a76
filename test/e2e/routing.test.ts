/**
 * Push routing end to end: push API → memory engine → hub → sockets.
 * "Not received" is checked with `sync()` (text ping → pong): a finished push
 * is queued on its targets before the push request answers, so it would
 * arrive before the pong.
 */
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import { fakeVerifier, startNode, waitUntil, type TestClient, type TestNode } from '../helpers/herald-node.js';

describe('e2e: push routing', () => {
  let h: TestNode;
  before(async () => {
    h = await startNode({ verifier: fakeVerifier() });
  });
  afterEach(async () => {
    await h.closeClients();
  });
  after(async () => {
    await h.stop();
  });

  /** Close every client and wait until the hub has forgotten them, so tests do not see each other's connections. */
  async function closeAll(...clients: TestClient[]): Promise<void> {
    await Promise.all(clients.map((c) => c.close()));
    await waitUntil(() => h.node.hub.clientCount === 0, 'the hub to drop every client');
  }

  it('topic only (POST /v1/pushData) → its public subscribers only, not non-subscribers nor private subscribers of that name', async () => {
    const pub1 = await h.connect();
    const pub2 = await h.connect();
    const none = await h.connect();
    const priv = await h.connect();
    const otherTopic = await h.connect();
    await pub1.subscribe('news');
    await pub2.subscribe('news');
    await priv.login('user:p1', 'p1');
    await priv.subscribePrivate('news');
    await otherTopic.subscribe('sport');
    await h.send({ topic: 'news' }, 'headline');
    assert.deepEqual(await pub1.sync(), ['headline']);
    assert.deepEqual(await pub2.sync(), ['headline']);
    assert.deepEqual(await none.sync(), []);
    assert.deepEqual(await priv.sync(), []);
    assert.deepEqual(await otherTopic.sync(), []);
    await closeAll(pub1, pub2, none, priv, otherTopic);
  });

  it('topic only (POST /v1/push batch, data as text) → its public subscribers only', async () => {
    const pub = await h.connect();
    const none = await h.connect();
    await pub.subscribe('news');
    const res = await h.pushBatch([{ topic: 'news', data: 'batched' }]);
    assert.equal(res.status, 200);
    assert.deepEqual(res.json, { accepted: 1, failed: 0, results: [{ ok: true }] });
    assert.deepEqual(await pub.sync(), ['batched']);
    assert.deepEqual(await none.sync(), []);
    await closeAll(pub, none);
  });

  it('neither uid nor topic → every connection, including unsubscribed and logged-in ones', async () => {
    const plain = await h.connect();
    const subscribed = await h.connect();
    const loggedIn = await h.connect();
    await subscribed.subscribe('x');
    await loggedIn.login('user:b1', 'b1');
    await h.send({}, 'to-all');
    await h.send({ uid: '', topic: '' }, 'to-all-empty-strings'); // gpush's protobuf: "" means unset
    const batch = await h.pushBatch([{ data: 'to-all-batch' }]);
    assert.equal(batch.status, 200);
    for (const c of [plain, subscribed, loggedIn]) {
      assert.deepEqual(await c.sync(), ['to-all', 'to-all-empty-strings', 'to-all-batch']);
    }
    await closeAll(plain, subscribed, loggedIn);
  });

  it('uid + topic → that user’s connections subscribed to the topic: privately, or publicly on the gpush protocol (as gpush); herald.v1 private only', async () => {
    const target = await h.connect(); // alice, private "inbox"
    const aliceOther = await h.connect(); // alice, not subscribed
    const alicePublic = await h.connect(); // alice, PUBLIC "inbox" only (gpush: delivered)
    const alicePublicV1 = await h.connect({ protocol: 'herald.v1' }); // alice, PUBLIC "inbox" on herald.v1: not delivered
    const publicSub = await h.connect(); // anonymous, public "inbox"
    const bob = await h.connect(); // bob, private "inbox"
    await target.login('user:alice', 'alice');
    await target.subscribePrivate('inbox');
    await aliceOther.login('user:alice', 'alice');
    await alicePublic.login('user:alice', 'alice');
    await alicePublic.subscribe('inbox');
    await alicePublicV1.login('user:alice', 'alice');
    await alicePublicV1.subscribe('inbox');
    await publicSub.subscribe('inbox');
    await bob.login('user:bob', 'bob');
    await bob.subscribePrivate('inbox');
    await h.send({ uid: 'alice', topic: 'inbox' }, 'for-alice');
    const batch = await h.pushBatch([{ uid: 'alice', topic: 'inbox', data: 'for-alice-batch' }]);
    assert.equal(batch.status, 200);
    assert.deepEqual(await target.sync(), ['for-alice', 'for-alice-batch']);
    assert.deepEqual(await aliceOther.sync(), []);
    assert.deepEqual(await alicePublic.sync(), ['for-alice', 'for-alice-batch']);
    assert.deepEqual(await alicePublicV1.sync(), []);
    assert.deepEqual(await publicSub.sync(), []);
    assert.deepEqual(await bob.sync(), []);
    // An unknown user or a topic nobody holds privately reaches nobody and still succeeds.
    await h.send({ uid: 'nobody', topic: 'inbox' }, 'lost');
    await h.send({ uid: 'alice', topic: 'other' }, 'lost');
    for (const c of [target, aliceOther, alicePublic, alicePublicV1, publicSub, bob]) assert.deepEqual(await c.sync(), []);
    await closeAll(target, aliceOther, alicePublic, alicePublicV1, publicSub, bob);
  });

  it('uid only → every connection of that user, subscribed or not (Herald extension: a gpush private push needed uid + topic)', async () => {
    const a1 = await h.connect();
    const a2 = await h.connect();
    const b = await h.connect();
    const anon = await h.connect();
    await a1.login('user:alice', 'alice');
    await a1.subscribePrivate('inbox');
    await a2.login('user:alice', 'alice');
    await b.login('user:bob', 'bob');
    await h.send({ uid: 'alice' }, 'whole-user');
    assert.deepEqual(await a1.sync(), ['whole-user']);
    assert.deepEqual(await a2.sync(), ['whole-user']);
    assert.deepEqual(await b.sync(), []);
    assert.deepEqual(await anon.sync(), []);
    await closeAll(a1, a2, b, anon);
  });

  it('two connections logged in as the same uid both receive a private push', async () => {
    const c1 = await h.connect();
    const c2 = await h.connect();
    for (const c of [c1, c2]) {
      await c.login('user:twin', 'twin');
      await c.subscribePrivate('dm');
    }
    await h.send({ uid: 'twin', topic: 'dm' }, 'both');
    assert.deepEqual(await c1.sync(), ['both']);
    assert.deepEqual(await c2.sync(), ['both']);
    await closeAll(c1, c2);
  });

  it('unsubscribe stops delivery (op 2 for public, op 6 for private)', async () => {
    const c = await h.connect();
    await c.login('user:u', 'u');
    await c.subscribe('pub');
    await c.subscribePrivate('priv');
    await h.send({ topic: 'pub' }, 'p1');
    await h.send({ uid: 'u', topic: 'priv' }, 'q1');
    assert.deepEqual(await c.sync(), ['p1', 'q1']);
    await c.unsubscribe('pub');
    await c.unsubscribePrivate('priv');
    await h.send({ topic: 'pub' }, 'p2');
    await h.send({ uid: 'u', topic: 'priv' }, 'q2');
    assert.deepEqual(await c.sync(), []);
    assert.equal(h.node.hub.subscriptionCount, 0);
    assert.equal(h.node.hub.topicCount, 0);
    await closeAll(c);
  });

  it('op 2 does not remove a private subscription of the same name, op 6 does not remove a public one (gpush bug 13)', async () => {
    const c = await h.connect();
    await c.login('user:v', 'v');
    await c.subscribePrivate('same');
    await c.subscribe('same'); // gpush: replied success without joining the room
    await h.send({ topic: 'same' }, 'public-1');
    await h.send({ uid: 'v', topic: 'same' }, 'private-1');
    assert.deepEqual(await c.sync(), ['public-1', 'private-1']);
    await c.unsubscribe('same');
    await h.send({ topic: 'same' }, 'public-2');
    await h.send({ uid: 'v', topic: 'same' }, 'private-2');
    assert.deepEqual(await c.sync(), ['private-2']);
    await c.subscribe('same');
    await c.unsubscribePrivate('same');
    await h.send({ topic: 'same' }, 'public-3');
    await h.send({ uid: 'v', topic: 'same' }, 'private-3');
    // gpush routing: a push to the user and topic also reaches the user's public subscription.
    assert.deepEqual(await c.sync(), ['public-3', 'private-3']);
    await closeAll(c);
  });

  it('logout drops private subscriptions (a later private push is not received) but keeps public ones', async () => {
    const c = await h.connect();
    await c.login('user:w', 'w');
    await c.subscribe('pub');
    await c.subscribePrivate('priv');
    await c.logout();
    assert.equal(h.node.hub.userCount, 0);
    await h.send({ uid: 'w', topic: 'priv' }, 'private-after-logout');
    await h.send({ uid: 'w' }, 'user-after-logout');
    await h.send({ topic: 'pub' }, 'public-after-logout');
    assert.deepEqual(await c.sync(), ['public-after-logout']);
    // Logging in again as the same user does not bring the private subscription back.
    await c.login('user:w', 'w');
    await h.send({ uid: 'w', topic: 'priv' }, 'private-after-relogin');
    assert.deepEqual(await c.sync(), []);
    await closeAll(c);
  });

  it('re-login as a different uid drops the old uid’s private subscriptions', async () => {
    const c = await h.connect();
    await c.login('user:old', 'old');
    await c.subscribePrivate('priv');
    await c.subscribe('pub');
    await c.login('user:new', 'new');
    await h.send({ uid: 'old', topic: 'priv' }, 'old-private');
    await h.send({ uid: 'old' }, 'old-user');
    await h.send({ uid: 'new', topic: 'priv' }, 'new-private-unsubscribed');
    await h.send({ topic: 'pub' }, 'public');
    assert.deepEqual(await c.sync(), ['public']);
    assert.equal(h.node.hub.userCount, 1);
    await c.subscribePrivate('priv');
    await h.send({ uid: 'new', topic: 'priv' }, 'new-private');
    assert.deepEqual(await c.sync(), ['new-private']);
    await closeAll(c);
  });

  it('re-login as the same uid keeps its private subscriptions', async () => {
    const c = await h.connect();
    await c.login('user:same', 'same');
    await c.subscribePrivate('priv');
    await c.login('user:same', 'same');
    await h.send({ uid: 'same', topic: 'priv' }, 'kept');
    assert.deepEqual(await c.sync(), ['kept']);
    await closeAll(c);
  });

  it('close removes the connection from every index (gpush leaked logged-in connections) and pushes still succeed', async () => {
    const c = await h.connect();
    const c2 = await h.connect();
    await c.login('user:gone', 'gone');
    await c.subscribe('pub');
    await c.subscribePrivate('priv');
    await c2.login('user:gone', 'gone');
    await c2.subscribePrivate('priv');
    assert.equal(h.node.hub.clientCount, 2);
    assert.equal(h.node.hub.userCount, 1);
    assert.equal(h.node.hub.topicCount, 1);
    assert.equal(h.node.hub.subscriptionCount, 3);
    c.terminate(); // abrupt: no close frame
    await waitUntil(() => h.node.hub.clientCount === 1, 'the hub to drop the terminated client');
    assert.equal(h.node.hub.userCount, 1);
    assert.equal(h.node.hub.topicCount, 0);
    assert.equal(h.node.hub.subscriptionCount, 1);
    await c2.close(); // clean close
    await waitUntil(() => h.node.hub.clientCount === 0, 'the hub to drop the closed client');
    assert.equal(h.node.hub.userCount, 0);
    assert.equal(h.node.hub.topicCount, 0);
    assert.equal(h.node.hub.subscriptionCount, 0);
    const before = h.node.hub.counters.drops;
    await h.send({ uid: 'gone', topic: 'priv' }, 'x');
    await h.send({ uid: 'gone' }, 'x');
    await h.send({ topic: 'pub' }, 'x');
    await h.send({}, 'x');
    assert.equal(h.node.hub.counters.drops, before, 'no delivery was attempted on a dead connection');
  });

  it('subscribing and unsubscribing several topics in any order keeps delivery exact (public and private; gpush routing)', async () => {
    const c = await h.connect();
    await c.login('user:multi', 'multi');
    const probe = async (): Promise<string[]> => {
      for (const t of ['a', 'b', 'c']) {
        await h.send({ topic: t }, `pub-${t}`);
        await h.send({ uid: 'multi', topic: t }, `priv-${t}`);
      }
      return c.sync();
    };
    for (const t of ['a', 'b', 'c']) await c.subscribe(t);
    await c.subscribePrivate('c');
    await c.subscribePrivate('a');
    assert.deepEqual(await probe(), ['pub-a', 'priv-a', 'pub-b', 'priv-b', 'pub-c', 'priv-c']);
    assert.equal(h.node.hub.subscriptionCount, 5);
    await c.unsubscribe('b');
    await c.unsubscribePrivate('c');
    assert.deepEqual(await probe(), ['pub-a', 'priv-a', 'pub-c', 'priv-c']);
    await c.unsubscribe('a');
    assert.deepEqual(await probe(), ['priv-a', 'pub-c', 'priv-c']);
    await c.subscribe('b');
    await c.subscribePrivate('b');
    assert.deepEqual(await probe(), ['priv-a', 'pub-b', 'priv-b', 'pub-c', 'priv-c']);
    await c.unsubscribe('c');
    await c.unsubscribe('b');
    await c.unsubscribePrivate('a');
    await c.unsubscribePrivate('b');
    assert.deepEqual(await probe(), []);
    assert.equal(h.node.hub.subscriptionCount, 0);
    assert.equal(h.node.hub.topicCount, 0);
    await c.subscribe('a');
    assert.deepEqual(await probe(), ['pub-a', 'priv-a']);
    await closeAll(c);
  });

  it('topic and uid names that are Object.prototype keys (__proto__, constructor, toString) route like any other', async () => {
    const c = await h.connect();
    await c.login('user:__proto__', '__proto__');
    for (const t of ['__proto__', 'constructor', 'toString', 'hasOwnProperty']) {
      await c.subscribe(t);
      await c.subscribePrivate(t);
    }
    const other = await h.connect();
    for (const t of ['__proto__', 'constructor', 'toString', 'hasOwnProperty']) {
      await h.send({ topic: t }, `pub-${t}`);
      await h.send({ uid: '__proto__', topic: t }, `priv-${t}`);
    }
    await h.send({ uid: 'constructor' }, 'nobody');
    assert.deepEqual(await c.sync(), [
      'pub-__proto__',
      'priv-__proto__',
      'pub-constructor',
      'priv-constructor',
      'pub-toString',
      'priv-toString',
      'pub-hasOwnProperty',
      'priv-hasOwnProperty',
    ]);
    assert.deepEqual(await other.sync(), []);
    await closeAll(c, other);
  });

  it('200 sequential pushes to one topic arrive in order', async () => {
    const c = await h.connect();
    await c.subscribe('seq');
    for (let i = 0; i < 200; i++) await h.send({ topic: 'seq' }, `m${i}`);
    const got = await c.sync();
    assert.deepEqual(got, Array.from({ length: 200 }, (_, i) => `m${i}`));
    await closeAll(c);
  });

  it('a batch of 200 pushes to one topic arrives in item order', async () => {
    const c = await h.connect();
    await c.subscribe('seq');
    const items = Array.from({ length: 200 }, (_, i) => ({ topic: 'seq', data: `b${i}` }));
    const res = await h.pushBatch(items);
    assert.equal(res.status, 200);
    assert.equal(res.json.accepted, 200);
    assert.equal(res.json.failed, 0);
    assert.deepEqual(await c.sync(), items.map((item) => item.data));
    await closeAll(c);
  });

  it('200 concurrent pushes to one topic each arrive exactly once', async () => {
    const c = await h.connect();
    await c.subscribe('conc');
    await Promise.all(Array.from({ length: 200 }, (_, i) => h.send({ topic: 'conc' }, `c${i}`)));
    const got = await c.sync();
    assert.equal(got.length, 200);
    assert.deepEqual(new Set(got), new Set(Array.from({ length: 200 }, (_, i) => `c${i}`)));
    await closeAll(c);
  });

  it('a payload that is not valid UTF-8 arrives as a BINARY frame with exact bytes; UTF-8 as a text frame', async () => {
    const c = await h.connect();
    await c.subscribe('bin');
    const bytes = Buffer.from([0xff, 0xfe, 0x00, 0x80]);
    await h.send({ topic: 'bin' }, bytes);
    let m = await c.next();
    assert.equal(m.isBinary, true);
    assert.deepEqual(m.data, bytes);
    const batch = await h.pushBatch([{ topic: 'bin', dataBase64: Buffer.from([0xc0, 0xaf]).toString('base64') }]);
    assert.equal(batch.status, 200);
    m = await c.next();
    assert.equal(m.isBinary, true);
    assert.deepEqual(m.data, Buffer.from([0xc0, 0xaf]));
    const text = '日本語 ✓ \u{1F600} {"k":1}';
    await h.send({ topic: 'bin' }, text);
    m = await c.next();
    assert.equal(m.isBinary, false);
    assert.equal(m.data.toString('utf8'), text);
    await h.send({ topic: 'bin' }, Buffer.alloc(0)); // empty payload: an empty text frame
    m = await c.next();
    assert.equal(m.isBinary, false);
    assert.equal(m.data.length, 0);
    await closeAll(c);
  });

  it('a large payload (500 KB) arrives intact', async () => {
    const c = await h.connect();
    await c.subscribe('large');
    const payload = Buffer.alloc(500 * 1024, 'abcdefghij');
    await h.send({ topic: 'large' }, payload);
    const m = await c.next();
    assert.equal(m.isBinary, false);
    assert.ok(m.data.equals(payload));
    await closeAll(c);
  });

  it('one push is counted as one delivery per receiver (hub.counters.deliveries)', async () => {
    const clients = await Promise.all(Array.from({ length: 5 }, () => h.connect()));
    for (const c of clients.slice(0, 3)) await c.subscribe('fan');
    const before = { ...h.node.hub.counters };
    await h.send({ topic: 'fan' }, 'fan-out');
    assert.equal(h.node.hub.counters.deliveries - before.deliveries, 3);
    assert.equal(h.node.hub.counters.publications - before.publications, 1);
    // Every receiver got the same frame: bytes counted = 3 × one frame (2-byte header + 7-byte payload).
    assert.equal(h.node.hub.counters.deliveredBytes - before.deliveredBytes, 3 * (2 + 'fan-out'.length));
    for (const c of clients.slice(0, 3)) assert.deepEqual(await c.sync(), ['fan-out']);
    for (const c of clients.slice(3)) assert.deepEqual(await c.sync(), []);
    await closeAll(...clients);
  });
});
