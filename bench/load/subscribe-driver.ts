/**
 * The subscribe load of S8 (bench/net/s8-proxy.ts), forked by the coordinator and driven over IPC
 * (ipc.ts): `run` opens `connections` gpush connections, then each subscribes to `perConnection`
 * topics `<prefix><connection>-<n>` one after another (the next once the previous is answered),
 * all connections at once. Answers the subscribes per second and the latency of each (send →
 * reply) as p50/p99/max, plus the reply codes seen.
 */
import WebSocket from 'ws';
import { serveRequests } from './ipc.js';

interface RunArgs {
  url: string;
  connections: number;
  perConnection: number;
  prefix: string;
}

export interface SubscribeRun {
  subscribes: number;
  seconds: number;
  perSecond: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  /** Reply code → count (20001 when allowed). */
  codes: Record<string, number>;
}

function open(url: string): Promise<{ ws: WebSocket; next(): Promise<string> }> {
  const ws = new WebSocket(url, { perMessageDeflate: false });
  const queued: string[] = [];
  let waiter: ((text: string) => void) | undefined;
  ws.on('message', (data) => {
    const text = data.toString();
    if (waiter !== undefined) {
      const w = waiter;
      waiter = undefined;
      w(text);
    } else queued.push(text);
  });
  const next = (): Promise<string> =>
    queued.length > 0 ? Promise.resolve(queued.shift() as string) : new Promise((resolve) => (waiter = resolve));
  return new Promise((resolve, reject) => {
    ws.once('error', reject);
    ws.once('open', () => void next().then(() => resolve({ ws, next })));
  });
}

async function run({ url, connections, perConnection, prefix }: RunArgs): Promise<SubscribeRun> {
  const clients = [];
  for (let i = 0; i < connections; i++) clients.push(await open(url));
  const latencies = new Float64Array(connections * perConnection);
  const codes: Record<string, number> = {};
  let filled = 0;
  const started = performance.now();
  await Promise.all(
    clients.map(async (client, i) => {
      for (let n = 0; n < perConnection; n++) {
        const t0 = performance.now();
        client.ws.send(`{"code":1,"topic":"${prefix}${i}-${n}"}`);
        const reply = JSON.parse(await client.next()) as { code: number };
        latencies[filled++] = performance.now() - t0;
        codes[reply.code] = (codes[reply.code] ?? 0) + 1;
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  for (const client of clients) client.ws.terminate();
  latencies.sort();
  const at = (q: number): number => latencies[Math.min(filled - 1, Math.floor(q * filled))];
  return { subscribes: filled, seconds, perSecond: filled / seconds, p50Ms: at(0.5), p99Ms: at(0.99), maxMs: latencies[filled - 1], codes };
}

serveRequests({ run: (request: RunArgs) => run(request), exit: () => setImmediate(() => process.exit(0)) });
