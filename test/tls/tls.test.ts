import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import WebSocket from 'ws';
import { loadProtos } from '../../src/api/grpc-push-api.js';
import { waitUntil, withTimeout } from '../helpers/server.js';

const MAIN = fileURLToPath(new URL('../../src/main.js', import.meta.url));
const PYTHON_CLIENT = fileURLToPath(new URL('../../../test/fixtures/wss_client.py', import.meta.url));

/** A self-signed certificate for 127.0.0.1 / localhost, made with openssl at test time. */
function makeCertificate(dir: string, name: string): { cert: string; key: string } {
  const cert = join(dir, `${name}.crt`);
  const key = join(dir, `${name}.key`);
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-keyout', key, '-out', cert, '-days', '1', '-subj', `/CN=${name}`,
    '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost',
  ], { stdio: 'ignore' });
  return { cert, key };
}

interface Started {
  proc: ChildProcess;
  wsPort: number;
  apiPort: number;
  grpcPort: number;
  output: () => string;
}

async function startHerald(args: string[]): Promise<Started> {
  const proc = spawn(process.execPath, [MAIN, '--ws-host', '127.0.0.1', '--ws-port', '0', '--api-port', '0', '--grpc-port', '0', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  proc.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString()));
  proc.stderr!.on('data', (chunk: Buffer) => (out += chunk.toString()));
  await waitUntil(() => out.includes('herald started') || proc.exitCode !== null, 'herald to start', 20_000);
  const line = JSON.parse(out.split('\n').find((l) => l.includes('herald started'))!);
  return {
    proc,
    wsPort: Number(new URL(line.ws).port),
    apiPort: Number(new URL(line.api).port),
    grpcPort: Number(line.grpc.split(':').pop()),
    output: () => out,
  };
}

function httpsPost(port: number, path: string, body: object, ca: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method: 'POST', ca, headers: { 'content-type': 'application/json' } }, (res) => {
      let text = '';
      res.on('data', (d: Buffer) => (text += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.on('error', reject);
    req.end(JSON.stringify(body));
  });
}

/** The CN of the certificate a TLS server presents on `port` (ALPN h2 for the gRPC port). */
function peerName(port: number, ca: string, alpn?: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({ host: '127.0.0.1', port, ca, servername: 'localhost', ALPNProtocols: alpn, rejectUnauthorized: false }, () => {
      const subject = socket.getPeerCertificate().subject;
      socket.destroy();
      resolve(String(subject.CN));
    });
    socket.on('error', reject);
  });
}

describe('TLS: wss://, HTTPS push and gRPC over TLS', () => {
  let dir: string;
  let first: { cert: string; key: string };
  let second: { cert: string; key: string };
  let ca: string;
  let live: { cert: string; key: string };
  let herald: Started;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'herald-tls-'));
    first = makeCertificate(dir, 'first');
    second = makeCertificate(dir, 'second');
    // Both certificates are trusted, so the reload test can tell them apart by name.
    ca = execFileSync('cat', [first.cert, second.cert], { encoding: 'utf8' });
    live = { cert: join(dir, 'live.crt'), key: join(dir, 'live.key') };
    copyFileSync(first.cert, live.cert);
    copyFileSync(first.key, live.key);
    herald = await startHerald(['--tls-cert-file', live.cert, '--tls-key-file', live.key]);
  });

  after(() => {
    herald?.proc.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves wss:// to the ws client and pushes over HTTPS', async () => {
    const ws = new WebSocket(`wss://127.0.0.1:${herald.wsPort}/ws`, { ca });
    const received: string[] = [];
    ws.on('message', (data) => received.push(data.toString()));
    await withTimeout(new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject)), 'wss open');
    ws.send(JSON.stringify({ code: 1, topic: 'secure' }));
    await waitUntil(() => received.some((m) => m.includes('20001')), 'subscribed');
    const res = await httpsPost(herald.apiPort, '/v1/pushData', { topic: 'secure', data: Buffer.from('over tls').toString('base64') }, ca);
    assert.equal(res.status, 200);
    await waitUntil(() => received.includes('over tls'), 'the push');
    ws.close();
  });

  it('serves wss:// to Python websockets', async () => {
    writeFileSync(join(dir, 'ca.pem'), ca);
    const py = spawn('/usr/bin/python3', [PYTHON_CLIENT, `wss://127.0.0.1:${herald.wsPort}/ws`, join(dir, 'ca.pem')]);
    let out = '';
    py.stdout.on('data', (d: Buffer) => (out += d.toString()));
    await waitUntil(() => out.includes('ready') || out.includes('error'), 'the Python client to subscribe', 20_000);
    assert.ok(!out.includes('error'), out);
    await httpsPost(herald.apiPort, '/v1/pushData', { topic: 'secure', data: Buffer.from('to python').toString('base64') }, ca);
    const code = await withTimeout(new Promise((resolve) => py.once('exit', resolve)), 'python exit');
    assert.equal(code, 0, out);
    assert.deepEqual(JSON.parse(out.trim().split('\n').pop()!), { message: 'to python' });
  });

  it('serves gRPC over TLS; a plaintext client cannot talk to it', async () => {
    const { gpush } = loadProtos();
    const secure = new gpush.order.Proxy(`127.0.0.1:${herald.grpcPort}`, grpc.credentials.createSsl(Buffer.from(ca)));
    const plain = new gpush.order.Proxy(`127.0.0.1:${herald.grpcPort}`, grpc.credentials.createInsecure());
    try {
      const call = (client: grpc.Client) =>
        new Promise<grpc.ServiceError | null>((resolve) =>
          (client as unknown as { PushData: Function }).PushData(
            { topic: 'secure', data: Buffer.from('grpc') },
            { deadline: Date.now() + 5000 },
            (error: grpc.ServiceError | null) => resolve(error),
          ),
        );
      assert.equal(await call(secure), null);
      const refused = await call(plain);
      assert.ok(refused !== null && refused.code === grpc.status.UNAVAILABLE, String(refused?.code));
    } finally {
      secure.close();
      plain.close();
    }
  });

  it('reloads the certificate on SIGHUP for all three listeners, and keeps it when the new files are bad', async () => {
    assert.equal(await peerName(herald.wsPort, ca), 'first');
    copyFileSync(second.cert, live.cert);
    copyFileSync(second.key, live.key);
    herald.proc.kill('SIGHUP');
    await waitUntil(() => herald.output().includes('TLS certificate reloaded'), 'the reload');
    assert.equal(await peerName(herald.wsPort, ca), 'second');
    assert.equal(await peerName(herald.apiPort, ca), 'second');
    assert.equal(await peerName(herald.grpcPort, ca, ['h2']), 'second');
    // A broken renewal: the old pair stays in service and the process lives on.
    writeFileSync(live.cert, 'not a certificate');
    herald.proc.kill('SIGHUP');
    await waitUntil(() => herald.output().includes('TLS reload failed'), 'the failed reload');
    assert.equal(herald.proc.exitCode, null);
    assert.equal(await peerName(herald.wsPort, ca), 'second');
  });

  it('refuses to start with a missing or mismatched key, naming the file', async () => {
    const missing = spawn(process.execPath, [MAIN, '--ws-port', '0', '--api-port', '0', '--tls-cert-file', join(dir, 'nope.crt'), '--tls-key-file', first.key]);
    let err = '';
    missing.stderr.on('data', (d: Buffer) => (err += d.toString()));
    assert.equal(await withTimeout(new Promise((r) => missing.once('exit', r)), 'exit'), 2);
    assert.match(err, /nope\.crt/);
    const mismatched = spawn(process.execPath, [MAIN, '--ws-port', '0', '--api-port', '0', '--tls-cert-file', first.cert, '--tls-key-file', second.key]);
    let err2 = '';
    mismatched.stderr.on('data', (d: Buffer) => (err2 += d.toString()));
    assert.equal(await withTimeout(new Promise((r) => mismatched.once('exit', r)), 'exit'), 2);
    assert.match(err2, /do not form a usable pair/);
  });
});
