/**
 * The HTTP push API end to end: every refusal is a status plus
 * `{"error":{"code","message"},"code","message","details"}` and leaves the node serving; batch results;
 * health, readiness and Prometheus metrics.
 */
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { metricValue, startNode, waitUntil, type ApiResponse, type TestClient, type TestNode } from '../helpers/herald-node.js';
import { SwitchableEngine } from '../grpc/switchable-engine.js';

/** The response is `status` with the standard error body (and `code` when given). */
function assertError(res: ApiResponse, status: number, code?: string): void {
  assert.equal(res.status, status, `expected ${status}, got ${res.status} ${res.text}`);
  assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
  assert.equal(typeof res.json?.error, 'object', `no error object in ${res.text}`);
  assert.equal(typeof res.json.error.code, 'string');
  assert.equal(typeof res.json.error.message, 'string');
  // gpush's grpc-gateway fields beside Herald's error object (PROTOCOL.md, Differences from gpush).
  assert.deepEqual(Object.keys(res.json), ['error', 'code', 'message', 'details']);
  assert.equal(typeof res.json.code, 'number');
  assert.equal(res.json.message, res.json.error.message);
  assert.deepEqual(res.json.details, []);
  if (status === 400) assert.equal(res.json.code, 3, 'INVALID_ARGUMENT, as grpc-gateway answered for gpush');
  if (code !== undefined) assert.equal(res.json.error.code, code, res.text);
}

/** POST `total` bytes of `{"data":"AAAA…` in chunks with Transfer-Encoding: chunked (no Content-Length). */
function postChunked(url: string, total: number): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    let answered = false;
    const req = httpRequest(url, { method: 'POST', headers: { 'content-type': 'application/json' } }, (res) => {
      answered = true;
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
    });
    // Once the server has answered it may drop the connection while we still write: that is fine.
    req.on('error', (error) => {
      if (!answered) reject(error);
    });
    req.write('{"data":"');
    const chunk = 'A'.repeat(16 * 1024);
    for (let sent = 0; sent < total; sent += chunk.length) req.write(chunk);
    req.end('"}');
  });
}

describe('e2e: push API refusals', () => {
  let h: TestNode;
  let watcher: TestClient;
  let seq = 0;

  /** The node still delivers to a connected client. */
  async function stillServing(): Promise<void> {
    const marker = `alive-${seq++}`;
    await h.send({ topic: 'watch' }, marker);
    assert.deepEqual(await watcher.sync(), [marker]);
  }

  before(async () => {
    h = await startNode({ maxPushBytes: 1024, maxBatchItems: 10 });
    watcher = await h.connect();
    await watcher.subscribe('watch');
  });
  after(async () => {
    await h.stop();
  });

  it('a body that is not JSON → 400', async () => {
    for (const body of ['not json', '{"data":', '', '{"data":"aGk="}x']) {
      assertError(await h.push(body), 400, 'INVALID_JSON');
    }
    await stillServing();
  });

  it('a JSON array, number, string or null to /v1/pushData → 400', async () => {
    for (const body of ['[]', '[{"data":"aGk="}]', '42', '"aGk="', 'null', 'true']) {
      assertError(await h.push(body), 400, 'BAD_REQUEST');
    }
    await stillServing();
  });

  it('data that is not base64 ("!!", "a", "ab=c", "aGk=x") → 400; unpadded base64 ("abc") is accepted as protojson does', async () => {
    for (const data of ['!!', 'a', 'ab=c', 'aGk=x', 'a b c', 'aGk===']) {
      assertError(await h.push({ topic: 'watch', data }), 400, 'INVALID_BASE64');
    }
    // "abc" is the unpadded base64 of 69 b7 (gpush's grpc-gateway decodes it too); 0xb7 alone is not UTF-8.
    assert.equal((await h.push({ topic: 'watch', data: 'abc' })).status, 200);
    assert.deepEqual(await watcher.sync(), ['0x69b7']);
    // URL-safe alphabet: "-_8" is fb ff.
    assert.equal((await h.push({ topic: 'watch', data: '-_8' })).status, 200);
    assert.deepEqual(await watcher.sync(), ['0xfbff']);
    await stillServing();
  });

  it('data as a number, object, array or boolean → 400', async () => {
    for (const data of [123, { b: 1 }, ['aGk='], true]) {
      assertError(await h.push({ topic: 'watch', data }), 400, 'INVALID_DATA');
    }
    await stillServing();
  });

  it('uid or topic of the wrong type → 400', async () => {
    for (const uid of [123, { u: 1 }, ['u'], true]) {
      assertError(await h.push({ uid, topic: 'watch', data: 'aGk=' }), 400, 'INVALID_UID');
    }
    for (const topic of [123, { t: 1 }, ['watch'], false]) {
      assertError(await h.push({ topic, data: 'aGk=' }), 400, 'INVALID_TOPIC');
    }
    assert.deepEqual(await watcher.sync(), [], 'a refused push is not delivered');
    await stillServing();
  });

  it('a topic too long (257 bytes with the default 256) or with a control character → 400', async () => {
    assertError(await h.push({ topic: 'w'.repeat(257), data: 'aGk=' }), 400, 'INVALID_TOPIC');
    assertError(await h.push({ topic: 'wat\nch', data: 'aGk=' }), 400, 'INVALID_TOPIC');
    assertError(await h.push({ uid: 'u', topic: 'w'.repeat(300), data: 'aGk=' }), 400, 'INVALID_TOPIC');
    assert.equal((await h.push({ topic: 'w'.repeat(256), data: 'aGk=' })).status, 200);
    await stillServing();
  });

  it('a payload over maxPushBytes (1024) → 413; exactly 1024 bytes → 200', async () => {
    assertError(await h.push({ topic: 'watch', data: Buffer.alloc(1025, 1).toString('base64') }), 413, 'PAYLOAD_TOO_LARGE');
    assert.deepEqual(await watcher.sync(), []);
    await h.send({ topic: 'watch' }, Buffer.alloc(1024, 'x'));
    assert.deepEqual(await watcher.sync(), ['x'.repeat(1024)]);
    await stillServing();
  });

  it('a body far over the limit, declared by Content-Length → 413', async () => {
    const body = JSON.stringify({ topic: 'watch', data: Buffer.alloc(1024 * 1024).toString('base64') });
    assertError(await h.push(body), 413, 'BODY_TOO_LARGE');
    assertError(await h.pushBatch(`[${body}]`), 413, 'BODY_TOO_LARGE');
    await stillServing();
  });

  it('a body far over the limit, streamed without Content-Length (chunked) → 413', async () => {
    for (const path of ['/v1/pushData', '/v1/push']) {
      const res = await postChunked(`${h.apiUrl}${path}`, 1024 * 1024);
      assert.equal(res.status, 413, res.body);
      const body = JSON.parse(res.body);
      assert.equal(body.error.code, 'BODY_TOO_LARGE');
      assert.equal(typeof body.error.message, 'string');
    }
    await stillServing();
  });

  it('/v1/push with a non-array body → 400', async () => {
    for (const body of ['{"data":"x"}', '42', '"x"', 'null']) {
      assertError(await h.pushBatch(body), 400, 'BAD_REQUEST');
    }
    assertError(await h.pushBatch('[{"data":'), 400, 'INVALID_JSON');
    await stillServing();
  });

  it('/v1/push with more than maxBatchItems (10) → 413, nothing delivered; exactly 10 → 200', async () => {
    const items = Array.from({ length: 11 }, (_, i) => ({ topic: 'watch', data: `over-${i}` }));
    assertError(await h.pushBatch(items), 413, 'TOO_MANY_ITEMS');
    assert.deepEqual(await watcher.sync(), []);
    const ten = await h.pushBatch(items.slice(0, 10));
    assert.equal(ten.status, 200);
    assert.equal(ten.json.accepted, 10);
    assert.deepEqual(await watcher.sync(), items.slice(0, 10).map((item) => item.data));
    const empty = await h.pushBatch([]);
    assert.equal(empty.status, 200);
    assert.deepEqual(empty.json, { accepted: 0, failed: 0, results: [] });
    await stillServing();
  });

  it('/v1/push with mixed good and bad items → 200 with per-item results in order; the good items ARE delivered', async () => {
    const items: unknown[] = [
      { topic: 'watch', data: 'good-1' },
      42,
      { topic: 'watch' }, // neither data nor dataBase64
      { topic: 'watch', data: 'x', dataBase64: 'eA==' }, // both
      { topic: 'watch', dataBase64: '!!' },
      { topic: 5, data: 'x' },
      { uid: {}, data: 'x' },
      { topic: 'watch', data: 'y'.repeat(1025) },
      { topic: 'watch', dataBase64: Buffer.from('good-2').toString('base64') },
      { topic: 'watch\u0000', data: 'x' },
    ];
    const res = await h.pushBatch(items);
    assert.equal(res.status, 200, res.text);
    assert.equal(res.json.accepted, 2);
    assert.equal(res.json.failed, 8);
    const results = res.json.results as { ok: boolean; error?: { code: string; message: string } }[];
    assert.equal(results.length, items.length);
    assert.deepEqual(results[0], { ok: true });
    assert.deepEqual(results[8], { ok: true });
    const codes = results.map((r) => (r.ok ? 'ok' : r.error?.code));
    assert.deepEqual(codes, [
      'ok',
      'BAD_REQUEST',
      'INVALID_DATA',
      'INVALID_DATA',
      'INVALID_BASE64',
      'INVALID_TOPIC',
      'INVALID_UID',
      'PAYLOAD_TOO_LARGE',
      'ok',
      'INVALID_TOPIC',
    ]);
    for (const r of results) {
      if (r.ok) assert.deepEqual(Object.keys(r), ['ok']);
      else assert.equal(typeof r.error?.message, 'string');
    }
    assert.deepEqual(await watcher.sync(), ['good-1', 'good-2']);
  });

  it('GET (or PUT, DELETE) on /v1/pushData and /v1/push → 405', async () => {
    for (const path of ['/v1/pushData', '/v1/push']) {
      for (const method of ['GET', 'PUT', 'DELETE']) {
        assertError(await h.request(path, { method }), 405, 'METHOD_NOT_ALLOWED');
      }
    }
    assertError(await h.request('/healthz', { method: 'POST', body: '{}' }), 405, 'METHOD_NOT_ALLOWED');
    await stillServing();
  });

  it('an unknown path → 404', async () => {
    for (const path of ['/', '/v1/pushdata', '/v1/pushData/extra', '/order.Proxy/PullData', '/ws']) {
      assertError(await h.request(path, { method: 'POST', body: '{}' }), 404, 'NOT_FOUND');
    }
    assertError(await h.request('/nope'), 404, 'NOT_FOUND');
    await stillServing();
  });

  it('a query string does not change the route', async () => {
    const res = await h.push({ topic: 'watch', data: Buffer.from('with-query').toString('base64') });
    assert.equal(res.status, 200);
    const q = await h.request('/v1/pushData?x=1', {
      method: 'POST',
      body: JSON.stringify({ topic: 'watch', data: Buffer.from('with-query-2').toString('base64') }),
    });
    assert.equal(q.status, 200);
    assert.deepEqual(await watcher.sync(), ['with-query', 'with-query-2']);
  });

  it('GET /healthz → 200 and GET /readyz → 200 while started', async () => {
    const health = await h.request('/healthz');
    assert.equal(health.status, 200);
    assert.deepEqual(health.json, { status: 'ok' });
    const ready = await h.request('/readyz');
    assert.equal(ready.status, 200);
    assert.deepEqual(ready.json, { status: 'ready' });
  });
});

describe('e2e: metrics and readiness', () => {
  it('GET /metrics → Prometheus text with Herald’s metrics, and the values move with activity', async () => {
    const h = await startNode();
    try {
      const names = [
        'herald_connections',
        'herald_connections_total',
        'herald_subscriptions',
        'herald_messages_sent_total',
        'herald_bytes_sent_total',
        'herald_pushes_total',
        'herald_messages_dropped_total',
        'herald_auth_failures_total',
      ];
      let res = await h.request('/metrics');
      assert.equal(res.status, 200);
      assert.match(res.headers.get('content-type') ?? '', /^text\/plain/);
      for (const name of names) assert.match(res.text, new RegExp(`^# TYPE ${name} (gauge|counter)$`, 'm'), name);
      assert.equal(metricValue(res.text, 'herald_connections'), 0);
      assert.equal(metricValue(res.text, 'herald_messages_sent_total'), 0);

      const clients = [await h.connect(), await h.connect(), await h.connect()];
      await clients[0].subscribe('m');
      await clients[1].subscribe('m');
      await clients[2].op(3, { data: 'x' }, 30003); // no verifier: an auth failure
      clients[2].send('garbage');
      await clients[2].nextReply(30001);
      res = await h.request('/metrics');
      assert.equal(metricValue(res.text, 'herald_connections'), 3);
      assert.equal(metricValue(res.text, 'herald_connections_total'), 3);
      assert.equal(metricValue(res.text, 'herald_subscriptions'), 2);
      assert.equal(metricValue(res.text, 'herald_auth_failures_total{reason="not_configured"}'), 1);
      assert.equal(metricValue(res.text, 'herald_bad_requests_total'), 1);
      const sent0 = metricValue(res.text, 'herald_messages_sent_total') ?? NaN;
      const bytes0 = metricValue(res.text, 'herald_bytes_sent_total') ?? NaN;

      await h.send({ topic: 'm' }, 'metric-push'); // 2 receivers
      await h.send({}, 'to-all'); // 3 receivers
      const batch = await h.pushBatch([{ topic: 'm', data: 'b' }, 7]); // 2 receivers + 1 failed item
      assert.equal(batch.status, 200);
      assertError(await h.push('not json'), 400);
      res = await h.request('/metrics');
      assert.equal(metricValue(res.text, 'herald_messages_sent_total'), sent0 + 7);
      const frameBytes = 2 * (2 + 'metric-push'.length) + 3 * (2 + 'to-all'.length) + 2 * (2 + 1);
      assert.equal(metricValue(res.text, 'herald_bytes_sent_total'), bytes0 + frameBytes);
      // gpush's names, same values (PROTOCOL.md, Differences from gpush).
      assert.equal(metricValue(res.text, 'websocket_current_connections'), 3);
      assert.equal(metricValue(res.text, 'websocket_total_connections'), 3);
      assert.equal(metricValue(res.text, 'websocket_messages_sent_total'), metricValue(res.text, 'herald_messages_sent_total'));
      assert.equal(metricValue(res.text, 'websocket_bytes_sent_total'), metricValue(res.text, 'herald_bytes_sent_total'));
      assert.equal(metricValue(res.text, 'herald_pushes_total{api="http",result="ok"}'), 2);
      assert.equal(metricValue(res.text, 'herald_pushes_total{api="http_batch",result="ok"}'), 1);
      assert.equal(metricValue(res.text, 'herald_pushes_total{api="http_batch",result="failed"}'), 1);
      assert.equal(metricValue(res.text, 'herald_messages_dropped_total'), 0);

      await clients[0].close();
      await clients[1].close();
      await waitUntil(() => h.node.hub.clientCount === 1, 'the node to drop the closed clients');
      res = await h.request('/metrics');
      assert.equal(metricValue(res.text, 'herald_connections'), 1);
      assert.equal(metricValue(res.text, 'herald_subscriptions'), 0);
      assert.equal(metricValue(res.text, 'herald_connections_total'), 3);
    } finally {
      await h.stop();
    }
  });

  it('GET /readyz → 503 once stop has begun (while clients are still closing)', async () => {
    const h = await startNode({ closeTimeoutMs: 10_000, shutdownTimeoutMs: 10_000 });
    const c = await h.connect();
    assert.equal((await h.request('/readyz')).status, 200);
    // A client that does not read cannot finish the closing handshake, so the drain stays in progress.
    c.ws.pause();
    const stopping = h.node.stop();
    const res = await h.request('/readyz');
    assert.equal(res.status, 503);
    assert.deepEqual(res.json, { status: 'not ready' });
    assert.equal((await h.request('/healthz')).status, 200);
    c.ws.resume();
    assert.equal((await c.closed()).code, 1001);
    await stopping;
    await h.stop();
  });
});

describe('e2e: POST /v1/push while the engine cannot accept', () => {
  let t: TestNode;
  const engine = new SwitchableEngine();
  before(async () => {
    t = await startNode({ engine });
  });
  after(() => t.stop());

  it('answers 503 UNAVAILABLE (Retry-After, the error object and every item failed) when no item was taken; 200 with per-item results when some were', async () => {
    engine.accepting = false;
    const down = await t.pushBatch([{ topic: 'a', data: 'x' }, { topic: 'b', data: 'y' }]);
    assert.equal(down.status, 503, down.text);
    assert.equal(down.headers.get('retry-after'), '1');
    const body = down.json as { error: { code: string }; accepted: number; failed: number; results: { ok: boolean; error?: { code: string } }[] };
    assert.equal(body.error.code, 'UNAVAILABLE');
    assert.equal(body.accepted, 0);
    assert.equal(body.failed, 2);
    assert.deepEqual(body.results.map((r) => r.error?.code), ['UNAVAILABLE', 'UNAVAILABLE']);
    // An invalid item beside the refused ones is a client error the backend must see per item: 200.
    const mixed = await t.pushBatch([{ topic: 'a', data: 'x' }, { topic: 'b' }]);
    assert.equal(mixed.status, 200, mixed.text);
    engine.accepting = true;
    engine.refuse = (p) => p.topic === 'b';
    const partly = await t.pushBatch([{ topic: 'a', data: 'x' }, { topic: 'b', data: 'y' }]);
    assert.equal(partly.status, 200, partly.text);
    assert.deepEqual((partly.json as { accepted: number; failed: number }).accepted, 1);
    engine.refuse = () => false;
  });
});
