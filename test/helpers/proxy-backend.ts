/**
 * Real backends for the subscribe and connect proxies: a node:http server and a gRPC server
 * (herald.v1.Backend) on 127.0.0.1:0, each answering every request as the test's `behave`
 * function says, recording what it received and how many requests it held at once.
 */
import { once } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as grpc from '@grpc/grpc-js';
import { loadBackendService } from '../../src/proxy/grpc-transport.js';

/** How the backend answers one request. */
export type Behaviour =
  /** 200 with this JSON body (HTTP), or this reply message (gRPC); after `delayMs` when given. */
  | { answer: unknown; delayMs?: number }
  /** HTTP status with a text body; gRPC: this status code (a grpc.status) with `text` as details. */
  | { status: number; text: string }
  /** 200 with a body that is not JSON (HTTP only). */
  | { garbage: string }
  /** Never answer (the socket stays open until the backend closes). */
  | 'hang'
  /** Send a 200 head and the start of a body, then nothing more (HTTP only). */
  | 'stall'
  /** Wait until release() is called, then answer `{"result":{}}`. */
  | 'hold';

export type Behave = (request: Record<string, unknown>) => Behaviour;

export interface ProxyBackend {
  readonly url: string;
  /** Request bodies received (gRPC: the request messages), in order. */
  readonly requests: Record<string, unknown>[];
  /** HTTP request headers received, in order (HTTP only). */
  readonly headers: IncomingMessage['headers'][];
  /** Requests being held or delayed now, and the most at once so far. */
  readonly inFlight: number;
  readonly maxInFlight: number;
  behave: Behave;
  /** Answer every held request (and later 'hold' ones at once). */
  release(): void;
  close(): Promise<void>;
}

export const allow: Behave = () => ({ answer: { result: {} } });

abstract class BaseBackend {
  requests: Record<string, unknown>[] = [];
  headers: IncomingMessage['headers'][] = [];
  inFlight = 0;
  maxInFlight = 0;
  #held: (() => void)[] = [];
  #released = false;

  constructor(public behave: Behave) {}

  release(): void {
    this.#released = true;
    for (const answer of this.#held.splice(0)) answer();
  }

  /** Run `answer` now, after `delayMs`, or once released, counting it as in flight meanwhile. */
  protected later(answer: () => void, delayMs: number | undefined, hold: boolean): void {
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    const done = (): void => {
      this.inFlight--;
      answer();
    };
    if (hold && !this.#released) this.#held.push(done);
    else if (delayMs !== undefined) setTimeout(done, delayMs);
    else done();
  }
}

class HttpBackend extends BaseBackend implements ProxyBackend {
  url = '';
  readonly server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => this.#answer(req, res, Buffer.concat(chunks).toString('utf8')));
  });

  #answer(req: IncomingMessage, res: ServerResponse, text: string): void {
    const body = JSON.parse(text) as Record<string, unknown>;
    this.requests.push(body);
    this.headers.push(req.headers);
    const behaviour = this.behave(body);
    if (behaviour === 'hang') return;
    if (behaviour === 'stall') return void res.writeHead(200, { 'content-type': 'application/json' }).write('{"res');
    if (behaviour === 'hold') return this.later(() => json(res, { result: {} }), undefined, true);
    if ('status' in behaviour) return void res.writeHead(behaviour.status, { 'content-type': 'text/plain' }).end(behaviour.text);
    if ('garbage' in behaviour) return void res.writeHead(200, { 'content-type': 'application/json' }).end(behaviour.garbage);
    this.later(() => json(res, behaviour.answer), behaviour.delayMs, false);
  }

  async close(): Promise<void> {
    this.release();
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeAllConnections();
    await closed;
  }
}

function json(res: ServerResponse, body: unknown): void {
  if (!res.destroyed) res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

/** Start an HTTP backend; its URL has a path, as a real one would. */
export async function startHttpBackend(behave: Behave = allow): Promise<ProxyBackend> {
  const backend = new HttpBackend(behave);
  backend.server.listen(0, '127.0.0.1');
  await once(backend.server, 'listening');
  backend.url = `http://127.0.0.1:${(backend.server.address() as AddressInfo).port}/herald/check`;
  return backend;
}

type Callback = (error: grpc.ServiceError | null, reply?: unknown) => void;

class GrpcBackend extends BaseBackend implements ProxyBackend {
  url = '';
  readonly server = new grpc.Server();
  readonly #hanging = new Set<Callback>();

  handler = (call: grpc.ServerUnaryCall<Record<string, unknown>, unknown>, callback: Callback): void => {
    this.requests.push(call.request);
    const behaviour = this.behave(call.request);
    if (behaviour === 'hang' || behaviour === 'stall') return void this.#hanging.add(callback);
    if (behaviour === 'hold') return this.later(() => callback(null, { result: {} }), undefined, true);
    if ('garbage' in behaviour) throw new Error('a gRPC backend cannot answer garbage');
    if ('status' in behaviour) return callback(Object.assign(new Error(behaviour.text), { code: behaviour.status, details: behaviour.text, metadata: new grpc.Metadata() }));
    this.later(() => callback(null, behaviour.answer), behaviour.delayMs, false);
  };

  async close(): Promise<void> {
    this.release();
    this.server.forceShutdown();
  }
}

/** Start a gRPC herald.v1.Backend; its URL is grpc://127.0.0.1:<port>. */
export async function startGrpcBackend(behave: Behave = allow): Promise<ProxyBackend> {
  const backend = new GrpcBackend(behave);
  backend.server.addService(loadBackendService().service, { Subscribe: backend.handler, Connect: backend.handler });
  const port = await new Promise<number>((resolve, reject) =>
    backend.server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (error, bound) => (error ? reject(error) : resolve(bound))),
  );
  backend.url = `grpc://127.0.0.1:${port}`;
  return backend;
}

/** A URL nothing listens on (a port just bound and released). */
export async function deadUrl(scheme: 'http' | 'grpc' = 'http'): Promise<string> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return scheme === 'http' ? `http://127.0.0.1:${port}/check` : `grpc://127.0.0.1:${port}`;
}
