/**
 * S9's webhook receiver, run as its own process (so its CPU is not Herald's):
 * node:http on 127.0.0.1, port 0; checks each batch's signature as a backend
 * would, counts events per type, answers 204. Prints `{"port":…}` on one line
 * once listening. `GET /stats` answers the counts.
 *   node webhook-receiver.js <secret>
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

const secret = process.argv[2] ?? 'bench-secret';
const counts: Record<string, number> = {};
let requests = 0;
let badSignatures = 0;
let events = 0;

const server = createServer((req, res) => {
  if (req.method === 'GET') {
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ requests, badSignatures, events, counts }));
    return;
  }
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', () => {
    requests++;
    const body = Buffer.concat(chunks);
    const expected = Buffer.from(`sha256=${createHmac('sha256', secret).update(body).digest('hex')}`);
    const given = Buffer.from(String(req.headers['x-herald-signature'] ?? ''));
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
      badSignatures++;
      res.writeHead(401).end();
      return;
    }
    for (const event of (JSON.parse(body.toString('utf8')) as { events: { type: string }[] }).events) {
      counts[event.type] = (counts[event.type] ?? 0) + 1;
      events++;
    }
    res.writeHead(204).end();
  });
});
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ port: (server.address() as AddressInfo).port })}\n`);
});
