/**
 * The SDK's pure parts (backoff, frame decoding, stream positions, request
 * matching, options) and its portability: the compiled client imports
 * nothing but itself and codes.js, and type-checks in a browser setting (DOM
 * lib, no Node types) where the DOM's WebSocket fits its options.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import WebSocket from 'ws';
import { HeraldClient, HeraldError, backoffDelay } from '../../src/client/index.js';
import { decodeInbound } from '../../src/client/decode-inbound.js';
import { RequestTable } from '../../src/client/request-table.js';
import { StreamState } from '../../src/client/stream-state.js';
import { waitUntil } from '../helpers/herald-node.js';

/** The repository root (this file runs from dist/test/client/). */
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

describe('client units: backoffDelay', { timeout: 60_000 }, () => {
  it('draws from [0, min(maxMs, baseMs·2^attempt)) (full jitter)', () => {
    assert.equal(backoffDelay(0, 500, 30_000, () => 0), 0);
    assert.equal(backoffDelay(0, 500, 30_000, () => 0.5), 250);
    assert.equal(backoffDelay(3, 500, 30_000, () => 0.5), 2000);
    assert.equal(backoffDelay(10, 500, 30_000, () => 0.5), 15_000, 'capped at maxMs');
    assert.equal(backoffDelay(5000, 500, 30_000, () => 0.999), 29_970, 'huge attempts do not overflow');
    for (let attempt = 0; attempt < 8; attempt++) {
      const d = backoffDelay(attempt, 100, 5000);
      assert.ok(d >= 0 && d < Math.min(5000, 100 * 2 ** attempt));
    }
  });
});

describe('client units: decodeInbound', { timeout: 60_000 }, () => {
  it('tells pongs, replies, envelopes and raw payloads apart', () => {
    assert.deepEqual(decodeInbound('pong', true), { kind: 'pong' });
    const reply = decodeInbound('{"code":20001,"message":"subscribed","id":7,"recovered":true,"position":{"seq":3,"epoch":"E"}}', true);
    assert.deepEqual(reply, {
      kind: 'reply',
      reply: { code: 20001, message: 'subscribed', id: 7, recovered: true, position: { seq: 3, epoch: 'E' } },
      text: '{"code":20001,"message":"subscribed","id":7,"recovered":true,"position":{"seq":3,"epoch":"E"}}',
    });
    assert.deepEqual(decodeInbound('{"topic":"t","private":true,"seq":2,"epoch":"E","data":"hi"}', true), {
      kind: 'delivery',
      message: { topic: 't', private: true, seq: 2, epoch: 'E', data: 'hi' },
    });
    assert.deepEqual(decodeInbound('{"all":true,"seq":1,"epoch":"E","dataBase64":"/wA="}', true), {
      kind: 'delivery',
      message: { all: true, seq: 1, epoch: 'E', data: new Uint8Array([0xff, 0x00]) },
    });
    assert.deepEqual(decodeInbound('{"user":true,"data":"x"}', true), { kind: 'delivery', message: { user: true, data: 'x' } });
  });

  it('in gpush mode delivers anything that is not a reply as it came', () => {
    const raw = '{"topic":"t","data":"looks like an envelope"}';
    assert.deepEqual(decodeInbound(raw, false), { kind: 'delivery', message: { data: raw } });
    assert.deepEqual(decodeInbound('plain', false), { kind: 'delivery', message: { data: 'plain' } });
    assert.deepEqual(decodeInbound('[1,2]', false), { kind: 'delivery', message: { data: '[1,2]' } });
    assert.deepEqual(decodeInbound('{not json', false), { kind: 'delivery', message: { data: '{not json' } });
    assert.equal(decodeInbound('{"code":30004,"message":"invalid topic"}', false)?.kind, 'reply');
  });

  it('takes binary frames as ArrayBuffers or views, and refuses anything else', () => {
    assert.deepEqual(decodeInbound(new Uint8Array([1, 2]).buffer, false), { kind: 'delivery', message: { data: new Uint8Array([1, 2]) } });
    const view = decodeInbound(Buffer.from([9, 8, 7]).subarray(1), false);
    assert.deepEqual(view?.kind === 'delivery' && [...(view.message.data as Uint8Array)], [8, 7]);
    assert.equal(decodeInbound({ size: 3 }, false), undefined);
    assert.deepEqual(decodeInbound('{"topic":"t","dataBase64":"%%%"}', true), {
      kind: 'delivery',
      message: { data: '{"topic":"t","dataBase64":"%%%"}' },
    });
  });
});

describe('client units: StreamState', { timeout: 60_000 }, () => {
  it('drops a seq at or below the last delivered one of the same epoch', () => {
    const s = new StreamState('t', false);
    assert.deepEqual([2, 3, 3, 2, 4].map((seq) => s.accept(seq, 'E')), [true, true, false, false, true]);
    assert.deepEqual(s.position, { seq: 4, epoch: 'E' });
    assert.equal(s.accept(2, 'F'), true, 'a new epoch starts over');
    assert.equal(s.accept(1, 'F'), true, 'seq 1 is a stream the server forgot and restarted');
  });

  it('after recovered:false moves to the reply position but accepts held messages behind it', () => {
    const s = new StreamState('t', false);
    s.accept(5, 'E');
    s.resumed(false, { seq: 20, epoch: 'E' });
    assert.deepEqual(s.position, { seq: 20, epoch: 'E' });
    assert.equal(s.accept(18, 'E'), true);
    assert.equal(s.accept(5, 'E'), false);
    s.resumed(false, { seq: 3, epoch: 'E' });
    assert.equal(s.accept(2, 'E'), true, 'the stream restarted below what was delivered');
  });

  it('after recovered:true keeps its position: the replay advances it', () => {
    const s = new StreamState('t', false);
    s.accept(5, 'E');
    s.resumed(true, { seq: 9, epoch: 'E' });
    assert.deepEqual(s.position, { seq: 5, epoch: 'E' });
  });
});

describe('client units: RequestTable', { timeout: 60_000 }, () => {
  it('matches by id, resolves 2xxxx and rejects others with HeraldError', () => {
    const table = new RequestTable(true, 10_000);
    const results: unknown[] = [];
    const a = table.add('a', (e, r) => results.push(['a', e, r]));
    const b = table.add('b', (e, r) => results.push(['b', e, r]));
    assert.equal(table.settle({ code: 30004, id: b, detail: 'bad' }), true);
    assert.equal(table.settle({ code: 20001, id: 999 }), false);
    assert.equal(table.settle({ code: 20001 }), false);
    assert.equal(table.settle({ code: 20001, id: a }), true);
    assert.equal(results.length, 2);
    const [[first, error], [second, , reply]] = results as [string, HeraldError, unknown][];
    assert.equal(first, 'b');
    assert.ok(error instanceof HeraldError && error.code === 30004 && error.detail === 'bad');
    assert.equal(second, 'a');
    assert.deepEqual(reply, { code: 20001, id: a });
  });

  it('in order mode hands each reply to the oldest request; rejectAll fails the rest', () => {
    const table = new RequestTable(false, 10_000);
    const seen: string[] = [];
    assert.equal(table.add('a', (e) => seen.push(`a:${e?.name ?? 'ok'}`)), undefined);
    table.add('b', (e) => seen.push(`b:${e?.name ?? 'ok'}`));
    table.add('c', (e) => seen.push(`c:${e?.name ?? 'ok'}`));
    assert.equal(table.awaitingInOrder, true);
    table.settle({ code: 20001 });
    table.settle({ code: 30002 });
    table.rejectAll(new TypeError('gone'));
    assert.deepEqual(seen, ['a:ok', 'b:HeraldError', 'c:TypeError']);
    assert.equal(table.awaitingInOrder, false);
  });

  it('in order mode a timed-out request keeps its place, so its late reply is not taken for the next one', async () => {
    const table = new RequestTable(false, 20);
    const seen: string[] = [];
    table.add('login', (e, r) => seen.push(`login:${e?.name ?? r?.code}`));
    await waitUntil(() => seen.length === 1, 'the login to time out');
    table.add('subscribe', (e, r) => seen.push(`subscribe:${e instanceof HeraldError ? e.code : r?.code}`));
    assert.equal(table.settle({ code: 20003 }), true, 'the late login reply is absorbed');
    assert.equal(table.settle({ code: 30004 }), true);
    assert.deepEqual(seen, ['login:HeraldTimeoutError', 'subscribe:30004']);
  });

  it('with ids a timed-out request is forgotten and its late reply claimed by nobody', async () => {
    const table = new RequestTable(true, 20);
    const seen: string[] = [];
    const id = table.add('login', (e) => seen.push(e?.name ?? 'ok'));
    await waitUntil(() => seen.length === 1, 'the login to time out');
    assert.equal(table.settle({ code: 20003, id }), false);
    assert.deepEqual(seen, ['HeraldTimeoutError']);
  });
});

describe('client units: options', { timeout: 60_000 }, () => {
  it('throws on misuse, synchronously', () => {
    assert.throws(() => new HeraldClient({ url: '', WebSocket }), TypeError);
    assert.throws(() => new HeraldClient({ url: 'ws://x', WebSocket, protocol: 'v2' as 'gpush' }), TypeError);
    assert.throws(() => new HeraldClient({ url: 'ws://x', WebSocket, heartbeatMs: -1 }), RangeError);
    assert.throws(() => new HeraldClient({ url: 'ws://x', WebSocket, reconnect: { baseMs: 0 } }), RangeError);
    assert.throws(() => new HeraldClient({ url: 'ws://x', WebSocket, requestTimeoutMs: Infinity }), TypeError);
    assert.throws(() => new HeraldClient({ url: 'ws://x', WebSocket, token: 5 as unknown as string }), TypeError);
    const client = new HeraldClient({ url: 'ws://x', WebSocket });
    assert.throws(() => client.subscribe(5 as unknown as string, () => {}), TypeError);
    assert.throws(() => client.login(undefined as unknown as string), TypeError);
    assert.equal(client.status, 'closed', 'constructing does not connect');
  });

  it('needs a WebSocket class where there is no global one (Node 20; removed here on Node ≥ 22)', () => {
    const global = globalThis as { WebSocket?: unknown };
    const saved = Object.getOwnPropertyDescriptor(globalThis, 'WebSocket');
    delete global.WebSocket;
    try {
      assert.equal(global.WebSocket, undefined);
      assert.throws(() => new HeraldClient({ url: 'ws://x' }), /options\.WebSocket/);
    } finally {
      if (saved !== undefined) Object.defineProperty(globalThis, 'WebSocket', saved);
    }
  });
});

describe('client units: portability', { timeout: 60_000 }, () => {
  it('the compiled client imports only its own modules and codes.js, which imports nothing', () => {
    const dir = join(ROOT, 'dist/src/client');
    const files = readdirSync(dir).filter((f) => f.endsWith('.js'));
    assert.ok(files.includes('index.js'));
    const specifiers = (path: string) =>
      [...readFileSync(path, 'utf8').matchAll(/(?:^|\n)\s*(?:import|export)[^'"`;]*?from\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]/g)].map(
        (m) => m[1] ?? m[2],
      );
    for (const file of files) {
      for (const spec of specifiers(join(dir, file))) {
        assert.ok(/^\.\/[a-z-]+\.js$/.test(spec) || spec === '../codes.js', `${file} imports ${spec}`);
      }
    }
    assert.deepEqual(specifiers(join(ROOT, 'dist/src/codes.js')), []);
  });

  it('type-checks with the DOM lib and no Node types, where the browser WebSocket fits the options', () => {
    const work = mkdtempSync(join(tmpdir(), 'herald-client-dom-'));
    try {
      const usage = join(work, 'usage.ts');
      const entry = join(ROOT, 'src/client/index.ts').replace(/\.ts$/, '.js');
      writeFileSync(
        usage,
        [
          `import { HeraldClient, type Message } from ${JSON.stringify(entry)};`,
          'const explicit = new HeraldClient({ url: "wss://example.test/ws", WebSocket });',
          'const implicit = new HeraldClient({ url: "wss://example.test/ws", token: async () => "t" });',
          'explicit.subscribe("news", (m: Message) => console.log(m.data));',
          'implicit.on("gap", (g) => console.log(g.topic, g.position.seq));',
          '',
        ].join('\n'),
      );
      writeFileSync(
        join(work, 'tsconfig.json'),
        JSON.stringify({
          compilerOptions: {
            target: 'ES2022',
            lib: ['ES2022', 'DOM'],
            module: 'NodeNext',
            moduleResolution: 'NodeNext',
            strict: true,
            noEmit: true,
            types: [],
            skipLibCheck: true,
          },
          files: [usage],
        }),
      );
      const tsc = join(ROOT, 'node_modules/typescript/bin/tsc');
      const run = spawnSync(process.execPath, [tsc, '-p', join(work, 'tsconfig.json')], { encoding: 'utf8' });
      assert.equal(run.status, 0, `tsc failed:\n${run.stdout}${run.stderr}`);
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  });
});
