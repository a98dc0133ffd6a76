/**
 * A real `@grpc/grpc-js` client for Herald's gRPC push API, built from the
 * shipped .proto files (`loadProtos()`): gpush's `order.Proxy/PushData` and
 * `herald.v1.Push` (Publish, PublishBatch, PublishStream). Every call carries
 * a deadline (a safety bound, never a timing assertion) and, when the client
 * has one, an `authorization` metadata entry.
 */
import assert from 'node:assert/strict';
import { Buffer } from 'node:buffer';
import * as grpc from '@grpc/grpc-js';
import WebSocket from 'ws';
import { loadProtos } from '../../src/api/grpc-push-api.js';
import { HeraldNode, type HeraldNodeOptions } from '../../src/node.js';
import { TestClient, apiRequests, waitUntil, type TestNode } from './herald-node.js';

/** Safety deadline of a unary call. */
export const CALL_DEADLINE_MS = 30_000;
/** Safety deadline of a whole stream. */
export const STREAM_DEADLINE_MS = 180_000;

/** One push as sent over gRPC; omitted fields are protobuf defaults ("" / empty bytes). */
export interface GrpcPush {
  uid?: string;
  topic?: string;
  /** UTF-8 text or bytes. */
  data?: string | Buffer;
}

export interface PublishFailure {
  index: number;
  code: string;
  message: string;
}

/** `herald.v1.PublishSummary` as the client decodes it (uint64 → number). */
export interface PublishSummary {
  accepted: number;
  failed: number;
  failures: PublishFailure[];
}

/** A failed call: the gRPC status code and details. */
export type GrpcError = grpc.ServiceError;

type UnaryMethod = (
  request: unknown,
  metadata: grpc.Metadata,
  options: grpc.CallOptions,
  callback: (error: grpc.ServiceError | null, response?: unknown) => void,
) => grpc.ClientUnaryCall;
type StreamMethod = (
  metadata: grpc.Metadata,
  options: grpc.CallOptions,
  callback: (error: grpc.ServiceError | null, response?: unknown) => void,
) => grpc.ClientWritableStream<unknown>;

let protos: ReturnType<typeof loadProtos> | undefined;

function toMessage(push: GrpcPush): { uid: string; topic: string; data: Buffer } {
  const data = push.data === undefined ? Buffer.alloc(0) : typeof push.data === 'string' ? Buffer.from(push.data, 'utf8') : push.data;
  return { uid: push.uid ?? '', topic: push.topic ?? '', data };
}

function deadline(ms: number): Date {
  return new Date(Date.now() + ms);
}

export interface GrpcClientOptions {
  /** Sent as `authorization: Bearer <token>`. */
  token?: string;
  /** Sent verbatim as the `authorization` metadata (overrides `token`). */
  authorization?: string;
}

/** Clients for both services on `127.0.0.1:<port>`. */
export class GrpcPushClient {
  readonly proxy: grpc.Client;
  readonly push: grpc.Client;
  private readonly authorization: string | undefined;
  /** Times the last publishStream found write() returning false and waited for 'drain'. */
  drainWaits = 0;

  constructor(port: number, options: GrpcClientOptions = {}) {
    protos ??= loadProtos();
    const address = `127.0.0.1:${port}`;
    const credentials = grpc.credentials.createInsecure();
    const channelOptions = {
      // Let oversized requests through to the server, which must refuse them itself.
      'grpc.max_send_message_length': 64 * 1024 * 1024,
      // grpc-js keeps up to this many bytes of sent messages for retries and
      // completes write() at once while they fit; with the default (256 KiB) a
      // stream of small messages piles ~15k of them up and grpc-js 1.14 slices
      // that array on every write completion (retrying-call.js
      // clearSentMessages): 100k messages take ~15 s instead of ~1.5 s. A small
      // buffer also makes write()'s false/'drain' reflect the server's flow control.
      'grpc.per_rpc_retry_buffer_size': 16 * 1024,
    };
    this.proxy = new protos.gpush.order.Proxy(address, credentials, channelOptions);
    this.push = new protos.herald.herald.v1.Push(address, credentials, channelOptions);
    this.authorization = options.authorization ?? (options.token === undefined ? undefined : `Bearer ${options.token}`);
  }

  private metadata(): grpc.Metadata {
    const metadata = new grpc.Metadata();
    if (this.authorization !== undefined) metadata.set('authorization', this.authorization);
    return metadata;
  }

  private unary(client: grpc.Client, method: string, request: unknown): Promise<unknown> {
    const fn = (client as unknown as Record<string, UnaryMethod>)[method];
    return new Promise((resolve, reject) => {
      fn.call(client, request, this.metadata(), { deadline: deadline(CALL_DEADLINE_MS) }, (error, response) =>
        error ? reject(error) : resolve(response),
      );
    });
  }

  /** gpush's `order.Proxy/PushData`; resolves with the (empty) response. */
  pushData(push: GrpcPush): Promise<unknown> {
    return this.unary(this.proxy, 'PushData', toMessage(push));
  }

  /** `herald.v1.Push/Publish`. */
  publish(push: GrpcPush): Promise<unknown> {
    return this.unary(this.push, 'Publish', toMessage(push));
  }

  /** `herald.v1.Push/PublishBatch`. */
  async publishBatch(items: readonly GrpcPush[]): Promise<PublishSummary> {
    return (await this.unary(this.push, 'PublishBatch', { items: items.map(toMessage) })) as PublishSummary;
  }

  /**
   * `herald.v1.Push/PublishStream`: write `count` messages made by `make(i)`,
   * respecting backpressure (write until `write()` returns false, then wait
   * for 'drain'), half-close, and resolve with the summary.
   */
  publishStream(count: number, make: (index: number) => GrpcPush): Promise<PublishSummary> {
    const fn = (this.push as unknown as Record<string, StreamMethod>).PublishStream;
    return new Promise((resolve, reject) => {
      let failed = false;
      const call = fn.call(this.push, this.metadata(), { deadline: deadline(STREAM_DEADLINE_MS) }, (error, response) => {
        if (error) {
          failed = true;
          reject(error);
        } else {
          resolve(response as PublishSummary);
        }
      });
      call.on('error', () => undefined); // reported through the callback
      let index = 0;
      this.drainWaits = 0;
      const pump = (): void => {
        while (index < count && !failed) {
          const more = call.write(toMessage(make(index++)));
          if (!more) {
            this.drainWaits++;
            call.once('drain', pump);
            return;
          }
        }
        if (!failed) call.end();
      };
      pump();
    });
  }

  close(): void {
    this.proxy.close();
    this.push.close();
  }
}

/** Awaits `promise`, which must fail with gRPC status `code` (and details matching `details`, when given). */
export async function expectStatus(promise: Promise<unknown>, code: grpc.status, details?: RegExp): Promise<GrpcError> {
  let error: GrpcError | undefined;
  try {
    await promise;
  } catch (caught) {
    error = caught as GrpcError;
  }
  assert.ok(error !== undefined, `expected gRPC status ${grpc.status[code]}, but the call succeeded`);
  assert.equal(error.code, code, `expected ${grpc.status[code]}, got ${grpc.status[error.code] ?? error.code}: ${error.details}`);
  if (details !== undefined) assert.match(error.details, details);
  return error;
}

/** A {@link TestNode} that also serves gRPC on an ephemeral port. */
export interface GrpcTestNode extends TestNode {
  grpcPort: number;
  /** A gRPC client for this node (closed by `stop()`). */
  grpc(options?: GrpcClientOptions): GrpcPushClient;
}

/**
 * Start a node on 127.0.0.1 with ephemeral WebSocket, HTTP and gRPC ports
 * (`grpcPort: 0`; the bound port is what `start()` returns). Same client
 * helpers as `startNode` from herald-node.ts (whose `send` sends no token:
 * with `pushTokens`, use `request` with an Authorization header).
 */
export async function startGrpcNode(options: HeraldNodeOptions = {}): Promise<GrpcTestNode> {
  const node = new HeraldNode({ wsHost: '127.0.0.1', wsPort: 0, apiHost: '127.0.0.1', apiPort: 0, grpcPort: 0, ...options });
  const { ws, api, grpcPort } = await node.start();
  assert.equal(typeof grpcPort, 'number', 'start() did not return a gRPC port');
  const wsUrl = `ws://127.0.0.1:${ws.port}${options.wsPath ?? '/ws'}`;
  const apiUrl = `http://127.0.0.1:${api?.port}`;
  const clients = new Set<TestClient>();
  const grpcClients: GrpcPushClient[] = [];

  const { request, post } = apiRequests(apiUrl);
  const terminateAll = (): void => {
    for (const client of clients) if (client.closeEvent === undefined) client.terminate();
    clients.clear();
  };

  return {
    node,
    wsUrl,
    wsPort: ws.port,
    apiUrl,
    grpcPort: grpcPort as number,
    grpc(clientOptions) {
      const client = new GrpcPushClient(grpcPort as number, clientOptions);
      grpcClients.push(client);
      return client;
    },
    async connect(connectOptions = {}) {
      const client = new TestClient(new WebSocket(wsUrl, connectOptions.ws));
      clients.add(client);
      await new Promise<void>((resolve, reject) => {
        client.ws.once('open', resolve);
        client.ws.once('error', reject);
      });
      if (connectOptions.greeting !== false) await client.nextReply(20000);
      return client;
    },
    push: (body) => post('/v1/pushData', body),
    pushBatch: (items) => post('/v1/push', items),
    async send(target, payload) {
      const data = (typeof payload === 'string' ? Buffer.from(payload, 'utf8') : payload).toString('base64');
      const res = await post('/v1/pushData', { ...target, data });
      assert.equal(res.status, 200, `push to ${JSON.stringify(target)} failed: ${res.status} ${res.text}`);
    },
    request,
    async closeClients() {
      terminateAll();
      await waitUntil(() => node.hub.clientCount === 0 && node.ws.connectionCount === 0, 'the node to drop every client');
    },
    async stop() {
      terminateAll();
      for (const client of grpcClients) client.close();
      await node.stop();
    },
  };
}

export { grpc };
