/**
 * The SDK's subscription tokens and client-side publish against a scripted
 * herald.v1 server (token-server.ts: real JWTs, verified with jose):
 * `getSubscriptionToken` after a refusal, the single retry, tokens kept and
 * refreshed across reconnects, 30009 → new token and a resume that loses
 * nothing, `publish()`.
 */
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import { SignJWT } from 'jose';
import { HeraldError, type HeraldClient, type Message } from '../../src/client/index.js';
import { SocketTracker, makeClient, textOf, waitUntil } from './client-harness.js';
import { SECRET, TokenServer, sign } from './token-server.js';

describe('client: subscription tokens and publish', { timeout: 60_000 }, () => {
  let server: TokenServer;
  const clients: HeraldClient[] = [];
  const open = (options: Parameters<typeof makeClient>[0]) => {
    const made = makeClient(options);
    clients.push(made.client);
    return made;
  };
  /** A getSubscriptionToken that signs a token for the asked topic (lifetime `seconds`) and records the calls. */
  const tokenSource = (seconds = 3600, claims: Record<string, unknown> = {}) => {
    const calls: string[] = [];
    const callback = async (topic: string) => {
      calls.push(topic);
      return sign({ sub: '', channel: topic, ...claims }, seconds);
    };
    return { calls, callback };
  };

  before(async () => {
    server = await new TokenServer().start();
  });
  afterEach(() => {
    for (const c of clients.splice(0)) c.close();
    server.commands.length = 0;
  });
  after(() => server.stop());

  it('asks getSubscriptionToken when a subscribe is refused for a missing token, and subscribes with it', async () => {
    const tokens = tokenSource();
    const { client, record } = open({ url: server.url, getSubscriptionToken: tokens.callback });
    const got: Message[] = [];
    const sub = client.subscribe('order:1', (m) => got.push(m));
    const plain = client.subscribe('news', () => {});
    client.connect();
    await Promise.all([sub.ready, plain.ready]);
    assert.deepEqual(tokens.calls, ['order:1'], 'asked once, only for the topic that needs a token');
    const sent = server.subscribes('order:1');
    assert.equal(sent.length, 2);
    assert.equal(sent[0].token, undefined);
    assert.equal(typeof sent[1].token, 'string');
    assert.equal(server.subscribes('news')[0].token, undefined);
    server.push('order:1', 'shipped');
    await waitUntil(() => got.length === 1, 'the push');
    assert.equal(got[0].data, 'shipped');
    assert.deepEqual(record.errors, []);
  });

  it('sends a token given to subscribe() without asking the callback', async () => {
    const tokens = tokenSource();
    const { client, record } = open({ url: server.url, getSubscriptionToken: tokens.callback });
    const token = await sign({ sub: '', channel: 'order:2' }, 3600);
    client.connect();
    await client.subscribe('order:2', () => {}, { token }).ready;
    assert.deepEqual(tokens.calls, []);
    assert.deepEqual(server.subscribes('order:2').map((c) => c.token), [token]);
    assert.deepEqual(record.errors, []);
  });

  it('retries once: a fresh token refused again fails the subscription (ready rejects, error event)', async () => {
    const tokens = tokenSource(3600, { channel: 'order:other' });
    const { client, record } = open({ url: server.url, getSubscriptionToken: tokens.callback });
    client.connect();
    const sub = client.subscribe('order:3', () => {});
    await assert.rejects(sub.ready, (e: HeraldError) => e instanceof HeraldError && e.code === 30003 && e.detail === 'subscription token is for another channel');
    assert.equal(tokens.calls.length, 1);
    assert.equal(server.subscribes('order:3').length, 2, 'the first without a token, the retry with one; no third');
    assert.equal(record.errors.length, 1);
  });

  it('without a callback a token refusal is final', async () => {
    const { client, record } = open({ url: server.url });
    client.connect();
    await assert.rejects(client.subscribe('order:4', () => {}).ready, (e: HeraldError) => e.code === 30003 && e.detail === 'subscription token missing');
    assert.equal(server.subscribes('order:4').length, 1);
    assert.equal(record.errors.length, 1);
  });

  it('a callback that rejects fails the subscription with an error naming the topic', async () => {
    const { client, record } = open({ url: server.url, getSubscriptionToken: () => Promise.reject(new Error('backend down')) });
    client.connect();
    await assert.rejects(client.subscribe('order:5', () => {}).ready, /getSubscriptionToken\("order:5"\) rejected/);
    assert.equal((record.errors[0].cause as Error).message, 'backend down');
  });

  it('on 30009 asks for a new token and resubscribes with since: nothing published meanwhile is lost', async () => {
    let gate: (() => void) | undefined;
    const tokens = tokenSource();
    const callback = async (topic: string) => {
      // The second call (after 30009) waits until the test has published while the client was not subscribed.
      if (tokens.calls.length === 1) await new Promise<void>((resolve) => (gate = resolve));
      return tokens.callback(topic);
    };
    const { client, record } = open({ url: server.url, getSubscriptionToken: callback });
    const got: string[] = [];
    const sub = client.subscribe('order:6', (m) => got.push(textOf(m)));
    client.connect();
    await sub.ready;
    server.push('order:6', 'one');
    await waitUntil(() => got.length === 1, 'the first push');
    server.expire('order:6');
    await waitUntil(() => gate !== undefined, 'the callback asked again after 30009');
    server.push('order:6', 'two');
    server.push('order:6', 'three');
    gate?.();
    await waitUntil(() => got.length === 3, 'the pushes made while expired, replayed');
    server.push('order:6', 'four');
    await waitUntil(() => got.length === 4, 'live again');
    assert.deepEqual(got, ['one', 'two', 'three', 'four']);
    const resub = server.subscribes('order:6').at(-1) as Record<string, unknown>;
    assert.deepEqual(resub.since, { seq: 1, epoch: 'Ep0chTst' }, 'resumed from the last position seen');
    assert.equal(tokens.calls.length, 2);
    assert.deepEqual(record.errors, []);
    assert.deepEqual(record.gaps, []);
  });

  it('after a reconnect re-sends a token still fresh, and fetches a new one for a token past its refresh point', async () => {
    const tracker = new SocketTracker();
    const fresh = tokenSource(3600);
    // 4 s of life: past its refresh point (5 s before expiry) at once, yet still valid.
    const shortLived = await sign({ sub: '', channel: 'order:8' }, 4);
    const { client, record } = open({ url: server.url, WebSocket: tracker.WebSocket, reconnect: { baseMs: 1, maxMs: 1 }, getSubscriptionToken: fresh.callback });
    const a = client.subscribe('order:7', () => {});
    const b = client.subscribe('order:8', () => {}, { token: shortLived });
    client.connect();
    await Promise.all([a.ready, b.ready]);
    assert.deepEqual(fresh.calls, ['order:7']);
    const firstToken = server.subscribes('order:7')[1].token;
    const before7 = server.subscribes('order:7').length;
    const before8 = server.subscribes('order:8').length;
    // The scripted server accepts any path (SocketTracker's block needs a real node): drop, and let it reconnect.
    tracker.last.terminate();
    await waitUntil(() => server.subscribes('order:7').length > before7 && server.subscribes('order:8').length > before8, 'both resubscribed');
    assert.equal(tracker.sockets.length, 2);
    assert.equal(server.subscribes('order:7').at(-1)?.token, firstToken, 'the fresh token is sent again, no callback');
    assert.notEqual(server.subscribes('order:8').at(-1)?.token, shortLived, 'the stale one is replaced');
    assert.deepEqual(fresh.calls, ['order:7', 'order:8']);
    assert.equal(server.subscribes('order:8').length, before8 + 1, 'fetched before sending: no refused round trip');
    assert.deepEqual(record.errors, []);
  });

  it('a refused login refresh keeps the connection logged in, is reported, and is tried again; close() clears the timer', async () => {
    let logins = 0;
    // 6 s of life: due 5 s before expiry, so 1 s after the login; the refresh's token is garbage.
    const token = async () => (++logins === 1 ? sign({ sub: 'alice' }, 6) : 'not-a-jwt');
    const { client, record } = open({ url: server.url, token });
    const loginFlow = (client as unknown as { loginFlow: { session: string; refreshScheduled: boolean } }).loginFlow;
    client.connect();
    await client.subscribe('news', () => {}).ready;
    assert.equal(loginFlow.refreshScheduled, true, 'a refresh is scheduled after the login');
    await waitUntil(() => record.errors.length === 1, 'the failed refresh reported');
    assert.match(record.errors[0].message, /refreshing the login failed/);
    const cause = record.errors[0].cause as HeraldError;
    assert.equal(cause.code, 30003);
    assert.equal(loginFlow.session, 'in', 'the old login stays');
    assert.equal(loginFlow.refreshScheduled, true, 'tried again later');
    await client.subscribe('after', () => {}).ready;
    client.close();
    assert.equal(loginFlow.refreshScheduled, false);
  });

  it('schedules no refresh for a fixed token string (nothing new to send) or a token without exp', async () => {
    const fixed = open({ url: server.url, token: await sign({ sub: 'alice' }, 3600) });
    const noExp = open({ url: server.url, token: () => new SignJWT({ sub: 'bob' }).setProtectedHeader({ alg: 'HS256' }).sign(SECRET) });
    for (const { client } of [fixed, noExp]) {
      client.connect();
      await client.subscribe('news', () => {}).ready;
      const loginFlow = (client as unknown as { loginFlow: { session: string; refreshScheduled: boolean } }).loginFlow;
      assert.equal(loginFlow.session, 'in');
      assert.equal(loginFlow.refreshScheduled, false);
    }
  });

  it('refuses a getSubscriptionToken that is not a function and a subscribe token that is not a non-empty string', () => {
    assert.throws(() => open({ url: server.url, getSubscriptionToken: 'tok' as unknown as () => string }), /getSubscriptionToken must be a function/);
    const { client } = open({ url: server.url });
    assert.throws(() => client.subscribe('order:1', () => {}, { token: '' }), TypeError);
    assert.throws(() => client.subscribe('order:1', () => {}, { token: 7 as unknown as string }), TypeError);
  });

  it('publish() resolves on 20009 and subscribers get the JSON; 30008 rejects with code and detail', async () => {
    const { client } = open({ url: server.url });
    const got: string[] = [];
    client.connect();
    await client.subscribe('chat:1', (m) => got.push(textOf(m))).ready;
    await client.publish('chat:1', { text: 'hi', n: 1 });
    await waitUntil(() => got.length === 1, 'the published message');
    assert.deepEqual(JSON.parse(got[0]), { text: 'hi', n: 1 });
    const publishes = server.commands.filter((c) => c.code === 9);
    assert.deepEqual(publishes[0].data, { text: 'hi', n: 1 });
    await assert.rejects(client.publish('news', 'x'), (e: HeraldError) => {
      assert.ok(e instanceof HeraldError);
      assert.equal(e.code, 30008);
      assert.equal(e.detail, 'publish not allowed');
      return true;
    });
  });

  it('publish() refuses data that is not JSON at once, and gpush mode', async () => {
    const { client } = open({ url: server.url });
    assert.throws(() => client.publish('chat:1', undefined), TypeError);
    assert.throws(() => client.publish('chat:1', { n: 1n }), TypeError);
    assert.throws(() => client.publish(1 as unknown as string, 'x'), TypeError);
    await assert.rejects(client.publish('chat:1', 'x'), (e: Error) => e.name === 'HeraldConnectionError', 'not connected');
    const gpush = open({ url: server.url, protocol: 'gpush' }).client;
    await assert.rejects(gpush.publish('chat:1', 'x'), /herald\.v1/);
  });
});
