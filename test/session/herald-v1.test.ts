import { afterEach, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { HeraldNode, HERALD_V1 } from '../../src/node.js';
import { JwtVerifier } from '../../src/auth/jwt-verifier.js';
import { SignJWT } from 'jose';
import { waitUntil, withTimeout } from '../helpers/server.js';

const SECRET = 'a-development-secret-of-32-bytes!';

interface V1Client {
  ws: WebSocket;
  replies: Record<string, unknown>[];
  deliveries: Record<string, unknown>[];
  raw: string[];
}

async function connect(url: string, protocols: string[] = [HERALD_V1]): Promise<V1Client> {
  const ws = new WebSocket(url, protocols);
  const client: V1Client = { ws, replies: [], deliveries: [], raw: [] };
  ws.on('message', (data) => {
    const text = data.toString();
    client.raw.push(text);
    try {
      const json = JSON.parse(text) as Record<string, unknown>;
      (typeof json.code === 'number' ? client.replies : client.deliveries).push(json);
    } catch {
      // gpush raw payloads
    }
  });
  await withTimeout(new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject)), 'open');
  await waitUntil(() => client.replies.length > 0, 'the greeting');
  return client;
}

async function request(client: V1Client, body: Record<string, unknown>): Promise<Record<string, unknown>> {
  const id = Math.floor(Math.random() * 1e9);
  client.ws.send(JSON.stringify({ ...body, id }));
  await waitUntil(() => client.replies.some((r) => r.id === id), `the reply to ${JSON.stringify(body)}`);
  return client.replies.find((r) => r.id === id)!;
}

describe('herald.v1: envelopes, ids and resume', () => {
  let node: HeraldNode;
  let url: string;
  let api: string;

  const push = async (body: object): Promise<void> => {
    const res = await fetch(`${api}/v1/push`, { method: 'POST', body: JSON.stringify([body]) });
    assert.equal(res.status, 200);
    await res.text();
  };

  beforeEach(async () => {
    node = new HeraldNode({
      wsHost: '127.0.0.1', wsPort: 0, apiPort: 0, historySize: 20,
      verifier: new JwtVerifier({ secret: SECRET }),
    });
    const { ws, api: apiAddress } = await node.start();
    url = `ws://127.0.0.1:${ws.port}/ws`;
    api = `http://127.0.0.1:${apiAddress!.port}`;
  });
  afterEach(() => node.stop());

  it('is selected when offered, echoes ids, and wraps deliveries in envelopes with seq and epoch', async () => {
    const c = await connect(url);
    assert.equal(c.ws.protocol, HERALD_V1);
    const reply = await request(c, { code: 1, topic: 'news' });
    assert.equal(reply.code, 20001);
    await push({ topic: 'news', data: 'hello' });
    await push({ topic: 'news', dataBase64: Buffer.from([0xff, 0x00]).toString('base64') });
    await push({ data: 'everyone' });
    await waitUntil(() => c.deliveries.length === 3, 'three deliveries');
    const [first, second, broadcast] = c.deliveries;
    assert.equal(first.topic, 'news');
    assert.equal(first.data, 'hello');
    assert.equal(first.seq, 1);
    assert.equal(typeof first.epoch, 'string');
    assert.equal(second.seq, 2);
    assert.equal(second.dataBase64, Buffer.from([0xff, 0x00]).toString('base64'));
    assert.equal(broadcast.all, true);
    assert.equal(broadcast.data, 'everyone');
    c.ws.close();
  });

  it('marks private and per-user deliveries', async () => {
    const c = await connect(url);
    const token = await new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setSubject('u1').setExpirationTime('1h').sign(Buffer.from(SECRET));
    assert.equal((await request(c, { code: 3, data: token })).code, 20003);
    assert.equal((await request(c, { code: 5, topic: 'inbox' })).code, 20001);
    await push({ uid: 'u1', topic: 'inbox', data: 'secret' });
    await push({ uid: 'u1', data: 'for you' });
    await waitUntil(() => c.deliveries.length === 2, 'two deliveries');
    assert.deepEqual(
      c.deliveries.map(({ topic, private: p, user, data, seq }) => ({ topic, private: p, user, data, seq })),
      [
        { topic: 'inbox', private: true, user: undefined, data: 'secret', seq: 1 },
        { topic: undefined, private: undefined, user: true, data: 'for you', seq: 1 },
      ],
    );
    c.ws.close();
  });

  it('resumes after a disconnect with no gap and no duplicate', async () => {
    const first = await connect(url);
    await request(first, { code: 1, topic: 'feed' });
    for (let i = 1; i <= 3; i++) await push({ topic: 'feed', data: `m${i}` });
    await waitUntil(() => first.deliveries.length === 3, 'three live messages');
    const last = first.deliveries[2] as { seq: number; epoch: string };
    first.ws.close();
    for (let i = 4; i <= 8; i++) await push({ topic: 'feed', data: `m${i}` });
    const second = await connect(url);
    const reply = await request(second, { code: 1, topic: 'feed', since: { seq: last.seq, epoch: last.epoch } });
    assert.equal(reply.recovered, true);
    assert.deepEqual(reply.position, { seq: 8, epoch: last.epoch });
    await push({ topic: 'feed', data: 'm9' });
    await waitUntil(() => second.deliveries.length === 6, 'the missed and the new messages');
    assert.deepEqual(second.deliveries.map((d) => d.data), ['m4', 'm5', 'm6', 'm7', 'm8', 'm9']);
    assert.deepEqual(second.deliveries.map((d) => d.seq), [4, 5, 6, 7, 8, 9]);
    second.ws.close();
  });

  it('resumes while pushes keep flowing: the sequence stays contiguous', async () => {
    const first = await connect(url);
    await request(first, { code: 1, topic: 'busy' });
    await push({ topic: 'busy', data: 'x1' });
    await waitUntil(() => first.deliveries.length === 1, 'one message');
    const { epoch } = first.deliveries[0] as { epoch: string };
    first.ws.close();
    const second = await connect(url);
    // Pushes race the resume: some land before the history read, some between it and the release, some after.
    const pushing = (async () => {
      for (let i = 2; i <= 15; i++) await push({ topic: 'busy', data: `x${i}` });
    })();
    second.ws.send(JSON.stringify({ code: 1, topic: 'busy', since: { seq: 1, epoch }, id: 'resume' }));
    await pushing;
    await waitUntil(() => second.deliveries.length >= 14, 'every message after seq 1');
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.deepEqual(second.deliveries.map((d) => d.seq), Array.from({ length: 14 }, (_, i) => i + 2));
    second.ws.close();
  });

  it('says so when the history no longer reaches back, and when the epoch is unknown', async () => {
    const c = await connect(url);
    for (let i = 1; i <= 30; i++) await push({ topic: 'old', data: `o${i}` });
    const missing = await request(c, { code: 1, topic: 'old', since: { seq: 2, epoch: 'anything' } });
    assert.equal(missing.recovered, false);
    assert.equal((missing.position as { seq: number }).seq, 30);
    const epoch = (missing.position as { epoch: string }).epoch;
    const tooOld = await request(c, { code: 1, topic: 'old', since: { seq: 2, epoch } });
    assert.equal(tooOld.recovered, false, 'history holds 20: seq 3 is gone');
    const recent = await request(c, { code: 1, topic: 'old', since: { seq: 25, epoch } });
    assert.equal(recent.recovered, true);
    await waitUntil(() => c.deliveries.length === 5, 'seq 26..30');
    assert.deepEqual(c.deliveries.map((d) => d.seq), [26, 27, 28, 29, 30]);
    c.ws.close();
  });

  it('refuses a malformed since or id with 30001, and leaves gpush clients unchanged', async () => {
    const c = await connect(url);
    assert.equal((await request(c, { code: 1, topic: 't', since: { seq: -1, epoch: 'e' } })).code, 30001);
    c.ws.send(JSON.stringify({ code: 1, topic: 't', id: { nested: true } }));
    await waitUntil(() => c.replies.some((r) => r.code === 30001 && String(r.detail).includes('id')), 'the id refusal');
    const gpush = await connect(url, []);
    assert.equal(gpush.ws.protocol, '');
    gpush.ws.send(JSON.stringify({ code: 1, topic: 'plain' }));
    await waitUntil(() => gpush.raw.some((m) => m.includes('20001')), 'subscribed');
    await push({ topic: 'plain', data: 'raw payload' });
    await waitUntil(() => gpush.raw.includes('raw payload'), 'the raw push');
    c.ws.close();
    gpush.ws.close();
  });
});
