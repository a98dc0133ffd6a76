/**
 * `herald push` against a real HeraldNode on 127.0.0.1: the payload from an
 * argument, a file, stdin and as base64 reaches `ws` subscribers; uid and
 * topic routing; bearer tokens; batches; refusals and unreachable servers
 * exit 1, bad usage exits 2.
 */
import assert from 'node:assert/strict';
import { Buffer } from 'node:buffer';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import { TlsCertificates } from '../../src/tls/tls-certificates.js';
import { fakeVerifier, startNode, type TestNode } from '../helpers/herald-node.js';
import { assertUsageError, runCli } from './run-cli.js';

const TOKEN = 'cli-test-token-0123456789';

let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'herald-cli-push-'));
});
after(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** A loopback port nothing listens on (bound, then released). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('herald push: delivery', () => {
  let h: TestNode;
  before(async () => {
    h = await startNode({ verifier: fakeVerifier() });
  });
  afterEach(async () => {
    await h.closeClients();
  });
  after(async () => {
    await h.stop();
  });

  it('data from the argument reaches the topic\'s subscribers; prints ok', async () => {
    const client = await h.connect();
    await client.subscribe('news');
    const result = await runCli(['push', '--url', h.apiUrl, '--topic', 'news', '{"headline":"hello"}']);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout, 'ok\n');
    assert.equal(result.stderr, '');
    assert.equal(await client.nextText(), '{"headline":"hello"}');
  });

  it('--topic=value, and -- before a payload that starts with a dash', async () => {
    const client = await h.connect();
    await client.subscribe('news');
    const result = await runCli(['push', `--url=${h.apiUrl}`, '--topic=news', '--', '-5 degrees']);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(await client.nextText(), '-5 degrees');
  });

  it('data from --file is sent byte for byte (binary frame when not UTF-8)', async () => {
    const client = await h.connect();
    await client.subscribe('files');
    const bytes = Buffer.from([0xff, 0x00, 0xfe, 0x80, 0x41, 0x0a]);
    const file = join(dir, 'payload.bin');
    writeFileSync(file, bytes);
    const result = await runCli(['push', '--url', h.apiUrl, '--topic', 'files', '--file', file]);
    assert.equal(result.code, 0, result.stderr);
    const message = await client.next();
    assert.equal(message.isBinary, true);
    assert.deepEqual(message.data, bytes);
  });

  it('data from stdin: piped, and with - ; the trailing newline is kept', async () => {
    const client = await h.connect();
    await client.subscribe('stdin');
    const piped = await runCli(['push', '--url', h.apiUrl, '--topic', 'stdin'], { input: 'from a pipe\n' });
    assert.equal(piped.code, 0, piped.stderr);
    assert.equal(await client.nextText(), 'from a pipe\n');
    const dash = await runCli(['push', '--url', h.apiUrl, '--topic', 'stdin', '-'], { input: 'from dash' });
    assert.equal(dash.code, 0, dash.stderr);
    assert.equal(await client.nextText(), 'from dash');
  });

  it('--base64: the argument, a file or stdin is sent as given, whitespace removed', async () => {
    const client = await h.connect();
    await client.subscribe('b64');
    const argument = await runCli(['push', '--url', h.apiUrl, '--topic', 'b64', '--base64', Buffer.from('hello').toString('base64')]);
    assert.equal(argument.code, 0, argument.stderr);
    assert.equal(await client.nextText(), 'hello');

    const bytes = Buffer.from([0xde, 0xad, 0xbe, 0xef, 0x00, 0x01]);
    const wrapped = `${bytes.toString('base64').slice(0, 4)}\n${bytes.toString('base64').slice(4)}\n`;
    const stdin = await runCli(['push', '--url', h.apiUrl, '--topic', 'b64', '--base64'], { input: wrapped });
    assert.equal(stdin.code, 0, stdin.stderr);
    const message = await client.next();
    assert.equal(message.isBinary, true);
    assert.deepEqual(message.data, bytes);

    const file = join(dir, 'payload.b64');
    writeFileSync(file, `${Buffer.from('from a file').toString('base64')}\n`);
    const fromFile = await runCli(['push', '--url', h.apiUrl, '--topic', 'b64', '--base64', '--file', file]);
    assert.equal(fromFile.code, 0, fromFile.stderr);
    assert.equal(await client.nextText(), 'from a file');
  });

  it('--uid reaches only that user\'s connections; --uid with --topic only their private subscriptions', async () => {
    const alice = await h.connect();
    await alice.login('user:alice', 'alice');
    await alice.subscribePrivate('orders');
    const alice2 = await h.connect();
    await alice2.login('user:alice', 'alice');
    const bob = await h.connect();
    await bob.login('user:bob', 'bob');
    await bob.subscribePrivate('orders');

    const toUser = await runCli(['push', '--url', h.apiUrl, '--uid', 'alice', 'for alice']);
    assert.equal(toUser.code, 0, toUser.stderr);
    const toPrivate = await runCli(['push', '--url', h.apiUrl, '--uid', 'alice', '--topic', 'orders', 'order 1']);
    assert.equal(toPrivate.code, 0, toPrivate.stderr);

    assert.deepEqual(await alice.sync(), ['for alice', 'order 1']);
    assert.deepEqual(await alice2.sync(), ['for alice']);
    assert.deepEqual(await bob.sync(), []);
  });

  it('--all reaches every connection', async () => {
    const a = await h.connect();
    const b = await h.connect();
    await b.subscribe('news');
    const result = await runCli(['push', '--url', h.apiUrl, '--all', 'everyone']);
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(await a.sync(), ['everyone']);
    assert.deepEqual(await b.sync(), ['everyone']);
  });

  it('HERALD_API_URL sets the server; --json prints {"ok":true}', async () => {
    const client = await h.connect();
    await client.subscribe('env');
    const result = await runCli(['push', '--topic', 'env', '--json', 'via env'], { env: { HERALD_API_URL: h.apiUrl } });
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(JSON.parse(result.stdout), { ok: true });
    assert.equal(await client.nextText(), 'via env');
  });

  it('a base URL with a trailing slash works', async () => {
    const result = await runCli(['push', '--url', `${h.apiUrl}/`, '--all', 'x']);
    assert.equal(result.code, 0, result.stderr);
  });

  it('a refusal exits 1 with the server\'s code and message on stderr (and JSON with --json)', async () => {
    const result = await runCli(['push', '--url', h.apiUrl, '--topic', 't', '--base64', '!!']);
    assert.equal(result.code, 1);
    assert.equal(result.stdout, '');
    assert.match(result.stderr, /^herald push: refused: 400 INVALID_BASE64: .+\n$/);

    const json = await runCli(['push', '--url', h.apiUrl, '--topic', 't', '--base64', '--json', '!!']);
    assert.equal(json.code, 1);
    const body = JSON.parse(json.stdout) as { ok: boolean; status: number; error: { code: string; message: string } };
    assert.equal(body.ok, false);
    assert.equal(body.status, 400);
    assert.equal(body.error.code, 'INVALID_BASE64');
    assert.match(json.stderr, /INVALID_BASE64/);
  });

  it('--batch: one push per line through /v1/push; a failed item → exit 1 with its line on stderr', async () => {
    const client = await h.connect();
    await client.subscribe('batch');
    const file = join(dir, 'mixed.jsonl');
    writeFileSync(file, [
      '{"topic":"batch","data":"one"}',
      '',
      '{"topic":"batch","dataBase64":"!!"}',
      `{"topic":"batch","dataBase64":"${Buffer.from('three').toString('base64')}"}`,
      '',
    ].join('\n'));
    const result = await runCli(['push', '--url', h.apiUrl, '--batch', file]);
    assert.equal(result.code, 1);
    assert.equal(result.stdout, 'accepted 2, failed 1\n');
    assert.match(result.stderr, new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:3: INVALID_BASE64: .+\n$`));
    assert.deepEqual(await client.sync(), ['one', 'three']);

    const json = await runCli(['push', '--url', h.apiUrl, '--batch', file, '--json', '--batch-size', '1']);
    assert.equal(json.code, 1);
    const body = JSON.parse(json.stdout) as { accepted: number; failed: number; results: { line: number; ok: boolean; error?: { code: string } }[] };
    assert.equal(body.accepted, 2);
    assert.equal(body.failed, 1);
    assert.deepEqual(body.results.map((r) => [r.line, r.ok, r.error?.code]), [[1, true, undefined], [3, false, 'INVALID_BASE64'], [4, true, undefined]]);
    assert.deepEqual(await client.sync(), ['one', 'three']);
  });

  it('--batch from stdin with every item valid → exit 0', async () => {
    const client = await h.connect();
    await client.subscribe('batch2');
    const input = '{"topic":"batch2","data":"a"}\n{"topic":"batch2","data":"b"}\n{"data":"c"}\n';
    const result = await runCli(['push', '--url', h.apiUrl, '--batch', '-'], { input });
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout, 'accepted 3, failed 0\n');
    assert.deepEqual(await client.sync(), ['a', 'b', 'c']);
  });

  it('--batch with a line that is not a JSON object → 2, naming the line; nothing is sent', async () => {
    const client = await h.connect();
    await client.subscribe('batch3');
    const file = join(dir, 'bad.jsonl');
    writeFileSync(file, '{"topic":"batch3","data":"a"}\n{"topic":\n');
    assertUsageError(await runCli(['push', '--url', h.apiUrl, '--batch', file]), 'herald push', /bad\.jsonl:2: not JSON/);
    writeFileSync(file, '{"topic":"batch3","data":"a"}\n[1,2]\n');
    assertUsageError(await runCli(['push', '--url', h.apiUrl, '--batch', file]), 'herald push', /bad\.jsonl:2: not a JSON object/);
    writeFileSync(file, '\n\n');
    assertUsageError(await runCli(['push', '--url', h.apiUrl, '--batch', file]), 'herald push', /no pushes/);
    assert.deepEqual(await client.sync(), []);
  });
});

describe('herald push: bearer tokens', () => {
  let h: TestNode;
  before(async () => {
    h = await startNode({ pushTokens: [TOKEN] });
  });
  after(async () => {
    await h.stop();
  });

  it('no token → exit 1 with UNAUTHENTICATED on stderr; nothing delivered', async () => {
    const client = await h.connect();
    await client.subscribe('secure');
    const result = await runCli(['push', '--url', h.apiUrl, '--topic', 'secure', 'x']);
    assert.equal(result.code, 1);
    assert.equal(result.stdout, '');
    assert.match(result.stderr, /^herald push: refused: 401 UNAUTHENTICATED: .*--token or HERALD_PUSH_TOKEN/);
    const wrong = await runCli(['push', '--url', h.apiUrl, '--topic', 'secure', '--token', 'not-the-token-at-all', 'x']);
    assert.equal(wrong.code, 1);
    assert.match(wrong.stderr, /UNAUTHENTICATED.*not accepted/);
    assert.deepEqual(await client.sync(), []);
  });

  it('the right token, from --token or HERALD_PUSH_TOKEN → ok', async () => {
    const client = await h.connect();
    await client.subscribe('secure');
    const flag = await runCli(['push', '--url', h.apiUrl, '--topic', 'secure', '--token', TOKEN, 'by flag']);
    assert.equal(flag.code, 0, flag.stderr);
    assert.equal(flag.stdout, 'ok\n');
    const env = await runCli(['push', '--url', h.apiUrl, '--topic', 'secure', 'by env'], { env: { HERALD_PUSH_TOKEN: TOKEN } });
    assert.equal(env.code, 0, env.stderr);
    assert.deepEqual(await client.sync(), ['by flag', 'by env']);
  });

  it('--batch without a token → exit 1 with UNAUTHENTICATED', async () => {
    const result = await runCli(['push', '--url', h.apiUrl, '--batch', '-'], { input: '{"data":"x"}\n' });
    assert.equal(result.code, 1);
    assert.match(result.stderr, /401 UNAUTHENTICATED/);
  });
});

describe('herald push: https', () => {
  let h: TestNode;
  let cert: string;
  before(async () => {
    cert = join(dir, 'server.crt');
    const key = join(dir, 'server.key');
    execFileSync('openssl', [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
      '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=herald-cli-test',
      '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost',
    ], { stdio: 'ignore' });
    h = await startNode({ tls: new TlsCertificates(cert, key) });
  });
  after(async () => {
    await h?.stop();
  });

  it('an untrusted certificate → exit 1 suggesting --ca; with --ca → ok', async () => {
    const url = h.apiUrl.replace(/^http:/, 'https:');
    const untrusted = await runCli(['push', '--url', url, '--all', 'x']);
    assert.equal(untrusted.code, 1);
    assert.match(untrusted.stderr, /^herald push: TLS with https:\/\/127\.0\.0\.1:\d+ failed: .*--ca <file>/);
    const trusted = await runCli(['push', '--url', url, '--ca', cert, '--all', 'x']);
    assert.equal(trusted.code, 0, trusted.stderr);
    assert.equal(trusted.stdout, 'ok\n');
  });
});

describe('herald push: failures and usage errors', () => {
  it('a closed port → exit 1, "connection refused"', async () => {
    const port = await closedPort();
    const result = await runCli(['push', '--url', `http://127.0.0.1:${port}`, '--topic', 't', 'x']);
    assert.equal(result.code, 1);
    assert.equal(result.stdout, '');
    assert.match(result.stderr, new RegExp(`^herald push: cannot reach Herald at http://127\\.0\\.0\\.1:${port}: connection refused`));
    assert.equal(result.stderr.split('\n').filter(Boolean).length, 1);
  });

  it('a server that never answers → exit 1 after --timeout', async () => {
    const sockets = new Set<Socket>();
    const silent = createServer((socket) => sockets.add(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = silent.address() as { port: number };
      const result = await runCli(['push', '--url', `http://127.0.0.1:${port}`, '--timeout', '200ms', '--all', 'x']);
      assert.equal(result.code, 1);
      assert.match(result.stderr, /^herald push: no complete answer from http:\/\/127\.0\.0\.1:\d+ within 200ms \(--timeout\)\n$/);
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => silent.close(() => resolve()));
    }
  });

  it('an HTTP server that is not Herald → exit 1, showing the status and body', async () => {
    const other = createHttpServer((_req, res) => res.writeHead(404, { 'content-type': 'text/plain' }).end('Not Found'));
    await new Promise<void>((resolve) => other.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = other.address() as { port: number };
      const result = await runCli(['push', '--url', `http://127.0.0.1:${port}`, '--all', 'x']);
      assert.equal(result.code, 1);
      assert.match(result.stderr, /^herald push: HTTP 404 from http:\/\/127\.0\.0\.1:\d+, not a Herald error .*: Not Found\n$/);
    } finally {
      await new Promise<void>((resolve) => other.close(() => resolve()));
    }
  });

  it('no payload (stdin is /dev/null) → 2', async () => {
    assertUsageError(await runCli(['push', '--topic', 't']), 'herald push', /no payload/);
  });

  it('--topic without a value → 2', async () => {
    assertUsageError(await runCli(['push', 'x', '--topic']), 'herald push', /--topic needs a value/);
    assertUsageError(await runCli(['push', '--topic', '--uid', 'u', 'x']), 'herald push', /--topic needs a value/);
    assertUsageError(await runCli(['push', '--topic=', 'x']), 'herald push', /--topic needs a non-empty value/);
  });

  it('an unknown option → 2, with a suggestion', async () => {
    assertUsageError(await runCli(['push', '--topic', 't', '--bogus', 'x']), 'herald push', /unknown option --bogus$/m);
    assertUsageError(await runCli(['push', '--tpoic', 't', 'x']), 'herald push', /unknown option --tpoic \(did you mean "--topic"\?\)/);
    assertUsageError(await runCli(['push', '-t', 't', 'x']), 'herald push', /unknown option -t/);
  });

  it('no target, or --all with a target → 2', async () => {
    assertUsageError(await runCli(['push', 'x']), 'herald push', /no target/);
    assertUsageError(await runCli(['push', '--all', '--topic', 't', 'x']), 'herald push', /--all cannot be combined/);
  });

  it('two payloads, a missing file, a bad URL, timeout or batch size → 2', async () => {
    assertUsageError(await runCli(['push', '--all', 'x', 'y']), 'herald push', /unexpected argument "y"/);
    assertUsageError(await runCli(['push', '--all', '--file', join(dir, 'nope'), 'x']), 'herald push', /give the payload once/);
    assertUsageError(await runCli(['push', '--all', '--file', join(dir, 'nope')]), 'herald push', /--file .*nope: no such file/);
    assertUsageError(await runCli(['push', '--all', '--url', 'not a url', 'x']), 'herald push', /--url: "not a url" is not a URL/);
    assertUsageError(await runCli(['push', '--all', 'x'], { env: { HERALD_API_URL: 'ftp://h' } }), 'herald push', /HERALD_API_URL: "ftp:\/\/h" must be an http/);
    assertUsageError(await runCli(['push', '--all', '--timeout', 'soon', 'x']), 'herald push', /--timeout/);
    assertUsageError(await runCli(['push', '--all', '--ca', join(dir, 'nope.pem'), 'x']), 'herald push', /--ca .*nope\.pem: no such file/);
    assertUsageError(await runCli(['push', '--batch', '-', '--batch-size', '0'], { input: '' }), 'herald push', /--batch-size/);
    assertUsageError(await runCli(['push', '--all', '--batch-size', '5', 'x']), 'herald push', /--batch-size goes with --batch/);
    assertUsageError(await runCli(['push', '--batch', '-', '--topic', 't'], { input: '' }), 'herald push', /--batch cannot be combined with --topic/);
    assertUsageError(await runCli(['push', '--all', '--json', '--json', 'x']), 'herald push', /--json given more than once/);
  });
});
