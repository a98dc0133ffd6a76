import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import { waitUntil, withTimeout } from '../helpers/server.js';

const MAIN = fileURLToPath(new URL('../../src/main.js', import.meta.url));

interface Running {
  proc: ChildProcess;
  wsUrl: string;
  apiUrl: string;
}

async function startCluster(workers: number, transport: 'raw' | 'net'): Promise<Running> {
  const proc = spawn(
    process.execPath,
    [MAIN, '--workers', String(workers), '--transport', transport, '--ws-host', '127.0.0.1', '--ws-port', '0', '--api-port', '0', '--grpc-port', '0'],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  let out = '';
  proc.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString()));
  await waitUntil(() => out.includes('herald started'), 'the cluster to start', 20_000);
  const started = JSON.parse(out.split('\n').find((line) => line.includes('herald started'))!);
  assert.equal(started.transport, transport);
  return { proc, wsUrl: started.ws, apiUrl: started.api };
}

function openFds(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}

function workerPids(primary: number): number[] {
  return execFileSync('pgrep', ['-P', String(primary)], { encoding: 'utf8' }).trim().split('\n').map(Number);
}

interface Client {
  ws: WebSocket;
  received: string[];
  closeCode: number | undefined;
}

async function subscriber(url: string, topic: string): Promise<Client> {
  const ws = new WebSocket(url);
  const client: Client = { ws, received: [], closeCode: undefined };
  ws.on('message', (data) => client.received.push(data.toString()));
  ws.on('close', (code) => (client.closeCode = code));
  await withTimeout(new Promise((resolve) => ws.once('open', resolve)), 'open');
  ws.send(JSON.stringify({ code: 1, topic }));
  await waitUntil(() => client.received.some((m) => m.includes('20001')), 'the subscription');
  return client;
}

async function push(apiUrl: string, body: object): Promise<number> {
  const res = await fetch(`${apiUrl}/v1/pushData`, { method: 'POST', body: JSON.stringify(body) });
  await res.text();
  return res.status;
}

describe('--workers N (cluster)', () => {
  // raw: the primary's bound handle is shared; net: node:cluster shares the port workers listen on.
  for (const transport of ['raw', 'net'] as const) {
    it(`${transport} transport: shares the port across workers, delivers each push once everywhere, survives a worker crash, drains with 1001`, async () => {
      const cluster = await startCluster(2, transport);
      try {
        const clients = await Promise.all(Array.from({ length: 40 }, () => subscriber(cluster.wsUrl, 'news')));
        const data = (text: string) => Buffer.from(text).toString('base64');
        assert.equal(await push(cluster.apiUrl, { topic: 'news', data: data('one') }), 200);
        await waitUntil(() => clients.every((c) => c.received.includes('one')), 'every client to get the push');
        for (const c of clients) assert.equal(c.received.filter((m) => m === 'one').length, 1);

        // Kill one worker: its clients drop (1006), the others keep receiving, and a replacement accepts new clients.
        // The kernel decides how connections split between workers: kill the one holding the most sockets.
        const victim = workerPids(cluster.proc.pid!).sort((a, b) => openFds(b) - openFds(a))[0];
        process.kill(victim, 'SIGKILL');
        await waitUntil(() => clients.some((c) => c.closeCode !== undefined), 'the dead worker’s clients to drop');
        await waitUntil(() => workerPids(cluster.proc.pid!).length === 2, 'a replacement worker', 20_000);
        // By now the kernel has closed every socket of the dead process and its clients have all seen it.
        const survivors = clients.filter((c) => c.closeCode === undefined);
        assert.ok(survivors.length < 40, 'the killed worker held clients');
        const late = await Promise.all(Array.from({ length: 10 }, () => subscriber(cluster.wsUrl, 'news')));
        for (let i = 0; i < 200 && (await fetch(`${cluster.apiUrl}/readyz`)).status !== 200; i++) await new Promise((r) => setTimeout(r, 50));
        assert.equal(await push(cluster.apiUrl, { topic: 'news', data: data('two') }), 200);
        await waitUntil(() => [...survivors, ...late].every((c) => c.received.includes('two')), 'survivors and late joiners');

        // The server API answers for the workers (test/cluster/workers-control.test.ts covers it): the dead one is gone from info.
        await waitUntil(async () => ((await (await fetch(`${cluster.apiUrl}/v1/info`)).json()) as { nodes: unknown[] }).nodes.length === 2, 'two workers in info');

        const metrics = await (await fetch(`${cluster.apiUrl}/metrics`)).text();
        assert.match(metrics, new RegExp(`^herald_connections ${survivors.length + late.length}$`, 'm'));

        const live = [...survivors, ...late];
        cluster.proc.kill('SIGTERM');
        const exitCode = await withTimeout(new Promise((resolve) => cluster.proc.once('exit', resolve)), 'exit');
        assert.equal(exitCode, 0);
        await waitUntil(() => live.every((c) => c.closeCode !== undefined), 'clients closed');
        for (const c of live) assert.equal(c.closeCode, 1001);
      } finally {
        if (cluster.proc.exitCode === null) cluster.proc.kill('SIGKILL');
      }
    });
  }
});
