/**
 * The SDK's token callbacks end to end against a real HeraldNode (memory
 * engine, 127.0.0.1) with namespaces and a JwtVerifier (real HS256 JWTs from
 * jose): subscription tokens fetched on refusal, 30009 at a token's expiry
 * → a new token and a resume that loses nothing, the login refreshed before
 * its expiry on the same connection with subscriptions intact, publish (op 9).
 */
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import { SignJWT } from 'jose';
import { JwtVerifier } from '../../src/auth/index.js';
import { HeraldError, type HeraldClient } from '../../src/client/index.js';
import { startNode, type TestNode } from '../helpers/herald-node.js';
import { SocketTracker, makeClient, textOf, waitUntil } from './client-harness.js';

const SECRET = 'sdk-e2e-secret-of-at-least-32-bytes!!';

function sign(claims: Record<string, unknown>, seconds: number): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT(claims)
    .setProtectedHeader({ alg: 'HS256' })
    .setIssuedAt(now)
    .setExpirationTime(now + seconds)
    .sign(new TextEncoder().encode(SECRET));
}

describe('client: token callbacks against a node', { timeout: 60_000 }, () => {
  let h: TestNode;
  const clients: HeraldClient[] = [];
  const open = (options: Parameters<typeof makeClient>[0]) => {
    const made = makeClient(options);
    clients.push(made.client);
    return made;
  };

  before(async () => {
    h = await startNode({
      verifier: new JwtVerifier({ secret: SECRET }),
      namespaces: [
        { topics: 'order:*', subscribe: 'token' },
        { topics: 'chat:*', publish: true },
      ],
    });
  });
  afterEach(async () => {
    for (const c of clients.splice(0)) c.close();
    await h.closeClients();
  });
  after(() => h.stop());

  it('fetches a subscription token when the node asks for one, and receives pushes', async () => {
    const calls: string[] = [];
    const { client, record } = open({
      url: h.wsUrl,
      getSubscriptionToken: (topic) => (calls.push(topic), sign({ sub: '', channel: topic }, 3600)),
    });
    const got: string[] = [];
    const sub = client.subscribe('order:1', (m) => got.push(textOf(m)));
    client.connect();
    await sub.ready;
    assert.deepEqual(calls, ['order:1']);
    await h.send({ topic: 'order:1' }, 'paid');
    await waitUntil(() => got.length === 1, 'the push');
    assert.deepEqual(got, ['paid']);
    assert.deepEqual(record.errors, []);
  });

  it('on 30009 (token expired) gets a new token and resumes: pushes made while unsubscribed arrive, once, in order', async () => {
    let release: (() => void) | undefined;
    let calls = 0;
    const getSubscriptionToken = async (topic: string): Promise<string> => {
      calls++;
      // First a token living 2 s; the next call comes after the node's 30009 and waits for the test.
      if (calls === 1) return sign({ sub: '', channel: topic }, 2);
      await new Promise<void>((resolve) => (release = resolve));
      return sign({ sub: '', channel: topic }, 3600);
    };
    const { client, record } = open({ url: h.wsUrl, getSubscriptionToken });
    const got: string[] = [];
    const sub = client.subscribe('order:2', (m) => got.push(textOf(m)));
    client.connect();
    await sub.ready;
    await h.send({ topic: 'order:2' }, 'one');
    await waitUntil(() => release !== undefined, 'the token to expire (30009) and the callback to be asked again');
    await h.send({ topic: 'order:2' }, 'two');
    await h.send({ topic: 'order:2' }, 'three');
    release?.();
    await waitUntil(() => got.length === 3, 'the replay of what was pushed meanwhile');
    await h.send({ topic: 'order:2' }, 'four');
    await waitUntil(() => got.length === 4, 'live again');
    assert.deepEqual(got, ['one', 'two', 'three', 'four']);
    assert.equal(calls, 2);
    assert.deepEqual(record.errors, []);
    assert.deepEqual(record.gaps, []);
    assert.deepEqual(record.statuses, ['connecting', 'open'], 'no reconnect');
  });

  it('refreshes the login before it expires on the same connection; private and token subscriptions survive', async () => {
    const tracker = new SocketTracker();
    let logins = 0;
    // 8 s of life: the refresh is due 5 s before expiry (85 % would be later), i.e. about 3 s in.
    const token = () => (logins++, sign({ sub: 'alice' }, 8));
    const { client, record } = open({
      url: h.wsUrl,
      WebSocket: tracker.WebSocket,
      token,
      getSubscriptionToken: (topic) => sign({ sub: 'alice', channel: topic }, 3600),
    });
    const inbox: string[] = [];
    const orders: string[] = [];
    const a = client.subscribe('inbox', (m) => inbox.push(textOf(m)), { private: true });
    const b = client.subscribe('order:3', (m) => orders.push(textOf(m)));
    client.connect();
    await Promise.all([a.ready, b.ready]);
    assert.equal(logins, 1);
    await waitUntil(() => logins === 2, 'the refresh login');
    // A subscribe answered after the refresh's login reply: the node has handled that login by then.
    await client.subscribe('marker', () => {}).ready;
    await h.send({ uid: 'alice', topic: 'inbox' }, 'private after refresh');
    await h.send({ topic: 'order:3' }, 'order after refresh');
    await waitUntil(() => inbox.length === 1 && orders.length === 1, 'both pushes');
    assert.equal(tracker.sockets.length, 1, 'no reconnect');
    assert.deepEqual(record.statuses, ['connecting', 'open']);
    assert.deepEqual(record.errors, [], 'no 30006, no refusal');
  });

  it('gpush protocol: the token is fetched and sent the same way (replies matched in order)', async () => {
    const calls: string[] = [];
    const { client, record } = open({
      url: h.wsUrl,
      protocol: 'gpush',
      getSubscriptionToken: (topic) => (calls.push(topic), sign({ sub: '', channel: topic }, 3600)),
    });
    client.connect();
    await client.subscribe('order:9', () => {}).ready;
    await h.send({ topic: 'order:9' }, 'gpush push');
    await waitUntil(() => record.messages.length === 1, 'the push on the message event');
    assert.equal(record.texts[0], 'gpush push');
    assert.deepEqual(calls, ['order:9']);
    assert.deepEqual(record.errors, []);
  });

  it('publish() resolves on 20009 and the topic gets the JSON; refused with 30008 and the reason elsewhere', async () => {
    const { client } = open({ url: h.wsUrl });
    const got: string[] = [];
    client.connect();
    await client.subscribe('chat:1', (m) => got.push(textOf(m))).ready;
    await client.publish('chat:1', { text: 'hi' });
    await waitUntil(() => got.length === 1, 'the publication');
    assert.deepEqual(JSON.parse(got[0]), { text: 'hi' });
    const refused = await client.publish('news', 1).then(
      () => undefined,
      (error: unknown) => error,
    );
    assert.ok(refused instanceof HeraldError);
    assert.equal(refused.code, 30008);
    assert.equal(refused.detail, 'publish not allowed');
  });
});
