/**
 * Helpers for the client SDK tests: a `ws` subclass that records every socket
 * the client opens and can hold it off the server (a gate), and a recorder of
 * a client's events. Nothing here measures time.
 */
import type { AddressInfo } from 'node:net';
import WebSocket, { WebSocketServer } from 'ws';
import { HeraldClient, type HeraldClientOptions } from '../../src/client/index.js';
import type { ClientStatus, GapInfo, Message } from '../../src/client/index.js';

export { waitUntil } from '../helpers/herald-node.js';

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * A WebSocket class for the client that records its sockets. While `blocked`,
 * new sockets are pointed at a path the server answers 404, so every attempt
 * fails (close 1006) and the client keeps reconnecting until unblocked.
 */
export class SocketTracker {
  readonly sockets: WebSocket[] = [];
  blocked = false;
  readonly WebSocket: new (url: string, protocols?: string | string[]) => WebSocket;

  constructor() {
    const tracker = this;
    this.WebSocket = class TrackedWebSocket extends WebSocket {
      constructor(url: string, protocols?: string | string[]) {
        super(tracker.blocked ? url.replace(/\/ws$/, '/blocked') : url, protocols);
        tracker.sockets.push(this);
      }
    };
  }

  /** The socket opened last. */
  get last(): WebSocket {
    const socket = this.sockets.at(-1);
    if (socket === undefined) throw new Error('no socket opened yet');
    return socket;
  }

  /** Kill the current connection abruptly (no close frame: the client sees 1006), and keep it off until `unblock()`. */
  dropAndBlock(): void {
    this.blocked = true;
    this.last.terminate();
  }

  unblock(): void {
    this.blocked = false;
  }
}

/** Everything a client emitted. */
export class ClientRecord {
  readonly statuses: ClientStatus[] = [];
  readonly messages: Message[] = [];
  readonly errors: Error[] = [];
  readonly gaps: GapInfo[] = [];

  constructor(readonly client: HeraldClient) {
    client.on('status', (s) => this.statuses.push(s));
    client.on('message', (m) => this.messages.push(m));
    client.on('error', (e) => this.errors.push(e));
    client.on('gap', (g) => this.gaps.push(g));
  }

  /** Text payloads received through the `message` event. */
  get texts(): string[] {
    return this.messages.map((m) => (typeof m.data === 'string' ? m.data : `0x${Buffer.from(m.data).toString('hex')}`));
  }
}

/**
 * A client with the `ws` class (or `options.WebSocket`) and a recorder; not
 * connected yet. The HTTP-stream fallback is off unless `options.fallback`
 * is given: these tests refuse upgrades on purpose to exercise WebSocket reconnects.
 */
export function makeClient(options: Omit<HeraldClientOptions, 'WebSocket'> & { WebSocket?: HeraldClientOptions['WebSocket'] }): {
  client: HeraldClient;
  record: ClientRecord;
} {
  const client = new HeraldClient({ WebSocket, fallback: false, ...options });
  return { client, record: new ClientRecord(client) };
}

/** Text of a message's data (bytes as `0x…`). */
export function textOf(message: Message): string {
  return typeof message.data === 'string' ? message.data : `0x${Buffer.from(message.data).toString('hex')}`;
}

/**
 * Bare `ws` servers standing in for a gateway where a test needs to script
 * what a connection gets (selects herald.v1 when offered); `closeAll()` in
 * `afterEach`.
 */
export class BareServers {
  private readonly servers: WebSocketServer[] = [];

  /** A new server: `onConnection` decides what each connection gets; `count()` counts connections. */
  async start(onConnection: (ws: WebSocket) => void): Promise<{ url: string; count: () => number }> {
    const server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    this.servers.push(server);
    await new Promise<void>((resolve) => server.once('listening', resolve));
    let connections = 0;
    server.on('connection', (ws) => {
      connections++;
      onConnection(ws);
    });
    return { url: `ws://127.0.0.1:${(server.address() as AddressInfo).port}/ws`, count: () => connections };
  }

  async closeAll(): Promise<void> {
    for (const s of this.servers.splice(0)) {
      for (const ws of s.clients) ws.terminate();
      await new Promise((resolve) => s.close(resolve));
    }
  }
}
