/**
 * The client SDK against a real HeraldNode (memory engine, 127.0.0.1):
 * subscriptions, deliveries, requests and their errors, login, and the gpush
 * mode. Reconnects and resume are in reconnect.test.ts.
 */
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import { HeraldConnectionError, HeraldError, type HeraldClient, type Message } from '../../src/client/index.js';
import { fakeVerifier, startNode, type TestNode } from '../helpers/herald-node.js';
import { makeClient, textOf, waitUntil } from './client-harness.js';

describe('client: herald.v1 against a node', { timeout: 60_000 }, () => {
  let h: TestNode;
  const clients: HeraldClient[] = [];
  const open = (options: Parameters<typeof makeClient>[0]) => {
    const made = makeClient(options);
    clients.push(made.client);
    return made;
  };

  before(async () => {
    h = await startNode({ verifier: fakeVerifier() });
  });
  afterEach(async () => {
    for (const c of clients.splice(0)) c.close();
    await h.closeClients();
  });
  after(() => h.stop());

  it('subscribes, receives text and binary pushes with topic and position, and stops after unsubscribe', async () => {
    const { client, record } = open({ url: h.wsUrl });
    const got: Message[] = [];
    const sub = client.subscribe('news', (m) => got.push(m));
    assert.equal(client.status, 'closed');
    client.connect();
    assert.equal(client.status, 'connecting');
    await sub.ready;
    assert.equal(client.status, 'open');
    assert.deepEqual(sub.position, { seq: 0, epoch: sub.position?.epoch }, 'a fresh subscription knows its stream position');

    await h.send({ topic: 'news' }, 'hello');
    await h.send({ topic: 'news' }, Buffer.from([0xff, 0x00, 0x01]));
    await waitUntil(() => got.length === 2, 'two pushes');
    assert.equal(got[0].data, 'hello');
    assert.equal(got[0].topic, 'news');
    assert.equal(got[0].seq, 1);
    assert.equal(typeof got[0].epoch, 'string');
    assert.ok(got[1].data instanceof Uint8Array);
    assert.deepEqual([...got[1].data], [0xff, 0x00, 0x01]);
    assert.equal(got[1].seq, 2);
    assert.deepEqual(sub.position, { seq: 2, epoch: got[0].epoch });
    assert.deepEqual(record.texts, ['hello', '0xff0001'], "the 'message' event sees every delivery too");

    await sub.unsubscribe();
    await h.send({ topic: 'news' }, 'after unsubscribe');
    // The node delivers to one connection in push order: once 'marker' arrives, anything for 'news' would have too.
    const marker: Message[] = [];
    await client.subscribe('marker', (m) => marker.push(m)).ready;
    await h.send({ topic: 'marker' }, 'marker');
    await waitUntil(() => marker.length === 1, 'the marker');
    assert.equal(got.length, 2);
    assert.deepEqual(record.texts, ['hello', '0xff0001', 'marker']);
    assert.deepEqual(record.statuses, ['connecting', 'open']);
    assert.deepEqual(record.errors, []);
  });

  it('shares one server subscription between handlers of a stream, each unsubscribing on its own', async () => {
    const { client } = open({ url: h.wsUrl });
    client.connect();
    const a: string[] = [];
    const b: string[] = [];
    const subA = client.subscribe('shared', (m) => a.push(textOf(m)));
    const subB = client.subscribe('shared', (m) => b.push(textOf(m)));
    await Promise.all([subA.ready, subB.ready]);
    await h.send({ topic: 'shared' }, 'one');
    await waitUntil(() => a.length === 1 && b.length === 1, 'both handlers');
    await subA.unsubscribe();
    await h.send({ topic: 'shared' }, 'two');
    await waitUntil(() => b.length === 2, 'the remaining handler');
    assert.deepEqual(a, ['one']);
    assert.deepEqual(b, ['one', 'two']);
    await subB.unsubscribe();
    assert.equal(h.node.hub.subscriptionCount, 0, 'the last handler unsubscribed the stream on the server');
  });

  it('matches concurrent requests by id and rejects a bad topic with a typed HeraldError 30004', async () => {
    const { client, record } = open({ url: h.wsUrl });
    client.connect();
    const good = client.subscribe('fine', () => {});
    const bad = client.subscribe('bad\u0001topic', () => {});
    const tooLong = client.subscribe('x'.repeat(300), () => {});
    const alsoGood = client.subscribe('also-fine', () => {});
    await good.ready;
    await alsoGood.ready;
    for (const refused of [bad, tooLong]) {
      await assert.rejects(refused.ready, (error: unknown) => {
        assert.ok(error instanceof HeraldError);
        assert.equal(error.code, 30004);
        assert.equal(typeof error.detail, 'string');
        return true;
      });
    }
    assert.equal(record.errors.length, 2, "each refusal is also an 'error' event");
    assert.ok(record.errors.every((e) => e instanceof HeraldError && e.code === 30004));
    assert.equal(h.node.hub.subscriptionCount, 2);
    await bad.unsubscribe(); // a refused subscription is gone: unsubscribing it is a no-op
  });

  it('logs in, subscribes privately after the login, and routes user and broadcast pushes to the message event', async () => {
    const { client, record } = open({ url: h.wsUrl });
    client.connect();
    const inbox: Message[] = [];
    const priv = client.subscribe('inbox', (m) => inbox.push(m), { private: true });
    const login = await client.login('user:alice');
    assert.deepEqual(login, { uid: 'alice' });
    await priv.ready;
    await h.send({ uid: 'alice', topic: 'inbox' }, 'secret');
    await h.send({ uid: 'alice' }, 'to alice');
    await h.send({}, 'to everyone');
    await waitUntil(() => record.messages.length === 3, 'three deliveries');
    assert.equal(inbox.length, 1);
    assert.equal(inbox[0].data, 'secret');
    assert.equal(inbox[0].private, true);
    const [, user, all] = record.messages;
    assert.equal(user.user, true);
    assert.equal(user.topic, undefined);
    assert.equal(all.all, true);

    await client.logout();
    await h.send({ uid: 'alice', topic: 'inbox' }, 'after logout');
    await h.send({}, 'marker');
    await waitUntil(() => record.messages.length === 4, 'the marker');
    assert.deepEqual(record.texts.slice(3), ['marker']);
    assert.equal(inbox.length, 1);
  });

  it('rejects a bad credential with HeraldError 30003, emits it, and refuses private subscriptions until a login succeeds', async () => {
    const { client, record } = open({ url: h.wsUrl });
    client.connect();
    await assert.rejects(client.login('nobody'), (error: unknown) => error instanceof HeraldError && error.code === 30003);
    assert.equal(record.errors.length, 1, 'a refused login is emitted as well as rejected');
    const priv = client.subscribe('inbox', () => {}, { private: true });
    await assert.rejects(priv.ready, (error: unknown) => error instanceof HeraldError && error.code === 30003);
    await client.subscribe('public', () => {}).ready;
    assert.equal(h.node.hub.subscriptionCount, 1, 'the private subscription waits for a login');
    await client.login('user:bob');
    await waitUntil(() => h.node.hub.subscriptionCount === 2, 'the kept private subscription sent after the login');
  });

  it('a private subscription with no token at all rejects with 30002 and emits error; login() later sends it', async () => {
    const { client, record } = open({ url: h.wsUrl });
    const priv = client.subscribe('inbox', () => {}, { private: true });
    client.connect();
    await assert.rejects(priv.ready, (error: unknown) => error instanceof HeraldError && error.code === 30002 && /options\.token|login\(\)/.test(error.message));
    assert.equal(record.errors.length, 1);
    assert.ok(record.errors[0] instanceof HeraldError && record.errors[0].code === 30002);
    // subscribe() then login() in the same turn is not refused.
    const second = client.subscribe('other', () => {}, { private: true });
    const login = client.login('user:dora');
    await login;
    await second.ready;
    await waitUntil(() => h.node.hub.subscriptionCount === 2, 'both private subscriptions on the server');
    assert.equal(record.errors.length, 1);
  });

  it('a login that fails on connect (bad token option, or a token function that rejects) rejects private subscriptions and emits error', async () => {
    for (const token of ['nobody', () => Promise.reject(new Error('token service down'))]) {
      const { client, record } = open({ url: h.wsUrl, token });
      const priv = client.subscribe('inbox', () => {}, { private: true });
      client.connect();
      await assert.rejects(priv.ready);
      await waitUntil(() => record.errors.length === 1, 'the error event');
      assert.equal(client.status, 'open', 'a failed login does not close the connection');
      client.close();
    }
  });

  it('close() is terminal: status closed, no reconnect, pending login rejected', async () => {
    const { client, record } = open({ url: h.wsUrl });
    client.connect();
    await client.subscribe('t', () => {}).ready;
    const pending = client.login('user:carol');
    client.close();
    await assert.rejects(pending, HeraldConnectionError);
    assert.equal(client.status, 'closed');
    await waitUntil(() => h.node.ws.connectionCount === 0, 'the node to see the close');
    assert.deepEqual(record.statuses, ['connecting', 'open', 'closed']);
  });
});

describe('client: gpush mode against a node', { timeout: 60_000 }, () => {
  let h: TestNode;
  let client: HeraldClient;
  before(async () => {
    h = await startNode({ verifier: fakeVerifier() });
  });
  afterEach(async () => {
    client?.close();
    await h.closeClients();
  });
  after(() => h.stop());

  it('delivers raw pushes to the message event only, matches replies in order, and types errors', async () => {
    const made = makeClient({ url: h.wsUrl, protocol: 'gpush' });
    client = made.client;
    const { record } = made;
    const handled: Message[] = [];
    client.connect();
    const sub = client.subscribe('g', (m) => handled.push(m));
    const bad = client.subscribe('', () => {});
    await sub.ready;
    await assert.rejects(bad.ready, (e: unknown) => e instanceof HeraldError && e.code === 30004);
    assert.deepEqual(await client.login('user:dave'), { uid: 'dave' });
    const priv = client.subscribe('mine', () => {}, { private: true });
    await priv.ready;

    await h.send({ topic: 'g' }, 'plain');
    await h.send({ topic: 'g' }, Buffer.from([0x80, 0x81]));
    await h.send({ topic: 'g' }, '{"code":1,"looks":"like a reply"}');
    await h.send({ uid: 'dave', topic: 'mine' }, 'private');
    await waitUntil(() => record.messages.length === 4, 'four deliveries');
    assert.deepEqual(record.texts, ['plain', '0x8081', '{"code":1,"looks":"like a reply"}', 'private']);
    assert.ok(record.messages.every((m) => m.topic === undefined && m.seq === undefined));
    assert.equal(handled.length, 0, 'gpush deliveries carry no topic: handlers are not called');

    await sub.unsubscribe();
    await h.send({ topic: 'g' }, 'gone');
    await h.send({ uid: 'dave', topic: 'mine' }, 'marker');
    await waitUntil(() => record.messages.length === 5, 'the marker');
    assert.equal(record.texts[4], 'marker');
    await client.logout();
    assert.equal(h.node.hub.subscriptionCount, 0);
  });
});
