import assert from 'node:assert/strict';
import { createConnection, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { metricValue, startNode, waitUntil, type TestNode } from '../helpers/herald-node.js';
import { CurlStream } from './curl-stream.js';

/** SSE clients meet the WebSocket bounds (slow consumers), and /metrics counts them by transport. */
describe('SSE bounds and metrics', () => {
  let t: TestNode;
  before(async () => {
    t = await startNode({ maxBufferedBytes: 64 * 1024 });
  });
  after(() => t.stop());

  it('closes an SSE client that stops reading once its unwritten bytes pass --max-buffered-bytes', async () => {
    const socket: Socket = createConnection({ host: '127.0.0.1', port: t.wsPort });
    await new Promise((resolve) => socket.once('connect', resolve));
    let received = 0;
    socket.once('data', (chunk: Buffer) => {
      received += chunk.length;
      // From here on it reads nothing: the kernel's buffers fill, then the server's bound.
      socket.pause();
    });
    socket.write('GET /v1/sse?topic=flood HTTP/1.1\r\nHost: x\r\n\r\n');
    await waitUntil(() => received > 0 && t.node.hub.topicCount === 1, 'the stream to start');
    const before = t.node.ws.slowConsumerEvents;
    const payload = 'x'.repeat(16 * 1024);
    // Bounded: at most 4,000 pushes of 16 KiB (64 MiB), far past loopback's socket buffers.
    for (let i = 0; i < 4000 && t.node.ws.slowConsumerEvents === before; i++) {
      await t.send({ topic: 'flood' }, payload);
    }
    assert.ok(t.node.ws.slowConsumerEvents > before, 'the slow consumer was caught');
    // Closed: the hub forgets it (after the close timeout at worst, since the peer reads nothing).
    await waitUntil(() => t.node.hub.clientCount === 0, 'the slow client to be dropped');
    socket.destroy();
  });

  it('closes an NDJSON stream that stops reading, with its close line queued last', async () => {
    const socket: Socket = createConnection({ host: '127.0.0.1', port: t.wsPort });
    await new Promise((resolve) => socket.once('connect', resolve));
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.pause();
    const body = JSON.stringify({ subscriptions: [{ topic: 'flood2' }] });
    socket.write(`POST /v1/stream HTTP/1.1\r\nHost: x\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
    await waitUntil(() => t.node.hub.topicCount === 1, 'the stream to subscribe');
    const before = t.node.ws.slowConsumerEvents;
    const payload = 'y'.repeat(16 * 1024);
    for (let i = 0; i < 4000 && t.node.ws.slowConsumerEvents === before; i++) await t.send({ topic: 'flood2' }, payload);
    assert.ok(t.node.ws.slowConsumerEvents > before);
    // Now read everything: the stream ends with the 4001 line.
    socket.resume();
    await new Promise((resolve) => socket.once('end', resolve));
    const lines = Buffer.concat(chunks).toString().split('\r\n\r\n')[1].trim().split('\n');
    assert.deepEqual(JSON.parse(lines.at(-1)!), { code: 4001, message: 'slow consumer', close: true });
    socket.destroy();
    await waitUntil(() => t.node.hub.clientCount === 0, 'the client to be dropped');
  });

  it('counts connections, messages and bytes by transport in /metrics and /v1/stats', async () => {
    const sse = new CurlStream([`http://127.0.0.1:${t.wsPort}/v1/sse?topic=m`]);
    const nd = new CurlStream([`http://127.0.0.1:${t.wsPort}/v1/stream`, '-d', '{"subscriptions":[{"topic":"m"}]}']);
    try {
      const ws = await t.connect();
      await ws.subscribe('m');
      await sse.waitFor((x) => x.blocks.some((b) => b.id !== undefined), 'the SSE start');
      await nd.waitFor((x) => x.lines.length === 1, 'the NDJSON reply');
      const metricsBefore = (await t.request('/metrics')).text;
      await t.send({ topic: 'm' }, 'counted');
      await sse.waitFor((x) => x.events.length === 1, 'the SSE event');
      await nd.waitFor((x) => x.lines.length === 2, 'the NDJSON line');
      assert.equal(await ws.nextText(), 'counted');
      const metrics = (await t.request('/metrics')).text;
      for (const transport of ['websocket', 'sse', 'stream']) {
        assert.equal(metricValue(metrics, `herald_transport_connections{transport="${transport}"}`), 1, transport);
        const sample = `herald_transport_messages_total{transport="${transport}"}`;
        assert.equal(metricValue(metrics, sample)! - metricValue(metricsBefore, sample)!, 1, transport);
      }
      const bytes = (m: string, transport: string) => metricValue(m, `herald_transport_bytes_total{transport="${transport}"}`)!;
      assert.equal(bytes(metrics, 'websocket') - bytes(metricsBefore, 'websocket'), 2 + 'counted'.length);
      assert.equal(bytes(metrics, 'stream') - bytes(metricsBefore, 'stream'), nd.body.split('\n')[1].length + 1);
      assert.ok(bytes(metrics, 'sse') - bytes(metricsBefore, 'sse') > 'data: counted\n\n'.length);
      const stats = (await t.request('/v1/stats')).json;
      assert.deepEqual(stats.transports.sse, { connections: 1, messagesSent: metricValue(metrics, 'herald_transport_messages_total{transport="sse"}') });
      assert.equal(stats.connections, 3);
    } finally {
      sse.kill();
      nd.kill();
      await t.closeClients();
    }
  });
});

describe('SSE resume larger than the buffer bound', () => {
  it('replays a history larger than --max-buffered-bytes in paced pieces, none lost', async () => {
    const t = await startNode({ maxBufferedBytes: 64 * 1024, historySize: 100 });
    const base = `http://127.0.0.1:${t.wsPort}`;
    // Two streams: the first's replay then runs before the second has answered, i.e. before the response starts.
    const first = new CurlStream([`${base}/v1/sse?topic=big&topic=other`]);
    let resumed: CurlStream | undefined;
    try {
      await first.waitFor((x) => x.blocks.some((b) => b.id !== undefined), 'the start');
      const start = first.blocks.find((b) => b.id !== undefined)!.id!;
      first.kill();
      // 40 × 8 KiB = 320 KiB of history, five times the bound.
      for (let i = 0; i < 40; i++) await t.send({ topic: 'big' }, `${i}:${'z'.repeat(8 * 1024)}`);
      resumed = new CurlStream([`${base}/v1/sse?topic=big&topic=other&lastEventId=${encodeURIComponent(start)}`]);
      await resumed.waitFor((x) => x.events.length === 40, 'the whole replay', 20_000);
      assert.deepEqual(resumed.events.map((e) => Number(e.data!.split(':')[0])), [...Array(40).keys()]);
      assert.match(resumed.events[39].id!, /^40:[^,]+,/);
    } finally {
      first.kill();
      resumed?.kill();
      await t.stop();
    }
  });

  it('replays two streams at once, each larger than the bound: neither waits forever for the other', async () => {
    const t = await startNode({ maxBufferedBytes: 16 * 1024, historySize: 100 });
    const base = `http://127.0.0.1:${t.wsPort}`;
    const first = new CurlStream([`${base}/v1/sse?topic=left&topic=right`]);
    let resumed: CurlStream | undefined;
    try {
      await first.waitFor((x) => x.blocks.some((b) => b.id !== undefined), 'the start');
      const start = first.blocks.find((b) => b.id !== undefined)!.id!;
      first.kill();
      // 30 × 2 KiB per stream: each replay alone is four times the bound, so both wait for drains at once.
      for (let i = 0; i < 30; i++) {
        await t.send({ topic: 'left' }, `L${i}:${'l'.repeat(2048)}`);
        await t.send({ topic: 'right' }, `R${i}:${'r'.repeat(2048)}`);
      }
      resumed = new CurlStream([`${base}/v1/sse?topic=left&topic=right`, '-H', `Last-Event-ID: ${start}`]);
      await resumed.waitFor((x) => x.events.length === 60, 'both replays in full', 20_000);
      const of = (side: string): string[] => resumed!.events.map((e) => e.data!.split(':')[0]).filter((d) => d.startsWith(side));
      assert.deepEqual(of('L'), [...Array(30).keys()].map((i) => `L${i}`));
      assert.deepEqual(of('R'), [...Array(30).keys()].map((i) => `R${i}`));
    } finally {
      first.kill();
      resumed?.kill();
      await t.stop();
    }
  });
});
