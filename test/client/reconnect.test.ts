/**
 * The client SDK across connection loss, against real servers on 127.0.0.1:
 * reconnect after a node restart (new epoch → gap), resume with no loss and no
 * duplicate after a dropped connection, login and private subscriptions
 * restored, terminal close codes, and the heartbeat. Waits are event-driven;
 * the only fixed sleeps check that something did NOT happen, or let the
 * heartbeat run.
 */
import assert from 'node:assert/strict';
import { after, afterEach, describe, it } from 'node:test';
import WebSocket from 'ws';
import { HeraldConnectionError, type HeraldClient, type Message } from '../../src/client/index.js';
import type { LoginVerifier } from '../../src/auth/login-verifier.js';
import { fakeVerifier, startNode, type TestNode } from '../helpers/herald-node.js';
import { BareServers, SocketTracker, makeClient, sleep, textOf, waitUntil } from './client-harness.js';

/** Fast backoff for tests: every retry within 50 ms. */
const FAST = { baseMs: 10, maxMs: 50 };

const clients: HeraldClient[] = [];
const nodes: TestNode[] = [];
const bare = new BareServers();
const bareServer = (onConnection: Parameters<BareServers['start']>[0]) => bare.start(onConnection);

function client(options: Parameters<typeof makeClient>[0]) {
  const made = makeClient({ reconnect: FAST, ...options });
  clients.push(made.client);
  return made;
}

async function node(options: Parameters<typeof startNode>[0] = {}): Promise<TestNode> {
  const h = await startNode(options);
  nodes.push(h);
  return h;
}


afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  for (const h of nodes.splice(0)) await h.stop();
  await bare.closeAll();
});

describe('client: reconnect after a node restart', { timeout: 60_000 }, () => {
  it('goes reconnecting → open by itself, resubscribes, reports the gap of the new epoch, and receives new pushes', async () => {
    const first = await node();
    const { client: c, record } = client({ url: first.wsUrl });
    const got: Message[] = [];
    const sub = c.subscribe('news', (m) => got.push(m));
    c.connect();
    await sub.ready;
    await first.send({ topic: 'news' }, 'before');
    await waitUntil(() => got.length === 1, 'the first push');
    const oldEpoch = got[0].epoch;

    await first.stop();
    nodes.splice(nodes.indexOf(first), 1);
    await waitUntil(() => c.status === 'reconnecting', 'reconnecting');
    const second = await node({ wsPort: first.wsPort });
    await waitUntil(() => record.gaps.length === 1, 'the gap event');
    assert.equal(c.status, 'open');
    const [gap] = record.gaps;
    assert.equal(gap.topic, 'news');
    assert.equal(gap.private, false);
    assert.notEqual(gap.position.epoch, oldEpoch, 'a restarted memory engine has a new epoch');
    assert.equal(gap.position.seq, 0);

    await second.send({ topic: 'news' }, 'after');
    await waitUntil(() => got.length === 2, 'the push after the restart');
    assert.equal(got[1].data, 'after');
    assert.equal(got[1].seq, 1);
    assert.equal(got[1].epoch, gap.position.epoch);
    assert.deepEqual(sub.position, { seq: 1, epoch: gap.position.epoch });
    assert.deepEqual(record.statuses, ['connecting', 'open', 'reconnecting', 'open']);
    assert.deepEqual(record.errors, []);
  });
});

describe('client: resume without a restart', { timeout: 60_000 }, () => {
  it('delivers every push exactly once and in order across a dropped connection', async () => {
    const h = await node();
    const tracker = new SocketTracker();
    const { client: c, record } = client({ url: h.wsUrl, WebSocket: tracker.WebSocket });
    const got: string[] = [];
    const seqs: number[] = [];
    const sub = c.subscribe('feed', (m) => {
      got.push(textOf(m));
      seqs.push(m.seq as number);
    });
    c.connect();
    await sub.ready;
    const expected: string[] = [];
    const push = async (text: string) => {
      expected.push(text);
      await h.send({ topic: 'feed' }, text);
    };
    for (let i = 1; i <= 10; i++) await push(`m${i}`);
    await waitUntil(() => got.length === 10, 'the first ten');

    tracker.dropAndBlock();
    await waitUntil(() => c.status === 'reconnecting', 'reconnecting');
    for (let i = 11; i <= 20; i++) await push(`m${i}`); // while no connection exists
    await waitUntil(() => tracker.sockets.length >= 3, 'a failed reconnect attempt');
    assert.equal(c.status, 'reconnecting');
    tracker.unblock();
    for (let i = 21; i <= 40; i++) await push(`m${i}`); // around the reconnect and resubscribe
    await waitUntil(() => got.length >= 40, 'all forty');
    await push('end');
    await waitUntil(() => got.includes('end'), 'the last push');

    assert.deepEqual(got, expected, 'no loss, no duplicate, in order');
    assert.deepEqual(seqs, expected.map((_, i) => i + 1));
    assert.deepEqual(record.gaps, []);
    assert.deepEqual(record.errors, []);
    assert.equal(record.statuses.filter((s) => s === 'open').length, 2);
  });

  it('resumes a subscription dropped before its first delivery (its position comes from the subscribe reply)', async () => {
    const h = await node();
    const tracker = new SocketTracker();
    const { client: c, record } = client({ url: h.wsUrl, WebSocket: tracker.WebSocket });
    const got: string[] = [];
    const sub = c.subscribe('quiet', (m) => got.push(textOf(m)));
    c.connect();
    await sub.ready;
    tracker.dropAndBlock();
    await waitUntil(() => c.status === 'reconnecting', 'reconnecting');
    await h.send({ topic: 'quiet' }, 'while away');
    tracker.unblock();
    await waitUntil(() => got.length === 1, 'the push made while away');
    assert.deepEqual(got, ['while away']);
    assert.deepEqual(record.gaps, []);
  });

  it('reports a gap when the history no longer reaches back, and continues live without duplicates', async () => {
    const h = await node({ historySize: 5 });
    const tracker = new SocketTracker();
    const { client: c, record } = client({ url: h.wsUrl, WebSocket: tracker.WebSocket });
    const got: number[] = [];
    const sub = c.subscribe('busy', (m) => got.push(m.seq as number));
    c.connect();
    await sub.ready;
    await h.send({ topic: 'busy' }, 'a');
    await waitUntil(() => got.length === 1, 'the first push');
    tracker.dropAndBlock();
    await waitUntil(() => c.status === 'reconnecting', 'reconnecting');
    for (let i = 0; i < 10; i++) await h.send({ topic: 'busy' }, `away ${i}`);
    tracker.unblock();
    await waitUntil(() => record.gaps.length === 1, 'the gap');
    assert.deepEqual(record.gaps[0], { topic: 'busy', private: false, position: { seq: 11, epoch: record.gaps[0].position.epoch } });
    await h.send({ topic: 'busy' }, 'live');
    await waitUntil(() => got.length === 2, 'the live push');
    assert.deepEqual(got, [1, 12]);
  });

  it('replays the login (a token function, asked again) and restores a private subscription with no loss', async () => {
    const h = await node({ verifier: fakeVerifier() });
    const tracker = new SocketTracker();
    let asked = 0;
    const token = async () => {
      asked++;
      return 'user:alice';
    };
    const { client: c, record } = client({ url: h.wsUrl, WebSocket: tracker.WebSocket, token });
    const inbox: string[] = [];
    const priv = c.subscribe('inbox', (m) => inbox.push(textOf(m)), { private: true });
    c.connect();
    await priv.ready;
    await h.send({ uid: 'alice', topic: 'inbox' }, 'p1');
    await waitUntil(() => inbox.length === 1, 'p1');

    tracker.dropAndBlock();
    await waitUntil(() => c.status === 'reconnecting', 'reconnecting');
    await h.send({ uid: 'alice', topic: 'inbox' }, 'p2');
    tracker.unblock();
    await waitUntil(() => inbox.length === 2, 'p2, pushed while away');
    await h.send({ uid: 'alice', topic: 'inbox' }, 'p3');
    await waitUntil(() => inbox.length === 3, 'p3');
    assert.deepEqual(inbox, ['p1', 'p2', 'p3']);
    assert.equal(asked, 2, 'the token function is asked on every connection');
    assert.deepEqual(record.gaps, []);
    assert.deepEqual(record.errors, []);
  });

  it('replays a login() token after a node restart', async () => {
    const first = await node({ verifier: fakeVerifier() });
    const { client: c, record } = client({ url: first.wsUrl });
    const inbox: Message[] = [];
    c.connect();
    assert.deepEqual(await c.login('user:bob'), { uid: 'bob' });
    await c.subscribe('inbox', (m) => inbox.push(m), { private: true }).ready;
    await first.stop();
    nodes.splice(nodes.indexOf(first), 1);
    const second = await node({ wsPort: first.wsPort, verifier: fakeVerifier() });
    await waitUntil(() => record.gaps.length === 1, 'the resubscription (a gap: new epoch)');
    assert.equal(record.gaps[0].private, true);
    await second.send({ uid: 'bob', topic: 'inbox' }, 'hi bob');
    await waitUntil(() => inbox.length === 1, 'the private push');
    assert.equal(inbox[0].data, 'hi bob');
  });
});

describe('client: many subscriptions behind a slow login', { timeout: 60_000 }, () => {
  it('waits for the login before subscribing, so none exceeds what the server holds behind a login (32)', async () => {
    const verifier = fakeVerifier();
    const slow: LoginVerifier = {
      async verify(credential) {
        await sleep(50);
        return verifier.verify(credential);
      },
    };
    const h = await node({ verifier: slow });
    const tracker = new SocketTracker();
    const { client: c, record } = client({ url: h.wsUrl, WebSocket: tracker.WebSocket, token: 'user:many' });
    const subs = Array.from({ length: 50 }, (_, i) => c.subscribe(`topic-${i}`, () => {}, { private: i % 5 === 0 }));
    c.connect();
    await Promise.all(subs.map((sub) => sub.ready));
    assert.equal(h.node.hub.subscriptionCount, 50);
    tracker.last.terminate();
    await waitUntil(() => record.statuses.filter((s) => s === 'open').length === 2, 'the reconnect');
    await waitUntil(() => h.node.hub.subscriptionCount === 50, 'all fifty again');
    assert.deepEqual(record.errors, []);
  });
});

describe('client: giving up', { timeout: 60_000 }, () => {
  for (const code of [4500, 1008, 1002]) {
    it(`stops on a terminal close ${code}: status closed, an error event, no reconnect attempt`, async () => {
      const server = await bareServer((ws) => ws.close(code, 'go away'));
      const { client: c, record } = client({ url: server.url });
      c.connect();
      await waitUntil(() => c.status === 'closed', 'the client to give up');
      assert.deepEqual(record.statuses, ['connecting', 'open', 'closed']);
      assert.equal(record.errors.length, 1);
      const [error] = record.errors;
      assert.ok(error instanceof HeraldConnectionError);
      assert.equal(error.closeCode, code);
      assert.equal(error.reason, 'go away');
      await sleep(300); // with 10–50 ms backoff, a retry would have happened by now
      assert.equal(server.count(), 1);
    });
  }

  it('reconnects after a transient close 4001, counting attempts afresh after each successful open', async () => {
    const server = await bareServer((ws) => ws.close(4001, 'slow consumer'));
    const { client: c, record } = client({ url: server.url, reconnect: { ...FAST, maxAttempts: 2 } });
    c.connect();
    await waitUntil(() => server.count() >= 5, 'five connections');
    assert.notEqual(c.status, 'closed', 'every open resets the attempt count, so maxAttempts 2 is never reached');
    assert.ok(record.statuses.includes('reconnecting'));
    assert.deepEqual(record.errors, []);
  });

  it('gives up after maxAttempts failed attempts', async () => {
    const h = await node();
    const tracker = new SocketTracker();
    tracker.blocked = true;
    const { client: c, record } = client({ url: h.wsUrl, WebSocket: tracker.WebSocket, reconnect: { ...FAST, maxAttempts: 3 } });
    c.connect();
    await waitUntil(() => c.status === 'closed', 'the client to give up');
    assert.equal(tracker.sockets.length, 4, 'the first attempt and three retries');
    assert.deepEqual(record.statuses, ['connecting', 'reconnecting', 'closed']);
    assert.match(record.errors[0]?.message ?? '', /gave up after 3/);
  });
});

describe('client: heartbeat', { timeout: 60_000 }, () => {
  it('keeps the connection open past the server heartbeat timeout', async () => {
    // Two server timeouts pass; the client's pings (every 400 ms) leave the server 600 ms to spare.
    const h = await node({ heartbeatTimeoutMs: 1000, timerResolutionMs: 50 });
    const { client: c, record } = client({ url: h.wsUrl, heartbeatMs: 400 });
    const got: string[] = [];
    c.connect();
    await c.subscribe('alive', (m) => got.push(textOf(m))).ready;
    await sleep(2000);
    assert.deepEqual(record.statuses, ['connecting', 'open'], 'never dropped');
    await h.send({ topic: 'alive' }, 'still here');
    await waitUntil(() => got.length === 1, 'a push after two server timeouts');
  });

  it('without a heartbeat, the server\'s pings (answered by the WebSocket itself) keep the connection open', async () => {
    const h = await node({ heartbeatTimeoutMs: 600, timerResolutionMs: 50 });
    const { client: c, record } = client({ url: h.wsUrl, heartbeatMs: 0 });
    const got: string[] = [];
    c.connect();
    await c.subscribe('alive', (m) => got.push(textOf(m))).ready;
    await sleep(2000);
    assert.deepEqual(record.statuses, ['connecting', 'open'], 'never dropped');
    await h.send({ topic: 'alive' }, 'still here');
    await waitUntil(() => got.length === 1, 'a push after several heartbeat windows');
  });

  it('without a heartbeat, a WebSocket that does not answer pings is closed (4000) and the client reconnects', async () => {
    const h = await node({ heartbeatTimeoutMs: 600, timerResolutionMs: 50 });
    class DeafWebSocket extends WebSocket {
      constructor(url: string, protocols?: string | string[]) {
        super(url, protocols, { autoPong: false });
      }
    }
    const { client: c, record } = client({ url: h.wsUrl, heartbeatMs: 0, WebSocket: DeafWebSocket });
    c.connect();
    await waitUntil(() => record.statuses.filter((s) => s === 'open').length >= 2, 'a reconnect after 4000');
    assert.deepEqual(record.statuses.slice(0, 4), ['connecting', 'open', 'reconnecting', 'open']);
  });

  it('declares a connection dead after two silent heartbeat intervals and reconnects', async () => {
    // A server that accepts but never answers anything.
    const server = await bareServer(() => {});
    const { client: c, record } = client({ url: server.url, heartbeatMs: 100 });
    c.connect();
    await waitUntil(() => server.count() >= 2, 'a second connection');
    assert.ok(record.statuses.includes('reconnecting'));
    c.close();
  });
});
