/**
 * The backend of S8 (bench/net/s8-proxy.ts): answers every subscribe-proxy check `{"result":{}}`
 * (allowed) over HTTP keep-alive — or, with `--grpc`, as herald.v1.Backend/Subscribe over gRPC —
 * optionally after `--delay-ms`, as a fast application backend would. Its own child process:
 *
 *   node dist/bench/servers/proxy-backend.js [--grpc] [--host 127.0.0.1] [--port 0] [--delay-ms 0]
 *
 * Prints `listening <port>` on stdout once bound; counts the checks answered and prints
 * `checks <n>` on SIGTERM before exiting.
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as grpc from '@grpc/grpc-js';
import { loadBackendService } from '../../src/proxy/grpc-transport.js';

function option(name: string, fallback: string): string {
  const i = process.argv.indexOf(name);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1] : fallback;
}

const host = option('--host', '127.0.0.1');
const port = Number(option('--port', '0'));
const delayMs = Number(option('--delay-ms', '0'));
const ALLOWED = Buffer.from('{"result":{}}');
let checks = 0;

function answer(res: http.ServerResponse): void {
  checks++;
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': ALLOWED.length }).end(ALLOWED);
}

function serveHttp(): void {
  const server = http.createServer({ keepAliveTimeout: 60_000 }, (req, res) => {
    // The body is read whole (a real backend parses it), then answered.
    req.resume();
    req.on('end', () => (delayMs > 0 ? setTimeout(answer, delayMs, res) : answer(res)));
  });
  server.listen(port, host, () => process.stdout.write(`listening ${(server.address() as AddressInfo).port}\n`));
}

function serveGrpc(): void {
  const server = new grpc.Server();
  const allowed = { result: {} };
  const reply = (callback: grpc.sendUnaryData<unknown>): void => {
    checks++;
    callback(null, allowed);
  };
  const handler = (_call: unknown, callback: grpc.sendUnaryData<unknown>): void =>
    void (delayMs > 0 ? setTimeout(reply, delayMs, callback) : reply(callback));
  server.addService(loadBackendService().service, { Subscribe: handler, Connect: handler });
  server.bindAsync(`${host}:${port}`, grpc.ServerCredentials.createInsecure(), (error, bound) => {
    if (error) throw error;
    process.stdout.write(`listening ${bound}\n`);
  });
}

if (process.argv.includes('--grpc')) serveGrpc();
else serveHttp();
process.on('SIGTERM', () => {
  process.stdout.write(`checks ${checks}\n`);
  process.exit(0);
});
