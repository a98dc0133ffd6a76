/**
 * A real webhook receiver for tests: node:http on 127.0.0.1, port 0. Every
 * request's signature is checked with node:crypto exactly as PROTOCOL.md tells
 * a backend to (HMAC-SHA256 of the raw body, constant-time compare); batches
 * with a good signature are recorded, the others counted. `mode` makes it
 * answer 503, hold requests unanswered, or be closed (connection refused).
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ReceivedEvent {
  type: string;
  time: number;
  node: string;
  uid: string | null;
  client: string | null;
  topic?: string;
  private?: boolean;
}

export type ReceiverMode = 'ok' | '503' | 'hang';

export class WebhookReceiver {
  /** Batches with a valid signature, in arrival order. */
  readonly batches: ReceivedEvent[][] = [];
  badSignatures = 0;
  badContentType = 0;
  requests = 0;
  mode: ReceiverMode = 'ok';
  private server: Server | undefined;
  private port = 0;

  constructor(readonly secret: string) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}/hooks`;
  }

  /** Every received event, batches concatenated. */
  get events(): ReceivedEvent[] {
    return this.batches.flat();
  }

  ofType(type: string): ReceivedEvent[] {
    return this.events.filter((event) => event.type === type);
  }

  /** Listen (again, on the same port when it had one). */
  async start(): Promise<this> {
    const server = (this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        this.requests++;
        if (this.mode === 'hang') return;
        if (this.mode === '503') {
          res.writeHead(503).end();
          return;
        }
        const body = Buffer.concat(chunks);
        if (req.headers['content-type'] !== 'application/json') this.badContentType++;
        if (!verifySignature(body, String(req.headers['x-herald-signature'] ?? ''), this.secret)) {
          this.badSignatures++;
          res.writeHead(401).end();
          return;
        }
        this.batches.push((JSON.parse(body.toString('utf8')) as { events: ReceivedEvent[] }).events);
        res.writeHead(204).end();
      });
    }));
    await new Promise<void>((resolve) => server.listen(this.port, '127.0.0.1', resolve));
    this.port = (server.address() as AddressInfo).port;
    return this;
  }

  /** Stop listening and drop open connections: requests are refused until start() again. */
  async stop(): Promise<void> {
    const server = this.server;
    if (server === undefined) return;
    this.server = undefined;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

/** The check PROTOCOL.md shows: `sha256=` + hex HMAC of the exact body bytes, compared in constant time. */
export function verifySignature(body: Buffer, header: string, secret: string): boolean {
  const expected = Buffer.from(`sha256=${createHmac('sha256', secret).update(body).digest('hex')}`);
  const given = Buffer.from(header);
  return given.length === expected.length && timingSafeEqual(given, expected);
}
