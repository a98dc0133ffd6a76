import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import type { BackendTransport } from './backend-caller.js';

/** Directory of the shipped .proto files (`proto/` at the package root). */
const PROTO_DIR = fileURLToPath(new URL('../../../proto/', import.meta.url));

/** Largest answer read, as the HTTP transport's default: a bigger one fails the call (RESOURCE_EXHAUSTED). */
const MAX_ANSWER_BYTES = 64 * 1024;

/** The RPCs of herald.v1.Backend. */
export type BackendMethod = 'Subscribe' | 'Connect';

/** Options of a {@link GrpcTransport}. */
export interface GrpcTransportOptions {
  /** `grpc://host:port` (plaintext) or `grpcs://host:port` (TLS with the system's roots). */
  url: string | URL;
  method: BackendMethod;
}

type Unary = (request: object, callback: (error: grpc.ServiceError | null, reply: Record<string, unknown>) => void) => grpc.ClientUnaryCall;

/** Load herald.v1.Backend (also used by tests and the benchmark's backend). */
export function loadBackendService(): grpc.ServiceClientConstructor {
  const definition = protoLoader.loadSync('herald/v1/backend.proto', {
    keepCase: true,
    longs: Number,
    enums: String,
    defaults: true,
    includeDirs: [PROTO_DIR],
  });
  const loaded = grpc.loadPackageDefinition(definition) as unknown as { herald: { v1: { Backend: grpc.ServiceClientConstructor } } };
  return loaded.herald.v1.Backend;
}

/**
 * Calls one RPC of herald.v1.Backend and turns the protobuf answer into the JSON answer the HTTP
 * form would carry (`{"result": …}`, `{"error": …}`, `{"disconnect": …}`), so one parser reads
 * both. A status other than OK rejects the request (the caller's "backend unavailable").
 */
export class GrpcTransport implements BackendTransport {
  readonly #client: grpc.Client;
  readonly #method: BackendMethod;

  /** Throws a TypeError on a URL that is not grpc(s)://host:port. */
  constructor(options: GrpcTransportOptions) {
    const url = new URL(options.url);
    if ((url.protocol !== 'grpc:' && url.protocol !== 'grpcs:') || url.host === '' || url.port === '') {
      throw new TypeError(`gRPC backend URL must be grpc://host:port or grpcs://host:port, got ${String(options.url)}`);
    }
    const credentials = url.protocol === 'grpcs:' ? grpc.credentials.createSsl() : grpc.credentials.createInsecure();
    const Backend = loadBackendService();
    // The HTTP transport's bound on an answer (64 KiB) holds here too: grpc-js would take 4 MiB per answer.
    this.#client = new Backend(url.host, credentials, { 'grpc.max_receive_message_length': MAX_ANSWER_BYTES });
    this.#method = options.method;
  }

  request(body: Readonly<Record<string, unknown>>, signal: AbortSignal): Promise<unknown> {
    const rpc = (this.#client as unknown as Record<BackendMethod, Unary>)[this.#method].bind(this.#client);
    return new Promise((resolve, reject) => {
      const call = rpc(this.#method === 'Subscribe' ? subscribeRequest(body) : connectRequest(body), (error, reply) => {
        signal.removeEventListener('abort', cancel);
        if (error !== null) reject(new Error(`gRPC ${grpc.status[error.code] ?? error.code}: ${error.details}`));
        else resolve(this.#method === 'Subscribe' ? subscribeAnswer(reply) : connectAnswer(reply));
      });
      const cancel = (): void => call.cancel();
      signal.addEventListener('abort', cancel, { once: true });
    });
  }

  close(): void {
    this.#client.close();
  }
}

function subscribeRequest(body: Readonly<Record<string, unknown>>): object {
  return { client: body.client, uid: body.uid ?? '', topic: body.topic, private: body.private, protocol: body.protocol };
}

function connectRequest(body: Readonly<Record<string, unknown>>): object {
  return { client: body.client, ip: body.ip, headers: body.headers, protocol: body.protocol };
}

type Message = Record<string, unknown> | null | undefined;

function subscribeAnswer(reply: Record<string, unknown>): unknown {
  const result = reply.result as Message;
  if (result) return { result: withExpiry({}, result.expire_at) };
  return refusal(reply);
}

function connectAnswer(reply: Record<string, unknown>): unknown {
  const result = reply.result as Message;
  if (!result) return refusal(reply);
  const answer: Record<string, unknown> = withExpiry({}, result.expire_at);
  if (typeof result.uid === 'string' && result.uid !== '') answer.uid = result.uid;
  if (Array.isArray(result.subscriptions) && result.subscriptions.length > 0) answer.subscriptions = result.subscriptions;
  return { result: answer };
}

/** `error` or `disconnect` as in JSON; neither: an empty object, which the answer parser calls malformed. */
function refusal(reply: Record<string, unknown>): unknown {
  const error = reply.error as Message;
  if (error) return { error: { code: error.code, message: error.message } };
  const disconnect = reply.disconnect as Message;
  if (disconnect) return { disconnect: { code: disconnect.code, reason: disconnect.reason } };
  return {};
}

function withExpiry(answer: Record<string, unknown>, expireAt: unknown): Record<string, unknown> {
  if (typeof expireAt === 'number' && expireAt > 0) answer.expireAt = expireAt;
  return answer;
}
