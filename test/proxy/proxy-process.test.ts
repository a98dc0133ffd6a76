/**
 * The `herald` process with a config file (namespaces + subscribe and connect proxies) against a
 * real HTTP backend: the options reach the session, and a bad proxy URL stops the start with a
 * message naming the option.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import WebSocket from 'ws';
import { HERALD_MAIN, HeraldProcess } from '../helpers/herald-process.js';
import { startHttpBackend, type Behave, type ProxyBackend } from '../helpers/proxy-backend.js';
import { TestClient } from '../helpers/herald-node.js';

const BACKEND: Behave = (request) => {
  if ('topic' in request) {
    return request.topic === 'order:mine' ? { answer: { result: {} } } : { answer: { error: { code: 403, message: 'not yours' } } };
  }
  const cookie = (request.headers as Record<string, string>).cookie;
  return cookie === 'sid=1' ? { answer: { result: { uid: 'u1' } } } : { answer: { disconnect: { reason: 'who are you' } } };
};

async function connect(url: string, cookie: string, protocol?: string): Promise<TestClient> {
  const client = new TestClient(new WebSocket(url, protocol === undefined ? [] : [protocol], { headers: { cookie } }));
  await new Promise<void>((resolve, reject) => client.ws.once('open', resolve).once('error', reject));
  await client.nextReply(20000);
  return client;
}

describe('herald process with proxies from a config file', { timeout: 60_000 }, () => {
  let dir: string;
  let backend: ProxyBackend;
  let herald: HeraldProcess | undefined;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'herald-proxy-'));
    backend = await startHttpBackend(BACKEND);
  });
  after(async () => {
    await backend.close();
    rmSync(dir, { recursive: true, force: true });
  });
  afterEach(async () => {
    await herald?.stop();
    herald = undefined;
  });

  it('asks the backend for proxy namespaces and at connect, as configured', async () => {
    const config = join(dir, 'herald.json');
    writeFileSync(
      config,
      JSON.stringify({
        namespaces: [{ topics: 'order:*', subscribe: 'proxy' }],
        subscribeProxyUrl: backend.url,
        subscribeProxyCacheMs: 60_000,
        connectProxyUrl: backend.url,
        connectProxyHeaders: ['cookie'],
      }),
    );
    herald = await HeraldProcess.start({ name: 'proxy', args: ['--config', config] });
    assert.equal(herald.started.subscribeProxy, true);
    assert.equal(herald.started.connectProxy, true);
    const client = await connect(herald.wsUrl, 'sid=1');
    assert.deepEqual((await client.nextReply(20003)).detail, { uid: 'u1' });
    assert.equal((await client.op(1, { topic: 'order:mine' })).code, 20001);
    const refused = await client.op(1, { topic: 'order:theirs' });
    assert.equal(refused.code, 30008);
    assert.equal(refused.detail, 'refused by the backend: not yours');
    assert.equal((await client.op(1, { topic: 'news' })).code, 20001, 'a topic of no namespace is not asked');
    assert.deepEqual(
      backend.requests.map((r) => r.topic ?? 'connect'),
      ['connect', 'order:mine', 'order:theirs'],
    );
    const stranger = await connect(herald.wsUrl, 'sid=2', 'herald.v1');
    assert.deepEqual(await stranger.closed(), { code: 4500, reason: 'refused by the backend: who are you' });
    const metrics = await (await fetch(`${herald.apiUrl}/metrics`)).text();
    assert.match(metrics, /herald_proxy_calls_total\{kind="connect",result="allowed"\} 1/);
    assert.match(metrics, /herald_proxy_calls_total\{kind="connect",result="refused"\} 1/);
  });

  it('under --workers, the workers serving the connections ask the backend, and the primary sums their proxy metrics', async () => {
    const before = backend.requests.length;
    herald = await HeraldProcess.start({ name: 'workers', args: ['--workers', '2', '--connect-proxy-url', backend.url] });
    for (let i = 0; i < 4; i++) {
      const client = await connect(herald.wsUrl, 'sid=1');
      assert.deepEqual((await client.nextReply(20003)).detail, { uid: 'u1' });
      await client.close();
    }
    assert.equal(backend.requests.length - before, 4);
    const metrics = await (await fetch(`${herald.apiUrl}/metrics`)).text();
    assert.match(metrics, /herald_proxy_calls_total\{kind="connect",result="allowed"\} 4/);
  });

  it('refuses to start with a proxy URL of another scheme, naming the option', () => {
    const run = spawnSync(process.execPath, [HERALD_MAIN, '--subscribe-proxy-url', 'ftp://backend/'], { encoding: 'utf8', timeout: 20_000 });
    assert.equal(run.status, 2);
    assert.match(run.stderr, /--subscribe-proxy-url: "ftp:\/\/backend\/" must be an http:, https:, grpc: or grpcs: URL/);
  });
});
