import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import { startNode, fakeVerifier, type TestNode } from '../helpers/herald-node.js';
import { CurlStream } from './curl-stream.js';

/** GET /v1/sse and POST /v1/stream with a real `curl -N` (PROTOCOL.md, "Without WebSocket"). */
describe('SSE and HTTP streaming with curl -N', () => {
  let t: TestNode;
  let base: string;
  const curls: CurlStream[] = [];
  const curl = (...args: string[]): CurlStream => {
    const c = new CurlStream(args);
    curls.push(c);
    return c;
  };

  before(async () => {
    t = await startNode({ verifier: fakeVerifier(), heartbeatTimeoutMs: 1000, maxSubscriptionsPerConnection: 3 });
    base = `http://127.0.0.1:${t.wsPort}`;
  });
  afterEach(async () => {
    for (const c of curls.splice(0)) c.kill();
    await t.closeClients();
  });
  after(() => t.stop());

  it('streams pushes to a topic as SSE events with a cursor id', async () => {
    const c = curl(`${base}/v1/sse?topic=news`);
    await c.waitFor((x) => x.blocks.some((b) => b.id !== undefined), 'the starting cursor');
    assert.equal(c.status, 200);
    assert.equal(c.header('content-type'), 'text/event-stream; charset=utf-8');
    assert.equal(c.header('cache-control'), 'no-store');
    assert.equal(c.header('x-accel-buffering'), 'no');
    assert.ok(c.body.startsWith('retry: 1000\n: ok\n\n'), c.body);
    await t.send({ topic: 'news' }, 'hello');
    await t.send({ topic: 'news' }, 'two\nlines');
    await c.waitFor((x) => x.events.length === 2, 'two events');
    const [first, second] = c.events;
    assert.equal(first.data, 'hello');
    assert.equal(first.event, undefined);
    assert.match(first.id!, /^1:[A-Za-z0-9._~-]+$/);
    assert.equal(second.data, 'two\nlines');
    assert.match(second.id!, /^2:/);
  });

  it('sends binary payloads and text with CR as event: binary in base64', async () => {
    const c = curl(`${base}/v1/sse?topic=bin`);
    await c.waitFor((x) => x.status === 200 && x.blocks.some((b) => b.id !== undefined), 'the start');
    const bytes = Buffer.from([0xff, 0x00, 0x80]);
    await t.send({ topic: 'bin' }, bytes);
    await t.send({ topic: 'bin' }, 'a\r\nb');
    await c.waitFor((x) => x.events.length === 2, 'two events');
    assert.equal(c.events[0].event, 'binary');
    assert.deepEqual(Buffer.from(c.events[0].data!, 'base64'), bytes);
    assert.equal(c.events[1].event, 'binary');
    assert.equal(Buffer.from(c.events[1].data!, 'base64').toString(), 'a\r\nb');
  });

  it('sends keep-alive comments from the timing wheel', async () => {
    const c = curl(`${base}/v1/sse?topic=quiet`);
    await c.waitFor((x) => x.blocks.filter((b) => b.comments.includes('')).length >= 1, 'a keep-alive comment');
  });

  it('delivers private topics and user pushes with a token, and broadcasts', async () => {
    const c = curl(`${base}/v1/sse?private=inbox&token=user:alice`);
    await c.waitFor((x) => x.status === 200 && x.blocks.some((b) => b.id !== undefined), 'the start');
    await t.send({ uid: 'alice', topic: 'inbox' }, 'for alice');
    await t.send({ uid: 'bob', topic: 'inbox' }, 'for bob');
    await t.send({ uid: 'alice' }, 'to the user');
    await t.send({}, 'to everyone');
    await c.waitFor((x) => x.events.length === 3, 'three events');
    assert.deepEqual(c.events.map((e) => e.data), ['for alice', 'to the user', 'to everyone']);
    assert.match(c.events[0].id!, /^1:/);
    assert.equal(c.events[1].id, undefined);
  });

  it('answers bad requests with an HTTP error and a JSON body, and keeps serving', async () => {
    const cases: [string[], number, string][] = [
      [[`${base}/v1/sse`], 400, 'NO_TOPIC'],
      [[`${base}/v1/sse?topic=`], 400, 'INVALID_TOPIC'],
      [[`${base}/v1/sse?topic=a&topic=b&topic=c&topic=d`], 400, 'TOO_MANY_TOPICS'],
      [[`${base}/v1/sse?topic=a&lastEventId=nonsense`], 400, 'BAD_LAST_EVENT_ID'],
      [[`${base}/v1/sse?topic=a&topic=b`, '-H', 'Last-Event-ID: 1:abc'], 400, 'BAD_LAST_EVENT_ID'],
      [[`${base}/v1/sse?topic=a&bogus=1`], 400, 'BAD_REQUEST'],
      [[`${base}/v1/sse?private=a`], 401, 'TOKEN_REQUIRED'],
      [[`${base}/v1/sse?private=a&token=wrong`], 401, 'UNAUTHENTICATED'],
      [[`${base}/v1/sse?topic=a`, '-H', 'Authorization: Bearer wrong'], 401, 'UNAUTHENTICATED'],
      [[`${base}/v1/sse?topic=a`, '-X', 'POST'], 405, 'METHOD_NOT_ALLOWED'],
      [[`${base}/v1/stream`], 405, 'METHOD_NOT_ALLOWED'],
      [[`${base}/v1/stream`, '-d', 'not json'], 400, 'BAD_BODY'],
      [[`${base}/v1/stream`, '-d', '{"subscriptions":[]}'], 400, 'BAD_BODY'],
      [[`${base}/v1/stream`, '-d', '{"subscriptions":[{"topic":"a","since":{"seq":-1}}]}'], 400, 'BAD_BODY'],
      [[`${base}/v1/stream`, '-d', '{"subscriptions":[{"topic":"a"}],"extra":1}'], 400, 'BAD_BODY'],
      [[`${base}/v1/stream`, '-d', JSON.stringify({ subscriptions: [1, 2, 3, 4].map((i) => ({ topic: `t${i}` })) })], 400, 'TOO_MANY_TOPICS'],
      [[`${base}/v1/stream`, '-H', 'Transfer-Encoding: chunked', '-d', '{}'], 411, 'LENGTH_REQUIRED'],
    ];
    const alive = curl(`${base}/v1/sse?topic=alive`);
    await alive.waitFor((x) => x.blocks.some((b) => b.id !== undefined), 'the other client to start');
    for (const [args, status, code] of cases) {
      const c = curl(...args);
      await c.exited();
      assert.equal(c.status, status, `${args.join(' ')}: ${c.text}`);
      assert.match(c.header('content-type') ?? '', /application\/json/);
      const body = JSON.parse(c.body) as { error: { code: string; message: string } };
      assert.equal(body.error.code, code, `${args.join(' ')}: ${c.text}`);
      assert.ok(body.error.message.length > 0);
    }
    await t.send({ topic: 'alive' }, 'still here');
    await alive.waitFor((x) => x.events.some((e) => e.data === 'still here'), 'the other client to keep receiving');
  });

  it('streams NDJSON: login reply, one reply per subscription in order, envelopes, keep-alive lines', async () => {
    const body = JSON.stringify({
      token: 'user:bob',
      subscriptions: [{ topic: 'n1' }, { topic: '' }, { topic: 'secret', private: true }],
    });
    const c = curl(`${base}/v1/stream`, '-H', 'content-type: application/json', '-d', body);
    await c.waitFor((x) => x.lines.length >= 4, 'the replies');
    assert.equal(c.status, 200);
    assert.equal(c.header('content-type'), 'application/x-ndjson');
    const [login, first, second, third] = c.lines;
    assert.equal(login.code, 20003);
    assert.deepEqual(login.detail, { uid: 'bob' });
    assert.equal(first.code, 20001);
    assert.equal(first.topic, 'n1');
    assert.equal(second.code, 30004);
    assert.equal(second.topic, '');
    assert.equal(third.code, 20001);
    assert.equal(third.private, true);
    await t.send({ topic: 'n1' }, 'public');
    await t.send({ uid: 'bob', topic: 'secret' }, Buffer.from([1, 2, 0xff]));
    await c.waitFor((x) => x.lines.length >= 6, 'two deliveries');
    const [pub, priv] = c.lines.slice(4);
    assert.equal(pub.topic, 'n1');
    assert.equal(pub.data, 'public');
    assert.equal(pub.seq, 1);
    assert.equal(priv.private, true);
    assert.equal(priv.dataBase64, Buffer.from([1, 2, 0xff]).toString('base64'));
    await c.waitFor((x) => /\n\n/.test(x.body), 'an empty keep-alive line');
  });

  it('closes the stream with event: close when the server API kicks the user', async () => {
    const sse = curl(`${base}/v1/sse?topic=k&token=user:carol`);
    const nd = curl(`${base}/v1/stream`, '-d', JSON.stringify({ token: 'user:carol', subscriptions: [{ topic: 'k' }] }));
    await sse.waitFor((x) => x.blocks.some((b) => b.id !== undefined), 'the SSE start');
    await nd.waitFor((x) => x.lines.length >= 2, 'the NDJSON replies');
    const res = await t.request('/v1/disconnect', { method: 'POST', body: JSON.stringify({ uid: 'carol', code: 4321, reason: 'bye' }) });
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(res.json, { disconnected: 2 });
    await sse.exited();
    await nd.exited();
    const close = sse.events.at(-1)!;
    assert.equal(close.event, 'close');
    assert.deepEqual(JSON.parse(close.data!), { code: 4321, reason: 'bye' });
    assert.deepEqual(nd.lines.at(-1), { code: 4321, message: 'bye', close: true });
  });

  it('resumes from Last-Event-ID without loss, and says gap when the epoch is unknown', async () => {
    const c = curl(`${base}/v1/sse?topic=r1&topic=r2`);
    await c.waitFor((x) => x.blocks.some((b) => b.id !== undefined), 'the start');
    await t.send({ topic: 'r1' }, 'one');
    await c.waitFor((x) => x.events.length === 1, 'one event');
    const cursor = c.events[0].id!;
    c.kill();
    await t.send({ topic: 'r1' }, 'two');
    await t.send({ topic: 'r2' }, 'three');
    const resumed = curl(`${base}/v1/sse?topic=r1&topic=r2`, '-H', `Last-Event-ID: ${cursor}`);
    await resumed.waitFor((x) => x.events.length === 2, 'the replay');
    assert.deepEqual(resumed.events.map((e) => e.data), ['two', 'three']);
    const gap = curl(`${base}/v1/sse?topic=r1&lastEventId=${encodeURIComponent('5:unknown-epoch')}`);
    await gap.waitFor((x) => x.events.length === 1, 'the gap event');
    assert.equal(gap.events[0].event, 'gap');
    const data = JSON.parse(gap.events[0].data!) as { stream: string; position: { seq: number; epoch: string } };
    assert.equal(data.stream, 'r1');
    assert.equal(data.position.seq, 2);
  });

  it('starts a resumed stream at the cursor it resumes from, not past the replay that follows', async () => {
    // EventSource remembers the id of the data-less start block: a start cursor past the replay
    // would make a reconnect between the two skip what was replayed.
    const c = curl(`${base}/v1/sse?topic=s1&topic=s2`);
    await c.waitFor((x) => x.blocks.some((b) => b.id !== undefined), 'the start');
    await t.send({ topic: 's1' }, 'one');
    await c.waitFor((x) => x.events.length === 1, 'one event');
    const cursor = c.events[0].id!;
    c.kill();
    await t.send({ topic: 's1' }, 'two');
    await t.send({ topic: 's2' }, 'three');
    const resumed = curl(`${base}/v1/sse?topic=s1&topic=s2`, '-H', `Last-Event-ID: ${cursor}`);
    await resumed.waitFor((x) => x.events.length === 2, 'the replay');
    const start = resumed.blocks.find((b) => b.id !== undefined)!;
    assert.equal(start.data, undefined);
    assert.equal(start.id, cursor);
    assert.deepEqual(resumed.events.map((e) => e.data), ['two', 'three']);
  });
});
