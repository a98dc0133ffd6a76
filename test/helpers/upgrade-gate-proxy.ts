/**
 * A loopback HTTP proxy in front of a Herald node that can refuse WebSocket
 * upgrades (403), standing in for a corporate proxy that breaks them. Plain
 * requests are forwarded one by one (so a keep-alive connection may carry
 * several, each routed on its own): `/console/…` to the push API (the SDK's
 * modules), anything else to the WebSocket listener (`POST /v1/stream`),
 * responses streamed back as they come. `GET /page` answers a blank page of
 * this origin, for a browser test to load the SDK into.
 */
import { connect } from 'node:net';
import { createServer, request as httpRequest, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';

export class UpgradeGateProxy {
  /** While true every upgrade is answered 403 and closed. */
  refusing = true;
  /** Upgrades refused, and upgrades let through. */
  refused = 0;
  passed = 0;
  /** The stream requests forwarded (`POST /v1/stream`). */
  streamRequests = 0;
  private readonly server: Server;
  private readonly sockets = new Set<Duplex>();
  port = 0;

  constructor(
    private readonly wsPort: number,
    private readonly apiPort: number,
  ) {
    this.server = createServer((req, res) => {
      if (req.url === '/page') return void res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end('<!doctype html><title>fallback</title>');
      const toApi = req.url?.startsWith('/console/') === true;
      if (req.url === '/v1/stream') this.streamRequests++;
      const upstream = httpRequest(
        { host: '127.0.0.1', port: toApi ? this.apiPort : this.wsPort, method: req.method, path: req.url, headers: req.headers },
        (answer: IncomingMessage) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          res.flushHeaders();
          answer.pipe(res);
          answer.on('error', () => res.destroy());
        },
      );
      upstream.on('error', () => res.destroy());
      res.on('close', () => upstream.destroy());
      req.pipe(upstream);
    });
    this.server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => this.upgrade(req, socket, head));
    this.server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
  }

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as AddressInfo).port;
    return this;
  }

  get origin(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get wsUrl(): string {
    return `ws://127.0.0.1:${this.port}/ws`;
  }

  private upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', () => socket.destroy());
    if (this.refusing) {
      this.refused++;
      socket.end('HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain\r\nContent-Length: 18\r\nConnection: close\r\n\r\nupgrade forbidden\n');
      return;
    }
    this.passed++;
    // Through: the request head again, then the bytes both ways.
    const upstream = connect(this.wsPort, '127.0.0.1');
    this.sockets.add(upstream);
    upstream.on('close', () => this.sockets.delete(upstream));
    let text = `${req.method} ${req.url} HTTP/1.1\r\n`;
    for (let i = 0; i < req.rawHeaders.length; i += 2) text += `${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}\r\n`;
    upstream.write(`${text}\r\n`);
    if (head.length > 0) upstream.write(head);
    upstream.pipe(socket).pipe(upstream);
    upstream.on('error', () => socket.destroy());
    socket.on('close', () => upstream.destroy());
    upstream.on('close', () => socket.destroy());
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
