/**
 * The baseline of the network scenarios: the gpush protocol on a plain `ws`
 * WebSocketServer, written the way most Node push services are — the obvious
 * code, no tuning. Its own child process:
 *
 *   node dist/bench/servers/ws-baseline.js --ws-port P --api-port Q [--host 127.0.0.1]
 *
 * Client side: greeting 20000 on open; ops 1 (subscribe, 20001), 3 (log in:
 * the credential string is the uid, 20003) and 5 (private subscribe, needs a
 * login, 20001); text `ping` → `pong`. State: topic → Set<ws> and uid →
 * Set<ws>, plus each connection's private topics.
 *
 * Push side (HTTP): `POST /v1/pushData` `{"uid","topic","data":"<base64>"}` → `{}` and
 * `POST /v1/push` `[{uid?, topic?, data: "text"}, …]` → `{accepted, failed, results}`,
 * routed as Herald routes them (uid+topic: the user's private subscribers;
 * topic: the public subscribers; uid: the user; neither: everyone), and
 * delivered with the naive loop `for (const c of subscribers) c.send(data)`:
 * ws frames and writes the message once per client — that per-client send is
 * what the baseline is there to show. `GET /healthz`, `/readyz` → 200.
 */
import { isUtf8 } from 'node:buffer';
import * as http from 'node:http';
import { WebSocket, WebSocketServer } from 'ws';

function option(name: string, fallback?: string): string {
  const i = process.argv.indexOf(name);
  const value = i >= 0 ? process.argv[i + 1] : fallback;
  if (value === undefined) {
    process.stderr.write(`ws-baseline: missing ${name}\n`);
    process.exit(2);
  }
  return value;
}

const host = option('--host', '127.0.0.1');
const wsPort = Number(option('--ws-port'));
const apiPort = Number(option('--api-port'));

interface Client {
  uid: string | null;
  privateTopics: Set<string>;
  publicTopics: Set<string>;
}

const state = new Map<WebSocket, Client>();
const topics = new Map<string, Set<WebSocket>>();
const users = new Map<string, Set<WebSocket>>();

const reply = (code: number, message: string, detail?: unknown): string =>
  JSON.stringify(detail === undefined ? { code, message } : { code, message, detail });
const CONNECTED = reply(20000, 'connected');
const SUBSCRIBED = reply(20001, 'subscribed');
const BAD_REQUEST = reply(30001, 'bad request');
const NOT_LOGGED_IN = reply(30002, 'not logged in');

function addTo(index: Map<string, Set<WebSocket>>, key: string, ws: WebSocket): void {
  let set = index.get(key);
  if (set === undefined) index.set(key, (set = new Set()));
  set.add(ws);
}

function removeFrom(index: Map<string, Set<WebSocket>>, key: string, ws: WebSocket): void {
  const set = index.get(key);
  if (set !== undefined && set.delete(ws) && set.size === 0) index.delete(key);
}

const wss = new WebSocketServer({ host, port: wsPort, path: '/ws' });

wss.on('connection', (ws) => {
  const client: Client = { uid: null, privateTopics: new Set(), publicTopics: new Set() };
  state.set(ws, client);
  ws.send(CONNECTED);
  ws.on('message', (data, isBinary) => {
    if (isBinary) return ws.send(BAD_REQUEST);
    const text = data.toString();
    if (text.toLowerCase() === 'ping') return ws.send('pong');
    let op: { code?: unknown; topic?: unknown; data?: unknown };
    try {
      op = JSON.parse(text);
    } catch {
      return ws.send(BAD_REQUEST);
    }
    switch (op.code) {
      case 1:
        if (typeof op.topic !== 'string' || op.topic === '') return ws.send(BAD_REQUEST);
        client.publicTopics.add(op.topic);
        addTo(topics, op.topic, ws);
        return ws.send(SUBSCRIBED);
      case 3: {
        if (typeof op.data !== 'string' || op.data === '') return ws.send(reply(30003, 'authentication failed'));
        if (client.uid !== null) {
          removeFrom(users, client.uid, ws);
          client.privateTopics.clear();
        }
        client.uid = op.data;
        addTo(users, client.uid, ws);
        return ws.send(reply(20003, 'logged in', { uid: client.uid }));
      }
      case 5:
        if (client.uid === null) return ws.send(NOT_LOGGED_IN);
        if (typeof op.topic !== 'string' || op.topic === '') return ws.send(BAD_REQUEST);
        client.privateTopics.add(op.topic);
        return ws.send(SUBSCRIBED);
      default:
        return ws.send(BAD_REQUEST);
    }
  });
  ws.on('close', () => {
    for (const topic of client.publicTopics) removeFrom(topics, topic, ws);
    if (client.uid !== null) removeFrom(users, client.uid, ws);
    state.delete(ws);
  });
  ws.on('error', () => undefined);
});

const TEXT = { binary: false };
const BINARY = { binary: true };

/** Route one push and send it to every target, one `send` per client. Returns the number of targets. */
function deliver(uid: string | undefined, topic: string | undefined, data: Buffer): number {
  const options = isUtf8(data) ? TEXT : BINARY;
  let audience: Iterable<WebSocket>;
  if (uid !== undefined) audience = users.get(uid) ?? [];
  else if (topic !== undefined) audience = topics.get(topic) ?? [];
  else audience = state.keys();
  let sent = 0;
  for (const c of audience) {
    if (uid !== undefined && topic !== undefined && !state.get(c)?.privateTopics.has(topic)) continue;
    if (c.readyState !== WebSocket.OPEN) continue;
    c.send(data, options);
    sent++;
  }
  return sent;
}

const field = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

function readBody(req: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function json(res: http.ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

const api = http.createServer((req, res) => {
  const path = (req.url ?? '/').split('?', 1)[0];
  if (req.method === 'GET' && (path === '/healthz' || path === '/readyz')) {
    req.resume();
    return json(res, 200, { status: 'ok' });
  }
  if (req.method !== 'POST' || (path !== '/v1/pushData' && path !== '/v1/push')) {
    req.resume();
    return json(res, 404, { error: { code: 'NOT_FOUND', message: 'no route' } });
  }
  readBody(req).then(
    (text) => {
      let body: any;
      try {
        body = JSON.parse(text);
      } catch {
        return json(res, 400, { error: { code: 'INVALID_JSON', message: 'body is not JSON' } });
      }
      if (path === '/v1/pushData') {
        if (typeof body?.data !== 'string') return json(res, 400, { error: { code: 'BAD_REQUEST', message: 'data' } });
        deliver(field(body.uid), field(body.topic), Buffer.from(body.data, 'base64'));
        return json(res, 200, {});
      }
      if (!Array.isArray(body)) return json(res, 400, { error: { code: 'BAD_REQUEST', message: 'not an array' } });
      const results: unknown[] = [];
      let accepted = 0;
      for (const item of body) {
        if (typeof item?.data !== 'string') {
          results.push({ ok: false, error: { code: 'INVALID_DATA', message: 'data' } });
          continue;
        }
        deliver(field(item.uid), field(item.topic), Buffer.from(item.data, 'utf8'));
        results.push({ ok: true });
        accepted++;
      }
      return json(res, 200, { accepted, failed: body.length - accepted, results });
    },
    () => res.destroy(),
  );
});

wss.on('listening', () => {
  api.listen(apiPort, host, () => {
    process.stdout.write(`ws-baseline listening ws://${host}:${wsPort}/ws api http://${host}:${apiPort}\n`);
  });
});

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => {
    for (const ws of state.keys()) ws.terminate();
    api.close();
    wss.close(() => process.exit(0));
    setTimeout(() => process.exit(0), 1000).unref();
  });
}
