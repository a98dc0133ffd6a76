/**
 * Topics and uids must be well-formed Unicode, and uids free of control
 * characters, wherever they enter: client ops 1 and 5, the HTTP push API
 * (single and batch), and logins (JWT `sub`, the auth URL's uid). A lone
 * surrogate such as "\ud800" survives JSON but becomes U+FFFD once UTF-8
 * encoded, so "S\ud800" and "S\udfff" would otherwise share one Redis channel
 * and stream and receive each other's pushes.
 */
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import { CompactSign } from 'jose';
import { AuthUrlVerifier } from '../../src/auth/auth-url-verifier.js';
import { JwtVerifier } from '../../src/auth/jwt-verifier.js';
import { checkTopic, checkUid, DEFAULT_TOPIC_RULES } from '../../src/util/topic-rules.js';
import { okReply, replyJson, startAuthServer, type AuthServer } from '../helpers/auth-server.js';
import { startNode, type TestNode } from '../helpers/herald-node.js';

const LONE = ['S\ud800', 'S\udfff', '\udc00x', 'x\ud83d'];
const CONTROL_UIDS = ['a\u0000b', 'line\nbreak', 'del\u007f', 'c1\u0085'];
const SECRET = 'well-formed-secret-of-at-least-32-bytes!';

/** An HS256 JWT whose payload is exactly `json` (so it can carry escapes such as \ud800 that a JSON encoder would repair). */
function signRaw(json: string): Promise<string> {
  return new CompactSign(new TextEncoder().encode(json)).setProtectedHeader({ alg: 'HS256' }).sign(new TextEncoder().encode(SECRET));
}

describe('topic and uid checks', () => {
  it('checkTopic refuses lone surrogates and accepts surrogate pairs', () => {
    for (const topic of LONE) assert.match(checkTopic(topic, DEFAULT_TOPIC_RULES) ?? '', /well-formed/, JSON.stringify(topic));
    assert.equal(checkTopic('emoji-😀', DEFAULT_TOPIC_RULES), undefined);
    assert.equal(checkTopic('新闻', DEFAULT_TOPIC_RULES), undefined);
  });

  it('checkUid refuses lone surrogates, control characters, empty and over-long uids', () => {
    for (const uid of LONE) assert.match(checkUid(uid) ?? '', /well-formed/);
    for (const uid of CONTROL_UIDS) assert.match(checkUid(uid) ?? '', /control/);
    assert.match(checkUid('') ?? '', /empty/);
    assert.match(checkUid('u'.repeat(1025)) ?? '', /longer/);
    assert.equal(checkUid('u'.repeat(1024)), undefined);
    assert.equal(checkUid('用户-😀'), undefined);
  });
});

describe('e2e: ill-formed topics and uids are refused at every entry', () => {
  let h: TestNode;
  before(async () => {
    h = await startNode({ verifier: new JwtVerifier({ secret: SECRET }) });
  });
  afterEach(async () => {
    await h.closeClients();
  });
  after(async () => {
    await h.stop();
  });

  it('op 1 and op 5 with a lone surrogate in the topic → 30004; the connection keeps working', async () => {
    const c = await h.connect();
    await c.login(await signRaw('{"sub":"alice"}'), 'alice');
    for (const topic of LONE) {
      const reply = await c.op(1, { topic }, 30004);
      assert.match(String(reply.detail), /well-formed/);
      await c.op(5, { topic }, 30004);
    }
    assert.equal(h.node.hub.subscriptionCount, 0);
    assert.equal(h.node.hub.topicCount, 0);
    await c.subscribe('S');
    await h.send({ topic: 'S' }, 'still-here');
    assert.deepEqual(await c.sync(), ['still-here']);
  });

  it('HTTP push with a lone surrogate in topic or uid → 400 INVALID_TOPIC / INVALID_UID; uids with control characters → 400', async () => {
    const data = Buffer.from('x').toString('base64');
    for (const bad of LONE) {
      const topic = await h.push({ topic: bad, data });
      assert.equal(topic.status, 400, topic.text);
      assert.equal(topic.json.error.code, 'INVALID_TOPIC');
      const uid = await h.push({ uid: bad, data });
      assert.equal(uid.status, 400, uid.text);
      assert.equal(uid.json.error.code, 'INVALID_UID');
      assert.match(uid.json.error.message, /well-formed/);
    }
    for (const bad of CONTROL_UIDS) {
      const uid = await h.push({ uid: bad, topic: 't', data });
      assert.equal(uid.status, 400, uid.text);
      assert.equal(uid.json.error.code, 'INVALID_UID');
      assert.match(uid.json.error.message, /control/);
    }
    const batch = await h.pushBatch([
      { topic: 'S\ud800', data: 'a' },
      { uid: 'S\udfff', data: 'b' },
      { uid: 'tab\tuid', data: 'c' },
      { topic: 'fine', data: 'd' },
    ]);
    assert.equal(batch.status, 200, batch.text);
    assert.deepEqual(
      batch.json.results.map((r: { ok: boolean; error?: { code: string } }) => (r.ok ? 'ok' : r.error?.code)),
      ['INVALID_TOPIC', 'INVALID_UID', 'INVALID_UID', 'ok'],
    );
  });

  it('a JWT whose sub has a lone surrogate or a control character → 30003; a well-formed one logs in', async () => {
    const c = await h.connect();
    for (const sub of ['\\ud800', 'S\\udfff', 'a\\u0000b', 'new\\nline', 'c1\\u0085']) {
      const reply = await c.op(3, { data: await signRaw(`{"sub":"${sub}"}`) }, 30003);
      assert.equal(reply.detail, 'invalid');
      await c.op(5, { topic: 'inbox' }, 30002);
    }
    assert.equal(h.node.hub.userCount, 0);
    await c.login(await signRaw('{"sub":"\\ud83d\\ude00"}'), '😀');
  });
});

describe('e2e: ill-formed uids from the auth URL', () => {
  let auth: AuthServer;
  let h: TestNode;
  before(async () => {
    // The token names the uid the service answers with (JSON.stringify escapes lone surrogates as \ud800).
    auth = await startAuthServer((_req, res, body) => replyJson(res, okReply((JSON.parse(body) as { token: string }).token)));
    h = await startNode({ verifier: new AuthUrlVerifier({ url: auth.url, timeoutMs: 5_000 }) });
  });
  after(async () => {
    await h.stop();
    await auth.close();
  });

  it('a uid with a lone surrogate or a control character → 30003; a well-formed one logs in', async () => {
    const c = await h.connect();
    for (const uid of [...LONE, ...CONTROL_UIDS]) {
      const reply = await c.op(3, { data: uid }, 30003);
      assert.equal(reply.detail, 'invalid', JSON.stringify(uid));
    }
    assert.equal(h.node.hub.userCount, 0);
    await c.login('bob-😀', 'bob-😀');
    await c.close();
  });
});
