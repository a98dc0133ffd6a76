/**
 * The uWebSockets.js peer of the network scenarios: the surface the `ws`
 * baseline (ws-baseline.ts) serves, on uWS.js's own C++ server, in its own
 * child process:
 *
 *   node dist/bench/servers/uws-peer.js --ws-port P --api-port Q [--host 127.0.0.1]
 *
 * Client side, as the baseline: greeting 20000 on open; ops 1 (subscribe,
 * 20001), 3 (log in: the credential string is the uid, 20003) and 5 (private
 * subscribe, needs a login, 20001); text `ping` → `pong`.
 *
 * Push side (HTTP, on both ports): `POST /v1/pushData` `{"uid","topic","data":"<base64>"}`
 * → `{}` and `POST /v1/push` `[{uid?, topic?, data: "text"}, …]` →
 * `{accepted, failed, results}`, routed as Herald and the baseline route them.
 * What makes it the fast peer: a push to a public topic is one
 * `app.publish(topic, …)`, uWS's in-process pub/sub, which frames the message
 * once and queues it to every subscriber in C++. A push to a user (the S5
 * unicast batch) is a JS handler calling `ws.send` per item, which is what a
 * uWS.js service would do. `GET /healthz`, `/readyz` → 200.
 *
 * It prints which binary it loaded (stock or patched, see uws-loader.ts) as
 * its first line of output: `uws-peer binary {json}`.
 */
import { isUtf8 } from 'node:buffer';
import { describeBinary, loadUws } from './uws-loader.js';
import type * as UwsModule from '@btc-vision/uwebsockets.js';

type UwsApi = typeof UwsModule;
type UwsResponse = UwsModule.HttpResponse;

function option(name: string, fallback?: string): string {
  const i = process.argv.indexOf(name);
  const value = i >= 0 ? process.argv[i + 1] : fallback;
  if (value === undefined) {
    process.stderr.write(`uws-peer: missing ${name}\n`);
    process.exit(2);
  }
  return value;
}

const host = option('--host', '127.0.0.1');
const wsPort = Number(option('--ws-port'));
const apiPort = Number(option('--api-port'));

const { uws, binary } = loadUws<UwsApi>();
process.stdout.write(`uws-peer binary ${JSON.stringify(binary)}\n`);

/** Per-connection state, uWS's user data of the socket. */
interface Client {
  uid: string | null;
  /** Private topics (op 5): few per client, so created on first use. */
  privateTopics: Set<string> | null;
}

type Socket = UwsModule.WebSocket<Client>;

/**
 * Every open socket, for a push with neither uid nor topic (the baseline's
 * `state.keys()`); one Set entry per connection, counted in S1's memory.
 */
const everyone = new Set<Socket>();
const users = new Map<string, Set<Socket>>();

const reply = (code: number, message: string, detail?: unknown): string =>
  JSON.stringify(detail === undefined ? { code, message } : { code, message, detail });
const CONNECTED = reply(20000, 'connected');
const SUBSCRIBED = reply(20001, 'subscribed');
const BAD_REQUEST = reply(30001, 'bad request');
const NOT_LOGGED_IN = reply(30002, 'not logged in');
const decoder = new TextDecoder();

function onMessage(ws: Socket, message: ArrayBuffer, isBinary: boolean): void {
  if (isBinary) {
    ws.send(BAD_REQUEST);
    return;
  }
  // The ArrayBuffer is valid only during this call: decode it now.
  const text = decoder.decode(message);
  if (text.toLowerCase() === 'ping') {
    ws.send('pong');
    return;
  }
  let op: { code?: unknown; topic?: unknown; data?: unknown };
  try {
    op = JSON.parse(text);
  } catch {
    ws.send(BAD_REQUEST);
    return;
  }
  const client = ws.getUserData();
  switch (op?.code) {
    case 1:
      if (typeof op.topic !== 'string' || op.topic === '') return void ws.send(BAD_REQUEST);
      ws.subscribe(op.topic);
      return void ws.send(SUBSCRIBED);
    case 3: {
      if (typeof op.data !== 'string' || op.data === '') return void ws.send(reply(30003, 'authentication failed'));
      if (client.uid !== null) {
        leave(ws, client.uid);
        client.privateTopics = null;
      }
      client.uid = op.data;
      let set = users.get(client.uid);
      if (set === undefined) users.set(client.uid, (set = new Set()));
      set.add(ws);
      return void ws.send(reply(20003, 'logged in', { uid: client.uid }));
    }
    case 5:
      if (client.uid === null) return void ws.send(NOT_LOGGED_IN);
      if (typeof op.topic !== 'string' || op.topic === '') return void ws.send(BAD_REQUEST);
      (client.privateTopics ??= new Set()).add(op.topic);
      return void ws.send(SUBSCRIBED);
    default:
      return void ws.send(BAD_REQUEST);
  }
}

function leave(ws: Socket, uid: string): void {
  const set = users.get(uid);
  if (set !== undefined && set.delete(ws) && set.size === 0) users.delete(uid);
}

const app = uws.App();
app.ws<Client>('/ws', {
  compression: 0,
  maxPayloadLength: 64 * 1024,
  // No idle timeout: Herald runs with --heartbeat-timeout 10m and the load clients do not ping.
  idleTimeout: 0,
  // Room for a burst to a slow reader; a send past it is dropped (counted as not delivered).
  maxBackpressure: 4 * 1024 * 1024,
  upgrade: (res, req, context) => {
    const client: Client = { uid: null, privateTopics: null };
    res.upgrade(
      client,
      req.getHeader('sec-websocket-key'),
      req.getHeader('sec-websocket-protocol'),
      req.getHeader('sec-websocket-extensions'),
      context,
    );
  },
  open: (ws) => {
    everyone.add(ws);
    ws.send(CONNECTED);
  },
  message: onMessage,
  close: (ws) => {
    everyone.delete(ws);
    const client = ws.getUserData();
    if (client.uid !== null) leave(ws, client.uid);
  },
});

/** Route one push as Herald routes it: a topic is one publish; a user gets a `send` per socket (per private subscriber with uid+topic). */
function deliver(uid: string | undefined, topic: string | undefined, data: Buffer): void {
  const binaryFrame = !isUtf8(data);
  if (uid !== undefined) {
    const sockets = users.get(uid);
    if (sockets === undefined) return;
    for (const ws of sockets) {
      if (topic !== undefined && ws.getUserData().privateTopics?.has(topic) !== true) continue;
      ws.send(data, binaryFrame);
    }
  } else if (topic !== undefined) {
    app.publish(topic, data, binaryFrame);
  } else {
    for (const ws of everyone) ws.send(data, binaryFrame);
  }
}

const field = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

function answer(res: UwsResponse, status: string, body: unknown): void {
  res.cork(() => {
    res.writeStatus(status).writeHeader('Content-Type', 'application/json').end(JSON.stringify(body));
  });
}

/** Read the whole body (uWS hands it over in chunks whose buffers are reused: copy each). */
function withBody(res: UwsResponse, handle: (body: Buffer) => void): void {
  const chunks: Buffer[] = [];
  let aborted = false;
  res.onAborted(() => {
    aborted = true;
  });
  res.onData((chunk, isLast) => {
    chunks.push(Buffer.from(chunk.slice(0)));
    if (isLast && !aborted) handle(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks));
  });
}

function parse(res: UwsResponse, body: Buffer): any {
  try {
    return JSON.parse(body.toString('utf8'));
  } catch {
    answer(res, '400 Bad Request', { error: { code: 'INVALID_JSON', message: 'body is not JSON' } });
    return undefined;
  }
}

const health = (res: UwsResponse): void => answer(res, '200 OK', { status: 'ok' });
app.get('/healthz', health);
app.get('/readyz', health);
app.post('/v1/pushData', (res) =>
  withBody(res, (raw) => {
    const body = parse(res, raw);
    if (body === undefined) return;
    if (typeof body?.data !== 'string') return answer(res, '400 Bad Request', { error: { code: 'BAD_REQUEST', message: 'data' } });
    deliver(field(body.uid), field(body.topic), Buffer.from(body.data, 'base64'));
    answer(res, '200 OK', {});
  }),
);
app.post('/v1/push', (res) =>
  withBody(res, (raw) => {
    const body = parse(res, raw);
    if (body === undefined) return;
    if (!Array.isArray(body)) return answer(res, '400 Bad Request', { error: { code: 'BAD_REQUEST', message: 'not an array' } });
    const results: unknown[] = [];
    let accepted = 0;
    // One cork around the whole batch: the sends of all items leave in as few writes as possible.
    res.cork(() => {
      for (const item of body) {
        if (typeof item?.data !== 'string') {
          results.push({ ok: false, error: { code: 'INVALID_DATA', message: 'data' } });
          continue;
        }
        deliver(field(item.uid), field(item.topic), Buffer.from(item.data, 'utf8'));
        results.push({ ok: true });
        accepted++;
      }
    });
    answer(res, '200 OK', { accepted, failed: body.length - accepted, results });
  }),
);
app.any('/*', (res) => answer(res, '404 Not Found', { error: { code: 'NOT_FOUND', message: 'no route' } }));

let listening = 0;
const sockets: UwsModule.us_listen_socket[] = [];
for (const port of [wsPort, apiPort]) {
  app.listen(host, port, (socket) => {
    if (!socket) {
      process.stderr.write(`uws-peer: cannot listen on ${host}:${port}\n`);
      process.exit(1);
    }
    sockets.push(socket);
    if (++listening === 2) {
      process.stdout.write(`uws-peer listening ws://${host}:${wsPort}/ws api http://${host}:${apiPort} (${describeBinary(binary)})\n`);
    }
  });
}

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => {
    for (const s of sockets) uws.us_listen_socket_close(s);
    for (const ws of everyone) ws.close();
    setTimeout(() => process.exit(0), 200).unref();
  });
}
