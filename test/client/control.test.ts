/**
 * The client SDK and the control plane: presence()/presenceStats() over ops
 * 7/8 (a node with a fake presence source), join/leave events for a
 * subscription with `joinLeave: true`, the unprompted 20005/20006 of a
 * server-side subscription change, and the reconnect rule for a server's
 * disconnect (4100 reconnects, 4500+ does not). Bare `ws` servers stand in
 * where the server's side is not this branch's (20005/20006, disconnects).
 */
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import type { WebSocket } from 'ws';
import {
  HeraldConnectionError,
  HeraldError,
  type HeraldClient,
  type JoinLeaveInfo,
  type ServerSubscriptionInfo,
} from '../../src/client/index.js';
import type { PresenceEntry } from '../../src/control/control-plane.js';
import type { GpushSession } from '../../src/session/gpush-session.js';
import type { ClientPresence } from '../../src/session/presence-requests.js';
import { startNode, type TestNode } from '../helpers/herald-node.js';
import { BareServers, SocketTracker, makeClient, sleep, waitUntil } from './client-harness.js';

const FAST = { baseMs: 10, maxMs: 50 };
const ALICE: PresenceEntry = { client: 'n1.1', uid: 'alice', node: 'n1', connectedAt: 1_700_000_000_000 };

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

/** The node's session, to hand it join/leave events as the control plane would. */
function sessionOf(h: TestNode): GpushSession {
  return h.node['session'];
}

const presence: ClientPresence = {
  list: async (_topic, limit) => [ALICE].slice(0, limit),
  stats: async () => ({ clients: 4, users: 3 }),
};


afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  for (const h of nodes.splice(0)) await h.stop();
  await bare.closeAll();
});

describe('client: presence', { timeout: 30_000 }, () => {
  it('presence() and presenceStats() resolve from ops 7/8 for a subscribed topic', async () => {
    const h = await node({ clientPresence: true, presenceSource: presence });
    const { client: c } = client({ url: h.wsUrl });
    c.connect();
    await c.subscribe('room', () => {}).ready;
    assert.deepEqual(await c.presence('room'), { clients: [ALICE], truncated: false });
    assert.deepEqual(await c.presenceStats('room'), { clients: 4, users: 3 });
  });

  it('rejects with HeraldError 30008 for a topic not subscribed, and when the server does not allow it', async () => {
    const allowing = await node({ clientPresence: true, presenceSource: presence });
    const { client: a } = client({ url: allowing.wsUrl });
    a.connect();
    await waitUntil(() => a.status === 'open', 'open');
    await assert.rejects(a.presence('room'), (error: unknown) => error instanceof HeraldError && error.code === 30008);

    const refusing = await node({ presenceSource: presence });
    const { client: b } = client({ url: refusing.wsUrl });
    b.connect();
    await b.subscribe('room', () => {}).ready;
    await assert.rejects(b.presenceStats('room'), (error: unknown) => error instanceof HeraldError && error.code === 30008);
    await assert.rejects(b.presence('room'), /forbidden \(30008\)/);
  });

  it('rejects while not connected, and in gpush mode', async () => {
    const h = await node({ clientPresence: true, presenceSource: presence });
    const { client: offline } = client({ url: h.wsUrl });
    await assert.rejects(offline.presence('room'), HeraldConnectionError);
    const { client: g } = client({ url: h.wsUrl, protocol: 'gpush' });
    g.connect();
    await assert.rejects(g.presence('room'), /herald\.v1/);
  });
});

describe('client: join/leave events', { timeout: 30_000 }, () => {
  const event = (kind: 'join' | 'leave') => ({ kind, topic: 'room', entry: ALICE });

  it('subscribe(…, { joinLeave: true }) asks for them; on("join"|"leave") receives them', async () => {
    const h = await node();
    const { client: c, record } = client({ url: h.wsUrl });
    const seen: [string, JoinLeaveInfo][] = [];
    c.on('join', (info) => seen.push(['join', info]));
    c.on('leave', (info) => seen.push(['leave', info]));
    c.connect();
    await c.subscribe('room', () => {}, { joinLeave: true }).ready;
    assert.equal(sessionOf(h).deliverJoinLeave(event('join')), 1, 'the server marked the connection a watcher');
    assert.equal(sessionOf(h).deliverJoinLeave(event('leave')), 1);
    await waitUntil(() => seen.length === 2, 'both events');
    assert.deepEqual(seen, [
      ['join', { topic: 'room', ...ALICE }],
      ['leave', { topic: 'room', ...ALICE }],
    ]);
    assert.deepEqual(record.messages, [], 'join/leave are not messages');
  });

  it('without the flag nothing is asked; adding it to a held stream asks then; it is kept across a reconnect', async () => {
    const h = await node();
    const tracker = new SocketTracker();
    const { client: c } = client({ url: h.wsUrl, WebSocket: tracker.WebSocket });
    const joins: JoinLeaveInfo[] = [];
    c.on('join', (info) => joins.push(info));
    c.connect();
    await c.subscribe('room', () => {}).ready;
    assert.equal(sessionOf(h).deliverJoinLeave(event('join')), 0);
    c.subscribe('room', () => {}, { joinLeave: true });
    await waitUntil(() => sessionOf(h).deliverJoinLeave(event('join')) === 1, 'the watch to be added');
    await waitUntil(() => joins.length === 1, 'the event');
    // Drop the connection: the client resubscribes with the flag.
    tracker.last.terminate();
    await waitUntil(() => tracker.sockets.length === 2 && c.status === 'open' && h.node.hub.clientCount === 1, 'the reconnect');
    await waitUntil(() => sessionOf(h).deliverJoinLeave(event('join')) === 1, 'the watch after the reconnect');
    await waitUntil(() => joins.length === 2, 'the event after the reconnect');
  });
});

describe('client: server-side subscription changes (20005/20006)', { timeout: 30_000 }, () => {
  it('emits serverSubscribe/serverUnsubscribe and delivers the topic\'s pushes to the message event', async () => {
    const server = await bareServer((ws) => {
      ws.send('{"code":20000,"message":"connected"}');
      ws.send('{"code":20005,"message":"subscribed by server","topic":"alerts","private":false}');
      ws.send('{"topic":"alerts","seq":1,"epoch":"e1","data":"fire"}');
      ws.send('{"code":20006,"message":"unsubscribed by server","topic":"alerts","private":true}');
    });
    const { client: c, record } = client({ url: server.url });
    const notices: [string, ServerSubscriptionInfo][] = [];
    c.on('serverSubscribe', (info) => notices.push(['sub', info]));
    c.on('serverUnsubscribe', (info) => notices.push(['unsub', info]));
    c.connect();
    await waitUntil(() => notices.length === 2, 'both notices');
    assert.deepEqual(notices, [
      ['sub', { topic: 'alerts', private: false }],
      ['unsub', { topic: 'alerts', private: true }],
    ]);
    assert.deepEqual(record.messages, [{ topic: 'alerts', seq: 1, epoch: 'e1', data: 'fire' }]);
    assert.deepEqual(record.errors, []);
  });

  it('gpush mode: a 20005 is a notice even while a request waits for its reply in order', async () => {
    let socket: WebSocket | undefined;
    const server = await bareServer((ws) => {
      socket = ws;
      ws.send('{"code":20000,"message":"connected"}');
      ws.on('message', () => {
        ws.send('{"code":20005,"message":"subscribed by server","topic":"alerts","private":false}');
        ws.send('{"code":20001,"message":"subscribed"}');
      });
    });
    const { client: c } = client({ url: server.url, protocol: 'gpush' });
    const notices: ServerSubscriptionInfo[] = [];
    c.on('serverSubscribe', (info) => notices.push(info));
    c.connect();
    await c.subscribe('news', () => {}).ready;
    assert.ok(socket !== undefined);
    assert.deepEqual(notices, [{ topic: 'alerts', private: false }]);
  });

  it('gpush mode: {"code":30009,"topic":…} is an expiry notice, not a push: the topic is subscribed again', async () => {
    const commands: string[] = [];
    const server = await bareServer((ws) => {
      ws.send('{"code":20000,"message":"connected"}');
      ws.on('message', (data) => {
        const text = String(data);
        if (text === 'ping') return;
        commands.push(text);
        ws.send('{"code":20001,"message":"subscribed"}');
        // After the first subscribe's answer, the server ends the subscription (its token expired).
        if (commands.length === 1) ws.send('{"code":30009,"message":"subscription expired","topic":"news","private":false}');
      });
    });
    const { client: c, record } = client({ url: server.url, protocol: 'gpush' });
    c.subscribe('news', () => {});
    c.connect();
    await waitUntil(() => commands.length === 2, 'the subscribe sent again after 30009');
    assert.deepEqual(commands.map((text) => JSON.parse(text) as unknown), [
      { code: 1, topic: 'news' },
      { code: 1, topic: 'news' },
    ]);
    assert.deepEqual(record.messages, [], 'the notice is not delivered as a push');
    assert.deepEqual(record.errors, []);
  });
});

describe('client: a disconnect by the server', { timeout: 30_000 }, () => {
  it('4100 (disconnected by server) reconnects', async () => {
    const server = await bareServer((ws) => ws.close(4100, 'disconnected by server'));
    const { client: c, record } = client({ url: server.url });
    c.connect();
    await waitUntil(() => server.count() >= 3, 'reconnects');
    assert.notEqual(c.status, 'closed');
    assert.ok(record.statuses.includes('reconnecting'));
    assert.deepEqual(record.errors, []);
  });

  for (const code of [4500, 4599]) {
    it(`${code} does not reconnect: status closed, one error with the code`, async () => {
      const server = await bareServer((ws) => ws.close(code, 'banned'));
      const { client: c, record } = client({ url: server.url });
      c.connect();
      await waitUntil(() => c.status === 'closed', 'the client to give up');
      const [error] = record.errors;
      assert.ok(error instanceof HeraldConnectionError);
      assert.equal(error.closeCode, code);
      await sleep(300); // with 10–50 ms backoff, a retry would have happened by now
      assert.equal(server.count(), 1);
    });
  }
});
