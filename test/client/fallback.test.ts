/**
 * The SDK's HTTP-stream fallback as a state machine, in Node: a WebSocket
 * server that refuses upgrades (403) until told otherwise, and a fake
 * `fetch` whose NDJSON responses the test writes. N failed upgrades → the
 * stream (with subscriptions, positions and the token); subscribe/unsubscribe
 * on the stream → a new request with the new set; WebSocket-only operations
 * refused; upgrades allowed again → back to WebSocket, resuming.
 * (test/client/fallback-e2e.test.ts runs the same against a real node.)
 */
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { HeraldClient, HeraldConnectionError, type ClientTransport, type Message } from '../../src/client/index.js';
import { makeClient, waitUntil } from './client-harness.js';
import { FakeStreamFetch, GatedWsServer } from './fallback-harness.js';

const FAST = { baseMs: 5, maxMs: 20 };
const clients: HeraldClient[] = [];
const servers: GatedWsServer[] = [];

afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  for (const s of servers.splice(0)) await s.close();
});

async function setup(options: { afterFailures?: number; retryWebSocketMs?: number; token?: string } = {}) {
  const server = await new GatedWsServer().start();
  servers.push(server);
  const fake = new FakeStreamFetch();
  const { client, record } = makeClient({
    url: server.url,
    reconnect: FAST,
    heartbeatMs: 0,
    ...(options.token === undefined ? {} : { token: options.token }),
    fallback: { afterFailures: options.afterFailures ?? 3, retryWebSocketMs: options.retryWebSocketMs ?? 600_000, fetch: fake.fetch },
  });
  clients.push(client);
  const transports: ClientTransport[] = [];
  client.on('transport', (t) => transports.push(t));
  return { server, fake, client, record, transports };
}

describe('client fallback to HTTP streaming', { timeout: 30_000 }, () => {
  it('after N failed upgrades in a row, streams with its subscriptions and token, and keeps delivering to the same handlers', async () => {
    const { server, fake, client, record, transports } = await setup({ afterFailures: 3, token: 'tok' });
    const got: Message[] = [];
    const sub = client.subscribe('news', (m) => got.push(m));
    client.connect();
    await waitUntil(() => fake.requests.length === 1, 'the stream request');
    assert.equal(server.refused, 3, 'exactly N upgrades were tried');
    assert.equal(client.transport, 'stream');
    assert.deepEqual(transports, ['stream']);
    assert.equal(fake.last.url, server.url.replace('ws://', 'http://').replace('/ws', '/v1/stream'));
    assert.deepEqual(fake.last.body, { token: 'tok', subscriptions: [{ topic: 'news', since: { seq: 0, epoch: '?' } }] });
    await sub.ready;
    await waitUntil(() => client.status === 'open', 'status open on the stream');
    fake.last.line({ topic: 'news', seq: 1, epoch: 'E', data: 'one' });
    fake.last.line('');
    fake.last.line({ topic: 'news', seq: 2, epoch: 'E', data: 'two' });
    fake.last.line({ user: true, data: 'for alice' });
    await waitUntil(() => record.messages.length === 3, 'three deliveries');
    assert.deepEqual(got.map((m) => m.data), ['one', 'two']);
    assert.deepEqual(sub.position, { seq: 2, epoch: 'E' });
    assert.deepEqual(record.errors, []);
  });

  it('a stream request that cannot reach the server at all sends the client back to WebSocket attempts, not to the stream for retryWebSocketMs', async () => {
    const { server, fake, client, transports } = await setup({ afterFailures: 2 });
    fake.unreachable = true;
    client.subscribe('news', () => {});
    client.connect();
    await waitUntil(() => fake.requests.length >= 1, 'the stream request');
    // The failed stream says the server is down, not that WebSocket is blocked: upgrades are tried again.
    await waitUntil(() => server.refused > 2, 'WebSocket tried again after the stream failed');
    assert.equal(transports[0], 'stream');
    assert.equal(transports[1], 'websocket');
    server.refusing = false;
    await waitUntil(() => client.status === 'open' && client.transport === 'websocket', 'open over WebSocket');
  });

  it('subscribe and unsubscribe on the stream reopen it with the new set, positions carried; the old request ends', async () => {
    const { fake, client, record } = await setup({ afterFailures: 1 });
    const news = client.subscribe('news', () => {});
    client.connect();
    await news.ready;
    fake.last.line({ topic: 'news', seq: 5, epoch: 'E', data: 'five' });
    await waitUntil(() => record.messages.length === 1, 'a delivery');
    const first = fake.last;
    const got: string[] = [];
    const sports = client.subscribe('sports', (m) => got.push(String(m.data)));
    await waitUntil(() => fake.requests.length === 2, 'a second request');
    assert.equal(first.aborted, true);
    assert.deepEqual(fake.last.body.subscriptions, [
      { topic: 'news', since: { seq: 5, epoch: 'E' } },
      { topic: 'sports', since: { seq: 0, epoch: '?' } },
    ]);
    await sports.ready;
    fake.last.line({ topic: 'sports', seq: 1, epoch: 'E', data: 'goal' });
    // A replayed publication the client already has is dropped.
    fake.last.line({ topic: 'news', seq: 5, epoch: 'E', data: 'five' });
    await waitUntil(() => got.length === 1, 'the new topic delivered');
    await news.unsubscribe();
    await waitUntil(() => fake.requests.length === 3, 'a third request');
    assert.deepEqual(fake.last.body.subscriptions, [{ topic: 'sports', since: { seq: 1, epoch: 'E' } }]);
    assert.equal(fake.live.length, 1, 'one request at a time');
    assert.deepEqual(record.texts, ['five', 'goal']);
  });

  it('several changes in one turn make one new request', async () => {
    const { fake, client } = await setup({ afterFailures: 1 });
    await (client.connect(), client.subscribe('a', () => {}).ready);
    client.subscribe('b', () => {});
    client.subscribe('c', () => {});
    await waitUntil(() => fake.requests.length === 2, 'the new request');
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(fake.requests.length, 2);
    assert.deepEqual(fake.last.body.subscriptions.map((s) => s.topic), ['a', 'b', 'c']);
  });

  it('publish and presence reject with a clear error while on the stream', async () => {
    const { client } = await setup({ afterFailures: 1 });
    await (client.connect(), client.subscribe('a', () => {}).ready);
    await assert.rejects(client.publish('a', { x: 1 }), (e: Error) => e instanceof HeraldConnectionError && /needs a WebSocket/.test(e.message));
    await assert.rejects(client.presence('a'), /needs a WebSocket/);
    await assert.rejects(client.presenceStats('a'), /needs a WebSocket/);
  });

  it('a resume the history cannot cover is a gap event, as on WebSocket', async () => {
    const { fake, client, record } = await setup({ afterFailures: 1 });
    await (client.connect(), client.subscribe('a', () => {}).ready);
    fake.last.line({ topic: 'a', seq: 3, epoch: 'E', data: 'x' });
    await waitUntil(() => record.messages.length === 1, 'a delivery');
    fake.autoAnswer = false;
    fake.last.end(); // the server went away: a new request, resuming from seq 3
    await waitUntil(() => fake.requests.length === 2, 'the new request');
    assert.deepEqual(fake.last.body.subscriptions, [{ topic: 'a', since: { seq: 3, epoch: 'E' } }]);
    fake.last.line({ code: 20001, message: 'subscribed', topic: 'a', recovered: false, position: { seq: 0, epoch: 'NEW' } });
    await waitUntil(() => record.gaps.length === 1, 'the gap');
    assert.deepEqual(record.gaps, [{ topic: 'a', private: false, position: { seq: 0, epoch: 'NEW' } }]);
  });

  it('a close line with a terminal code closes the client; a reconnectable one makes a new request', async () => {
    const { fake, client, record } = await setup({ afterFailures: 1 });
    await (client.connect(), client.subscribe('a', () => {}).ready);
    fake.last.line({ code: 4100, message: 'disconnected by server', close: true });
    await waitUntil(() => fake.requests.length === 2 && client.status === 'open', 'a new request after 4100');
    fake.last.line({ code: 4500, message: 'banned', close: true });
    await waitUntil(() => client.status === 'closed', 'closed after 4500');
    assert.ok(record.errors.some((e) => e instanceof HeraldConnectionError && e.closeCode === 4500));
  });

  it('a refused stream request is reported and tried again with backoff', async () => {
    const { fake, client, record } = await setup({ afterFailures: 1 });
    fake.status = 403;
    client.subscribe('a', () => {});
    client.connect();
    await waitUntil(() => fake.requests.length >= 2, 'a second try');
    assert.match(record.errors[0]?.message ?? '', /refused: 403 origin not allowed/);
    fake.status = 200;
    await waitUntil(() => client.status === 'open', 'open once answered 200');
  });

  it('goes back to WebSocket once an upgrade succeeds: resubscribes with since, ends the stream, no loss or duplicate', async () => {
    const { server, fake, client, record, transports } = await setup({ afterFailures: 2, retryWebSocketMs: 50 });
    const got: string[] = [];
    const sub = client.subscribe('news', (m) => got.push(String(m.data)));
    client.connect();
    await sub.ready;
    fake.last.line({ topic: 'news', seq: 1, epoch: 'E', data: 'one' });
    fake.last.line({ topic: 'news', seq: 2, epoch: 'E', data: 'two' });
    await waitUntil(() => got.length === 2, 'deliveries on the stream');
    const refusedBefore = server.refused;
    // Tries while still refused keep the stream.
    await waitUntil(() => server.refused > refusedBefore, 'a WebSocket try refused');
    assert.equal(client.transport, 'stream');
    server.refusing = false;
    await waitUntil(() => client.transport === 'websocket' && server.commands.length === 1, 'back on WebSocket');
    assert.deepEqual(transports, ['stream', 'websocket']);
    assert.equal(fake.last.aborted, true);
    assert.equal(fake.live.length, 0);
    assert.deepEqual(server.commands[0], { code: 1, topic: 'news', since: { seq: 2, epoch: 'E' }, id: server.commands[0]?.id });
    // An overlap (a publication the stream delivered, sent again) is dropped.
    server.deliver({ topic: 'news', seq: 2, epoch: 'E', data: 'two' });
    server.deliver({ topic: 'news', seq: 3, epoch: 'E', data: 'three' });
    await waitUntil(() => got.length === 3, 'the next delivery over WebSocket');
    assert.deepEqual(got, ['one', 'two', 'three']);
    assert.equal(client.status, 'open');
    await client.publish('news', 'ok'); // WebSocket operations work again
    assert.deepEqual(record.errors, []);
  });

  it('login on the stream: a token function per request, 30006 reopens with a fresh token, logout drops the private topics', async () => {
    const server = await new GatedWsServer().start();
    servers.push(server);
    const fake = new FakeStreamFetch();
    let issued = 0;
    const { client, record } = makeClient({
      url: server.url,
      reconnect: FAST,
      heartbeatMs: 0,
      token: () => `tok-${++issued}`,
      fallback: { afterFailures: 1, fetch: fake.fetch },
    });
    clients.push(client);
    const inbox = client.subscribe('inbox', () => {}, { private: true });
    client.subscribe('news', () => {});
    client.connect();
    await inbox.ready;
    assert.deepEqual(fake.last.body, {
      token: 'tok-1',
      subscriptions: [
        { topic: 'inbox', private: true, since: { seq: 0, epoch: '?' } },
        { topic: 'news', since: { seq: 0, epoch: '?' } },
      ],
    });
    fake.last.line({ code: 30006, message: 'session expired' });
    await waitUntil(() => fake.requests.length === 2, 'a new request after 30006');
    assert.equal(fake.last.body.token, 'tok-2');
    assert.deepEqual(fake.last.body.subscriptions.map((s) => s.topic), ['inbox', 'news']);
    await waitUntil(() => client.status === 'open', 'open again');
    await client.logout();
    await waitUntil(() => fake.requests.length === 3, 'a new request after logout');
    assert.deepEqual(fake.last.body, { subscriptions: [{ topic: 'news', since: { seq: 0, epoch: 'E' } }] });
    assert.deepEqual(await client.login('tok-manual'), { uid: 'alice' });
    assert.equal(fake.requests.length, 4);
    assert.equal(fake.last.body.token, 'tok-manual');
    assert.ok(record.errors.every((e) => /30006|session expired/.test(e.message)), record.errors.map((e) => e.message).join('; '));
  });

  it('is off with fallback: false and in gpush mode: the client keeps trying WebSocket', async () => {
    const server = await new GatedWsServer().start();
    servers.push(server);
    const fake = new FakeStreamFetch();
    for (const options of [{ fallback: false as const }, { protocol: 'gpush' as const, fallback: { afterFailures: 1, fetch: fake.fetch } }]) {
      const { client } = makeClient({ url: server.url, reconnect: FAST, heartbeatMs: 0, ...options });
      clients.push(client);
      const before = server.refused;
      client.connect();
      await waitUntil(() => server.refused >= before + 4, 'several refused upgrades');
      client.close();
      assert.equal(client.transport, 'websocket');
    }
    assert.equal(fake.requests.length, 0);
  });
});
