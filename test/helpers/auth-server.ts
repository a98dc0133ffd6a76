import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request as the fake auth service received it. */
export interface ReceivedRequest {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
}

/** Answers one request; `body` is the complete request body. */
export type AuthHandler = (req: IncomingMessage, res: ServerResponse, body: string) => void;

/** A real HTTP auth service on 127.0.0.1, recording what it receives. */
export interface AuthServer {
  url: string;
  server: Server;
  requests: ReceivedRequest[];
  close(): Promise<void>;
}

/** Start a real `http` server on 127.0.0.1:0 that reads each body fully, then calls `handler`. */
export async function startAuthServer(handler: AuthHandler): Promise<AuthServer> {
  const requests: ReceivedRequest[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
      handler(req, res, body);
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/account/v1/validate_token`,
    server,
    requests,
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
    },
  };
}

/** Reply with a JSON body and status 200 (or `status`). */
export function replyJson(res: ServerResponse, value: unknown, status = 200): void {
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/** gpush's accepting reply for `uid`. */
export function okReply(uid: unknown): unknown {
  return { code: 0, msg: 'ok', data: { user_info: { uid } } };
}
