/**
 * The client SDK against scripted `ws` servers, for what a real node never
 * does on its own: replies out of order, duplicate deliveries, late replies,
 * an unprompted session expiry.
 */
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import { HeraldError, HeraldTimeoutError, type HeraldClient, type Message } from '../../src/client/index.js';
import { makeClient, waitUntil } from './client-harness.js';

type Command = Record<string, any>;

/** A scripted server: `onCommand` answers each JSON command; every command is recorded. */
class ScriptedServer {
  readonly commands: Command[] = [];
  readonly sockets: WebSocket[] = [];
  private constructor(
    readonly wss: WebSocketServer,
    readonly url: string,
  ) {}

  static async start(subprotocol: 'herald.v1' | null, onCommand: (ws: WebSocket, command: Command, server: ScriptedServer) => void) {
    const wss = new WebSocketServer({
      host: '127.0.0.1',
      port: 0,
      handleProtocols: (offered) => (subprotocol !== null && offered.has(subprotocol) ? subprotocol : false),
    });
    await new Promise<void>((resolve) => wss.once('listening', resolve));
    const server = new ScriptedServer(wss, `ws://127.0.0.1:${(wss.address() as AddressInfo).port}/ws`);
    wss.on('connection', (ws) => {
      server.sockets.push(ws);
      ws.send(JSON.stringify({ code: 20000, message: 'connected' }));
      ws.on('message', (data) => {
        const text = data.toString();
        if (text === 'ping') return ws.send('pong');
        const command = JSON.parse(text) as Command;
        server.commands.push(command);
        onCommand(ws, command, server);
      });
    });
    return server;
  }

  async close(): Promise<void> {
    for (const ws of this.wss.clients) ws.terminate();
    await new Promise((resolve) => this.wss.close(resolve));
  }
}

const send = (ws: WebSocket, body: object) => ws.send(JSON.stringify(body));
const ok = (ws: WebSocket, command: Command, code: number, extra: object = {}) =>
  send(ws, { code, message: 'ok', ...(command.id === undefined ? {} : { id: command.id }), ...extra });

const servers: ScriptedServer[] = [];
const clients: HeraldClient[] = [];
async function scripted(...args: Parameters<typeof ScriptedServer.start>): Promise<ScriptedServer> {
  const server = await ScriptedServer.start(...args);
  servers.push(server);
  return server;
}
function client(options: Parameters<typeof makeClient>[0]) {
  const made = makeClient({ reconnect: { baseMs: 10, maxMs: 50 }, ...options });
  clients.push(made.client);
  return made;
}

afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  for (const s of servers.splice(0)) await s.close();
});

describe('client: herald.v1 requests and deliveries', { timeout: 30_000 }, () => {
  it('sends an id and a since with each subscribe and matches replies answered out of order', async () => {
    const held: [WebSocket, Command][] = [];
    const server = await scripted('herald.v1', (ws, command) => {
      held.push([ws, command]);
      if (held.length < 2) return;
      const [[wsA, a], [wsB, b]] = held;
      ok(wsB, b, 20001, { recovered: false, position: { seq: 5, epoch: 'E' } });
      ok(wsA, a, 20001, { recovered: false, position: { seq: 9, epoch: 'E' } });
    });
    const { client: c, record } = client({ url: server.url });
    c.connect();
    const a = c.subscribe('a', () => {});
    const b = c.subscribe('b', () => {});
    await Promise.all([a.ready, b.ready]);
    assert.deepEqual(a.position, { seq: 9, epoch: 'E' });
    assert.deepEqual(b.position, { seq: 5, epoch: 'E' });
    const [ca, cb] = server.commands;
    assert.equal(typeof ca.id, 'number');
    assert.notEqual(ca.id, cb.id);
    assert.deepEqual({ ...ca, id: 0 }, { code: 1, topic: 'a', since: { seq: 0, epoch: '?' }, id: 0 });
    assert.deepEqual(record.gaps, [], 'a first subscription has nothing to miss');
  });

  it('drops deliveries at or below the last seq of the same epoch, and follows a new epoch', async () => {
    const server = await scripted('herald.v1', (ws, command) => {
      ok(ws, command, 20001, { recovered: false, position: { seq: 2, epoch: 'E' } });
      for (const seq of [3, 4, 4, 3, 5]) send(ws, { topic: 't', seq, epoch: 'E', data: `e${seq}` });
      send(ws, { topic: 't', seq: 1, epoch: 'F', data: 'f1' });
      send(ws, { topic: 't', seq: 2, epoch: 'F', dataBase64: 'AAE=' });
    });
    const { client: c } = client({ url: server.url });
    const got: Message[] = [];
    c.subscribe('t', (m) => got.push(m));
    c.connect();
    await waitUntil(() => got.length === 5, 'five deliveries');
    assert.deepEqual(got.map((m) => `${m.epoch}${m.seq}`), ['E3', 'E4', 'E5', 'F1', 'F2']);
    assert.deepEqual(got[4].data, new Uint8Array([0, 1]));
  });

  it('resumes from the last delivered position on a new connection', async () => {
    const server = await scripted('herald.v1', (ws, command) => {
      if (server.sockets.length === 1) {
        ok(ws, command, 20001, { recovered: false, position: { seq: 0, epoch: 'E' } });
        send(ws, { topic: 't', seq: 1, epoch: 'E', data: 'one' });
        send(ws, { topic: 't', seq: 2, epoch: 'E', data: 'two' });
        ws.close(4001);
      } else {
        ok(ws, command, 20001, { recovered: true, position: { seq: 3, epoch: 'E' } });
        send(ws, { topic: 't', seq: 2, epoch: 'E', data: 'two again' });
        send(ws, { topic: 't', seq: 3, epoch: 'E', data: 'three' });
      }
    });
    const { client: c, record } = client({ url: server.url });
    const got: string[] = [];
    c.subscribe('t', (m) => got.push(m.data as string));
    c.connect();
    await waitUntil(() => got.length === 3, 'three deliveries');
    assert.deepEqual(got, ['one', 'two', 'three']);
    assert.deepEqual(server.commands[1].since, { seq: 2, epoch: 'E' });
    assert.deepEqual(record.gaps, []);
  });

  it('on an unprompted 30006 reports it, asks the token function again and resubscribes privately from its position', async () => {
    let tokens = 0;
    const server = await scripted('herald.v1', (ws, command) => {
      if (command.code === 3) return ok(ws, command, 20003, { detail: { uid: 'u' } });
      ok(ws, command, 20001, { recovered: false, position: { seq: 7, epoch: 'E' } });
      if (server.commands.length === 2) send(ws, { code: 30006, message: 'session expired' });
    });
    const { client: c, record } = client({ url: server.url, token: () => `t${++tokens}` });
    c.subscribe('inbox', () => {}, { private: true });
    c.connect();
    await waitUntil(() => server.commands.length === 4, 'a second login and subscribe');
    assert.deepEqual(server.commands.map((cmd) => cmd.code), [3, 5, 3, 5]);
    assert.deepEqual(server.commands.map((cmd) => cmd.data), ['t1', undefined, 't2', undefined]);
    assert.deepEqual(server.commands[3].since, { seq: 7, epoch: 'E' });
    assert.equal(record.errors.length, 1);
    assert.ok(record.errors[0] instanceof HeraldError && record.errors[0].code === 30006);
  });

  it('forgets private positions when another user logs in', async () => {
    const server = await scripted('herald.v1', (ws, command) => {
      if (command.code === 3) return ok(ws, command, 20003, { detail: { uid: command.data } });
      if (command.code === 4) return ok(ws, command, 20004);
      ok(ws, command, 20001, { recovered: false, position: { seq: 7, epoch: 'E' } });
    });
    const { client: c } = client({ url: server.url });
    c.connect();
    const sub = c.subscribe('inbox', () => {}, { private: true });
    await c.login('ann');
    await sub.ready;
    await c.logout();
    await c.login('ben');
    await waitUntil(() => server.commands.length === 5, 'the second private subscribe');
    assert.deepEqual(server.commands.map((cmd) => cmd.code), [3, 5, 4, 3, 5]);
    assert.deepEqual(server.commands[4].since, { seq: 0, epoch: '?' });
  });

  it('reports a throwing handler as an error event and keeps delivering', async () => {
    const server = await scripted('herald.v1', (ws, command) => {
      ok(ws, command, 20001, { recovered: false, position: { seq: 0, epoch: 'E' } });
      send(ws, { topic: 't', seq: 1, epoch: 'E', data: 'boom' });
      send(ws, { topic: 't', seq: 2, epoch: 'E', data: 'fine' });
    });
    const { client: c, record } = client({ url: server.url });
    const got: string[] = [];
    c.subscribe('t', (m) => {
      got.push(m.data as string);
      if (m.data === 'boom') throw new Error('handler bug');
    });
    c.connect();
    await waitUntil(() => got.length === 2, 'both deliveries');
    assert.equal(record.errors.length, 1);
    assert.equal((record.errors[0].cause as Error).message, 'handler bug');
    assert.deepEqual(record.texts, ['boom', 'fine']);
  });

  it('reports a subscribe left unanswered and sends it again', async () => {
    const server = await scripted('herald.v1', (ws, command) => {
      if (server.commands.length === 1) return; // the first one goes unanswered
      ok(ws, command, 20001, { recovered: false, position: { seq: 4, epoch: 'E' } });
    });
    const { client: c, record } = client({ url: server.url, requestTimeoutMs: 200 });
    const sub = c.subscribe('slow', () => {});
    c.connect();
    await sub.ready;
    assert.deepEqual(sub.position, { seq: 4, epoch: 'E' });
    assert.equal(server.commands.length, 2);
    assert.deepEqual(server.commands.map((cmd) => cmd.topic), ['slow', 'slow']);
    assert.equal(record.errors.length, 1);
    assert.ok(record.errors[0] instanceof HeraldTimeoutError);
  });

  it('a request with no reply times out with HeraldTimeoutError', async () => {
    const server = await scripted('herald.v1', () => {});
    const { client: c } = client({ url: server.url, requestTimeoutMs: 200 });
    c.connect();
    await assert.rejects(c.login('x'), HeraldTimeoutError);
  });
});

describe('client: gpush requests', { timeout: 30_000 }, () => {
  it('sends no id or since and matches replies in request order', async () => {
    const server = await scripted(null, (ws, command) => {
      if (command.code === 3) return send(ws, { code: 20003, message: 'logged in', detail: { uid: 'g' } });
      if (command.topic === 'bad') return send(ws, { code: 30004, message: 'invalid topic', detail: 'nope' });
      send(ws, { code: 20001, message: 'subscribed' });
    });
    const { client: c } = client({ url: server.url, protocol: 'gpush' });
    c.connect();
    const login = c.login('x');
    const bad = c.subscribe('bad', () => {});
    const good = c.subscribe('good', () => {});
    assert.deepEqual(await login, { uid: 'g' });
    await assert.rejects(bad.ready, (e: unknown) => e instanceof HeraldError && e.code === 30004 && e.detail === 'nope');
    await good.ready;
    assert.deepEqual(server.commands, [
      { code: 3, data: 'x' },
      { code: 1, topic: 'bad' },
      { code: 1, topic: 'good' },
    ]);
  });
});
