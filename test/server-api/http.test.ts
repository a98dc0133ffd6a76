/**
 * The HTTP server API on a real node (memory engine): every route, bad input
 * (400 JSON, nothing touched), auth, and what clients see — close codes,
 * unprompted 20005/20006, the SDK's reconnect rule after a disconnect.
 */
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import { HeraldClient } from '../../src/client/index.js';
import WebSocket from 'ws';
import { fakeVerifier, startNode, waitUntil, type ApiResponse, type TestClient, type TestNode } from '../helpers/herald-node.js';

const TOKEN = 'server-api-test-token-0123456789';
const AUTH = { authorization: `Bearer ${TOKEN}` };

let h: TestNode;

function post(path: string, body: unknown, headers: Record<string, string> = AUTH): Promise<ApiResponse> {
  return h.request(path, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}
function get(path: string, headers: Record<string, string> = AUTH): Promise<ApiResponse> {
  return h.request(path, { headers });
}

/** Push `payload` to `target` with the token (TestNode.send sends none). */
async function push(target: { uid?: string; topic?: string }, payload: string | Buffer): Promise<void> {
  const data = (typeof payload === 'string' ? Buffer.from(payload) : payload).toString('base64');
  assert.deepEqual(ok(await post('/v1/pushData', { ...target, data })), {});
}

function ok(res: ApiResponse): any {
  assert.equal(res.status, 200, `${res.status} ${res.text}`);
  return res.json;
}

function badRequest(res: ApiResponse, code: string): void {
  assert.equal(res.status, 400, `${res.status} ${res.text}`);
  assert.equal(res.json?.error?.code, code, res.text);
  assert.equal(typeof res.json.error.message, 'string');
}

async function loggedIn(uid: string, protocol?: string): Promise<TestClient> {
  const c = await h.connect({ protocol });
  await c.login(`user:${uid}`, uid);
  return c;
}

describe('server API over HTTP', { timeout: 60_000 }, () => {
  before(async () => {
    h = await startNode({ verifier: fakeVerifier(), pushTokens: [TOKEN], nodeId: 'nodeA', timerResolutionMs: 50, presence: true });
  });
  after(async () => h.stop());
  afterEach(async () => h.closeClients());

  it('requires the bearer token on every route (401 with WWW-Authenticate), like the push APIs', async () => {
    for (const path of ['/v1/presence?topic=t', '/v1/presence-stats?topic=t', '/v1/channels', '/v1/history?topic=t', '/v1/info']) {
      const res = await get(path, {});
      assert.equal(res.status, 401, path);
      assert.equal(res.json.error.code, 'UNAUTHENTICATED');
      assert.match(res.headers.get('www-authenticate') ?? '', /^Bearer/);
    }
    for (const path of ['/v1/disconnect', '/v1/subscribe', '/v1/unsubscribe', '/v1/history-remove']) {
      const res = await post(path, { uid: 'alice', topic: 't' }, { authorization: 'Bearer wrong-token-wrong-token' });
      assert.equal(res.status, 401, path);
    }
    assert.equal((await post('/v1/info', {})).status, 405);
    assert.equal((await get('/v1/disconnect')).status, 405);
  });

  it('disconnect closes every connection of the user with 4100 by default, and only hers', async () => {
    const a1 = await loggedIn('alice');
    const a2 = await loggedIn('alice', 'herald.v1');
    const bob = await loggedIn('bob');
    const anon = await h.connect();
    assert.deepEqual(ok(await post('/v1/disconnect', { uid: 'alice' })), { disconnected: 2 });
    assert.deepEqual(await a1.closed(), { code: 4100, reason: 'disconnected by server' });
    assert.deepEqual(await a2.closed(), { code: 4100, reason: 'disconnected by server' });
    assert.deepEqual(await bob.sync(), []);
    assert.deepEqual(await anon.sync(), []);
    assert.equal(bob.closeEvent, undefined);
  });

  it('disconnect with a code, a reason, or one client id', async () => {
    const a1 = await loggedIn('alice');
    await a1.subscribe('room');
    const a2 = await loggedIn('alice');
    const presence = ok(await get('/v1/presence?topic=room'));
    assert.equal(presence.clients.length, 1);
    const id = presence.clients[0].client as string;
    assert.match(id, /^nodeA\.\d+$/);
    assert.deepEqual(ok(await post('/v1/disconnect', { uid: 'alice', client: id, code: 4501, reason: 'banned' })), { disconnected: 1 });
    assert.deepEqual(await a1.closed(), { code: 4501, reason: 'banned' });
    assert.deepEqual(await a2.sync(), []);
    assert.deepEqual(ok(await post('/v1/disconnect', { uid: 'alice', client: 'nodeA.999999' })), { disconnected: 0 });
  });

  it('unknown uid → 200 disconnected: 0', async () => {
    assert.deepEqual(ok(await post('/v1/disconnect', { uid: 'nobody' })), { disconnected: 0 });
  });

  it('bad input → 400 with the JSON error body, and nothing is touched', async () => {
    const alice = await loggedIn('alice');
    await alice.subscribe('keep');
    const cases: [string, unknown, string][] = [
      ['/v1/disconnect', {}, 'BAD_REQUEST'],
      ['/v1/disconnect', { uid: '' }, 'INVALID_UID'],
      ['/v1/disconnect', { uid: 7 }, 'INVALID_UID'],
      ['/v1/disconnect', { uid: 'alice', code: 1000 }, 'INVALID_CODE'],
      ['/v1/disconnect', { uid: 'alice', code: 5000 }, 'INVALID_CODE'],
      ['/v1/disconnect', { uid: 'alice', code: 4100.5 }, 'INVALID_CODE'],
      ['/v1/disconnect', { uid: 'alice', code: '4100' }, 'INVALID_CODE'],
      ['/v1/disconnect', { uid: 'alice', reason: 'x'.repeat(124) }, 'INVALID_REASON'],
      ['/v1/disconnect', { uid: 'alice', client: '' }, 'INVALID_CLIENT'],
      ['/v1/disconnect', { uid: 'alice', cliet: 'x' }, 'BAD_REQUEST'],
      ['/v1/disconnect', [], 'BAD_REQUEST'],
      ['/v1/disconnect', '{"uid":', 'INVALID_JSON'],
      ['/v1/subscribe', { uid: 'alice' }, 'BAD_REQUEST'],
      ['/v1/subscribe', { uid: 'alice', topic: '' }, 'INVALID_TOPIC'],
      ['/v1/subscribe', { uid: 'alice', topic: 'a\u0000b' }, 'INVALID_TOPIC'],
      ['/v1/subscribe', { uid: 'alice', topic: 'x'.repeat(257) }, 'INVALID_TOPIC'],
      ['/v1/subscribe', { uid: 'alice', topic: 't', private: 'yes' }, 'BAD_REQUEST'],
      ['/v1/subscribe', { uid: 'alice', topic: 't', privat: true }, 'BAD_REQUEST'],
      ['/v1/unsubscribe', { uid: 'alice', topic: 5 }, 'INVALID_TOPIC'],
      ['/v1/history-remove', { uid: 'alice' }, 'BAD_REQUEST'],
      ['/v1/history-remove', { topic: 'keep', uid: '\ud800' }, 'INVALID_UID'],
    ];
    for (const [path, body, code] of cases) badRequest(await post(path, body), code);
    const queries: [string, string][] = [
      ['/v1/presence', 'BAD_REQUEST'],
      ['/v1/presence?topic=', 'INVALID_TOPIC'],
      ['/v1/presence?topic=keep&limit=0', 'INVALID_LIMIT'],
      ['/v1/presence?topic=keep&limit=1001', 'INVALID_LIMIT'],
      ['/v1/presence?topic=keep&limit=-1', 'INVALID_LIMIT'],
      ['/v1/presence?topic=keep&limit=1e3', 'INVALID_LIMIT'],
      ['/v1/presence?topic=keep&topic=other', 'BAD_REQUEST'],
      ['/v1/presence?topic=keep&extra=1', 'BAD_REQUEST'],
      ['/v1/presence-stats', 'BAD_REQUEST'],
      ['/v1/channels?limit=100000', 'INVALID_LIMIT'],
      ['/v1/channels?pattern=', 'INVALID_PATTERN'],
      [`/v1/channels?pattern=${'*'.repeat(1025)}`, 'INVALID_PATTERN'],
      ['/v1/channels?cursor=', 'INVALID_CURSOR'],
      ['/v1/history?topic=keep&since=5', 'INVALID_SINCE'],
      ['/v1/history?topic=keep&since=x:abc', 'INVALID_SINCE'],
      ['/v1/history?topic=keep&since=1:a%20b', 'INVALID_SINCE'],
      ['/v1/history?topic=keep&limit=2000', 'INVALID_LIMIT'],
      ['/v1/history?uid=alice', 'BAD_REQUEST'],
      ['/v1/info?x=1', 'BAD_REQUEST'],
    ];
    for (const [path, code] of queries) badRequest(await get(path), code);
    // Nothing was touched: alice is still connected, subscribed, and alone in presence.
    assert.equal(alice.closeEvent, undefined);
    assert.deepEqual(await alice.sync(), []);
    assert.deepEqual(ok(await get('/v1/presence-stats?topic=keep')), { clients: 1, users: 1 });
    await push({ topic: 'keep' }, 'still here');
    assert.deepEqual(await alice.sync(), ['still here']);
  });

  it('server-side subscribe: an already connected client gets 20005, then the next push; unsubscribe: 20006 and no more pushes', async () => {
    const gpush = await loggedIn('alice');
    const v1 = await loggedIn('alice', 'herald.v1');
    const bob = await loggedIn('bob');
    assert.deepEqual(ok(await post('/v1/subscribe', { uid: 'alice', topic: 'news' })), { subscribed: 2 });
    for (const c of [gpush, v1]) {
      assert.deepEqual(JSON.parse(await c.nextText()), { code: 20005, message: 'subscribed by server', topic: 'news', private: false });
    }
    // Already subscribed: nothing changes, nobody is told again.
    assert.deepEqual(ok(await post('/v1/subscribe', { uid: 'alice', topic: 'news' })), { subscribed: 0 });
    await push({ topic: 'news' }, 'first');
    assert.deepEqual(await gpush.sync(), ['first']);
    const [envelope] = await v1.sync();
    assert.equal(JSON.parse(envelope).data, 'first');
    assert.deepEqual(await bob.sync(), []);

    assert.deepEqual(ok(await post('/v1/unsubscribe', { uid: 'alice', topic: 'news' })), { unsubscribed: 2 });
    assert.deepEqual(JSON.parse(await gpush.nextText()), { code: 20006, message: 'unsubscribed by server', topic: 'news', private: false });
    await push({ topic: 'news' }, 'second');
    assert.deepEqual(await gpush.sync(), []);
    assert.deepEqual(ok(await post('/v1/unsubscribe', { uid: 'alice', topic: 'news' })), { unsubscribed: 0 });
  });

  it('server-side private subscribe: the user receives pushes to her private topic', async () => {
    const alice = await loggedIn('alice');
    assert.deepEqual(ok(await post('/v1/subscribe', { uid: 'alice', topic: 'inbox', private: true })), { subscribed: 1 });
    assert.deepEqual(JSON.parse(await alice.nextText()), { code: 20005, message: 'subscribed by server', topic: 'inbox', private: true });
    await push({ uid: 'alice', topic: 'inbox' }, 'for alice');
    assert.deepEqual(await alice.sync(), ['for alice']);
    assert.deepEqual(ok(await get('/v1/presence-stats?topic=inbox')), { clients: 1, users: 1 });
  });

  it('presence, presence-stats and channels count public and private subscribers, and bound the reply', async () => {
    const a1 = await loggedIn('alice');
    const a2 = await loggedIn('alice');
    const bob = await loggedIn('bob');
    const anon = await h.connect();
    await a1.subscribe('room');
    await a2.subscribePrivate('room');
    await bob.subscribe('room');
    await anon.subscribe('room');
    await anon.subscribe('lobby');
    await bob.subscribe('other.x');
    const presence = ok(await get('/v1/presence?topic=room'));
    assert.equal(presence.clients.length, 4);
    for (const entry of presence.clients) {
      assert.deepEqual(Object.keys(entry).sort(), ['client', 'connectedAt', 'node', 'uid']);
      assert.equal(entry.node, 'nodeA');
      assert.equal(typeof entry.connectedAt, 'number');
    }
    assert.deepEqual(presence.clients.map((e: { uid: string }) => e.uid).sort(), ['', 'alice', 'alice', 'bob']);
    assert.equal(ok(await get('/v1/presence?topic=room&limit=2')).clients.length, 2);
    assert.deepEqual(ok(await get('/v1/presence?topic=empty')), { clients: [] });
    assert.deepEqual(ok(await get('/v1/presence-stats?topic=room')), { clients: 4, users: 2 });
    assert.deepEqual(ok(await get('/v1/presence-stats?topic=empty')), { clients: 0, users: 0 });

    assert.deepEqual(ok(await get('/v1/channels')), {
      channels: [
        { topic: 'lobby', subscribers: 1 },
        { topic: 'other.x', subscribers: 1 },
        { topic: 'room', subscribers: 4 },
      ],
    });
    const first = ok(await get('/v1/channels?limit=2'));
    assert.deepEqual(first, { channels: [{ topic: 'lobby', subscribers: 1 }, { topic: 'other.x', subscribers: 1 }], cursor: 'other.x' });
    assert.deepEqual(ok(await get(`/v1/channels?limit=2&cursor=${encodeURIComponent(first.cursor)}`)), {
      channels: [{ topic: 'room', subscribers: 4 }],
    });
    assert.deepEqual(ok(await get('/v1/channels?pattern=o*')), { channels: [{ topic: 'other.x', subscribers: 1 }] });
    assert.deepEqual(ok(await get('/v1/channels?pattern=*o*m')), { channels: [{ topic: 'room', subscribers: 4 }] });

    // A logout drops the private subscription; a close drops the rest.
    await a2.logout();
    assert.deepEqual(ok(await get('/v1/presence-stats?topic=room')), { clients: 3, users: 2 });
    await a1.close();
    await bob.close();
    await waitUntil(() => h.node.hub.clientCount === 2, 'the closes');
    assert.deepEqual(ok(await get('/v1/presence-stats?topic=room')), { clients: 1, users: 0 });
    assert.deepEqual(ok(await get('/v1/channels')).channels.map((c: { topic: string }) => c.topic), ['lobby', 'room']);
  });

  it('a login after a public subscribe renews the presence entry with the uid', async () => {
    const c = await h.connect();
    await c.subscribe('room');
    assert.deepEqual(ok(await get('/v1/presence-stats?topic=room')), { clients: 1, users: 0 });
    await c.login('user:carol', 'carol');
    assert.deepEqual(ok(await get('/v1/presence-stats?topic=room')), { clients: 1, users: 1 });
    assert.equal(ok(await get('/v1/presence?topic=room')).clients[0].uid, 'carol');
    await c.logout();
    assert.deepEqual(ok(await get('/v1/presence-stats?topic=room')), { clients: 1, users: 0 });
  });

  it('info lists this node', async () => {
    await h.connect();
    const { nodes } = ok(await get('/v1/info'));
    assert.equal(nodes.length, 1);
    const [node] = nodes;
    assert.equal(node.id, 'nodeA');
    assert.equal(node.address, `127.0.0.1:${h.wsPort}`);
    assert.equal(node.connections, 1);
    assert.equal(node.subscriptions, 0);
    assert.equal(typeof node.uptimeMs, 'number');
    assert.match(node.version, /^\d+\.\d+\.\d+/);
  });

  it('history pages forward with since and limit; history-remove makes a later resume unrecoverable', async () => {
    for (const text of ['h1', 'h2', 'h3']) await push({ topic: 'hist' }, text);
    await push({ topic: 'hist' }, Buffer.from([0xff, 0x00]));
    const all = ok(await get('/v1/history?topic=hist'));
    assert.equal(all.recovered, true);
    assert.deepEqual(all.publications.map((p: { data?: string; dataBase64?: string }) => p.data ?? `b64:${p.dataBase64}`), ['h1', 'h2', 'h3', 'b64:/wA=']);
    const { epoch } = all.position;
    assert.deepEqual(all.position, { seq: 4, epoch });
    assert.deepEqual(all.publications[0], { seq: 1, epoch, data: 'h1' });
    const page = ok(await get(`/v1/history?topic=hist&since=1:${epoch}&limit=2`));
    assert.deepEqual(page.publications.map((p: { seq: number }) => p.seq), [2, 3]);
    assert.deepEqual(ok(await get(`/v1/history?topic=hist&since=4:${epoch}`)).publications, []);
    assert.deepEqual(ok(await get('/v1/history?topic=hist&since=1:otherepoch')), { publications: [], position: { seq: 4, epoch }, recovered: false });

    // A private topic's stream is its own.
    await push({ uid: 'alice', topic: 'hist' }, 'private');
    assert.deepEqual(ok(await get('/v1/history?topic=hist&uid=alice')).publications.map((p: { data: string }) => p.data), ['private']);

    assert.deepEqual(ok(await post('/v1/history-remove', { topic: 'hist' })), {});
    const after = ok(await get(`/v1/history?topic=hist&since=2:${epoch}`));
    assert.equal(after.recovered, false);
    assert.notEqual(after.position.epoch, epoch);
    // The private stream was not touched.
    assert.equal(ok(await get('/v1/history?topic=hist&uid=alice')).publications.length, 1);
    // A herald.v1 client resuming from before the removal is told it cannot.
    const v1 = await h.connect({ protocol: 'herald.v1' });
    v1.send({ code: 1, topic: 'hist', since: { seq: 2, epoch } });
    const reply = JSON.parse(await v1.nextText());
    assert.equal(reply.code, 20001);
    assert.equal(reply.recovered, false);
  });
});

describe('server API: the SDK after a disconnect', { timeout: 60_000 }, () => {
  let sdk: HeraldClient | undefined;
  before(async () => {
    h = await startNode({ verifier: fakeVerifier(), pushTokens: [TOKEN] });
  });
  after(async () => h.stop());
  afterEach(() => sdk?.close());

  it('reconnects after 4100 (and logs in again), does not after 4500', async () => {
    const connections: string[] = [];
    sdk = new HeraldClient({ url: h.wsUrl, WebSocket, token: 'user:alice', reconnect: { baseMs: 10, maxMs: 50 } });
    const closes: number[] = [];
    sdk.on('status', (s) => connections.push(s));
    sdk.on('error', (e) => closes.push((e as { closeCode?: number }).closeCode ?? -1));
    sdk.connect();
    await waitUntil(() => h.node.hub.clientsOf('alice').size === 1, 'alice to log in');
    assert.deepEqual(ok(await post('/v1/disconnect', { uid: 'alice' })), { disconnected: 1 });
    await waitUntil(() => connections.includes('reconnecting'), 'the SDK to reconnect');
    await waitUntil(() => h.node.hub.clientsOf('alice').size === 1 && sdk?.status === 'open', 'alice to be back');
    assert.deepEqual(closes, []);

    assert.deepEqual(ok(await post('/v1/disconnect', { uid: 'alice', code: 4500, reason: 'banned' })), { disconnected: 1 });
    await waitUntil(() => sdk?.status === 'closed', 'the SDK to give up');
    assert.deepEqual(closes, [4500]);
    await new Promise((resolve) => setTimeout(resolve, 200)); // with 10–50 ms backoff a retry would have come by now
    assert.equal(h.node.hub.clientsOf('alice').size, 0);
  });
});

describe('server API: channels paging over many topics', () => {
  before(async () => {
    h = await startNode({ pushTokens: [TOKEN] });
  });
  after(async () => h.stop());

  it('pages 60 topics subscribed in descending order, 7 at a time, in ascending order, each once', async () => {
    const c = await h.connect();
    const names = Array.from({ length: 60 }, (_, i) => `t${String(i).padStart(2, '0')}`);
    for (const name of [...names].reverse()) await c.subscribe(name);
    const seen: string[] = [];
    let cursor: string | undefined;
    for (let page = 0; page < 20; page++) {
      const reply = ok(await get(`/v1/channels?limit=7${cursor === undefined ? '' : `&cursor=${cursor}`}`));
      seen.push(...(reply.channels as { topic: string }[]).map((x) => x.topic));
      cursor = reply.cursor;
      if (cursor === undefined) break;
    }
    assert.deepEqual(seen, names);
    assert.equal((await get('/v1/channels?pattern=*a*b*c*d*e*f*g*h*i')).status, 400, 'more than 8 stars');
  });
});

describe('server API: presence not kept (the default)', () => {
  before(async () => {
    h = await startNode({ verifier: fakeVerifier(), pushTokens: [TOKEN] });
  });
  after(async () => h.stop());

  it('presence and presence-stats answer 409 PRESENCE_OFF; the rest of the API works', async () => {
    const c = await h.connect();
    await c.subscribe('room');
    for (const path of ['/v1/presence?topic=room', '/v1/presence-stats?topic=room']) {
      const res = await h.request(path, { headers: { authorization: `Bearer ${TOKEN}` } });
      assert.equal(res.status, 409, path);
      assert.equal(res.json.error.code, 'PRESENCE_OFF');
    }
    const channels = await h.request('/v1/channels', { headers: { authorization: `Bearer ${TOKEN}` } });
    assert.equal(channels.status, 200);
    assert.deepEqual(channels.json.channels, [{ topic: 'room', subscribers: 1 }]);
  });
});
