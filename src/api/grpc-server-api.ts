import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { EngineUnavailableError, type StreamPosition } from '../engine/engine.js';
import { PROTO_DIR } from './grpc-push-api.js';
import { ApiError } from './http-errors.js';
import type { PushAuthenticator, PushRateLimiter } from './push-auth.js';
import type { ServerOperations } from './server-operations.js';
import { MalformedMessage, strictService, type MessageSchema } from './strict-protobuf.js';

/** Options of a {@link GrpcServerApi}. */
export interface GrpcServerApiOptions {
  /** Undefined → every call answers UNIMPLEMENTED (an embedder's PushApis built without a control plane). */
  operations: ServerOperations | undefined;
  auth?: PushAuthenticator;
  rateLimiter?: PushRateLimiter;
  onError?(error: unknown): void;
}

const UID_TOPIC: MessageSchema = { 1: 'string', 2: 'string' };
const POSITION: MessageSchema = { 1: 'varint', 2: 'string' };
/** Wire schemas of the requests (see strict-protobuf.ts), by method. */
const SCHEMAS: Record<string, MessageSchema> = {
  Disconnect: { 1: 'string', 2: 'varint', 3: 'string', 4: 'string' },
  Subscribe: { 1: 'string', 2: 'string', 3: 'varint' },
  Unsubscribe: { 1: 'string', 2: 'string', 3: 'varint' },
  Presence: { 1: 'string', 2: 'varint' },
  PresenceStats: { 1: 'string' },
  Channels: { 1: 'string', 2: 'varint', 3: 'string' },
  History: { 1: 'string', 2: 'string', 3: POSITION, 4: 'varint' },
  HistoryRemove: UID_TOPIC,
  Info: {},
};

type Request = Record<string, unknown>;
type Handler = (ops: ServerOperations, request: Request) => Promise<object>;

/** '' and 0 mean "not set" in proto3. */
function set<T>(value: T): T | undefined {
  return value === '' || value === 0 ? undefined : value;
}

const HANDLERS: Record<string, Handler> = {
  Disconnect: async (ops, r) => ({
    disconnected: await ops.disconnect({ uid: r.uid, code: set(r.code), reason: set(r.reason), client: set(r.client) }),
  }),
  Subscribe: async (ops, r) => ({ subscribed: await ops.subscription('subscribe', { uid: r.uid, topic: r.topic, private: r.private }) }),
  Unsubscribe: async (ops, r) => ({
    unsubscribed: await ops.subscription('unsubscribe', { uid: r.uid, topic: r.topic, private: r.private }),
  }),
  Presence: async (ops, r) => ({
    clients: (await ops.presence(r.topic, set(r.limit))).map((e) => ({ client: e.client, uid: e.uid, node: e.node, connected_at: e.connectedAt })),
  }),
  PresenceStats: (ops, r) => ops.presenceStats(r.topic),
  Channels: async (ops, r) => {
    const page = await ops.channels(set(r.pattern), set(r.cursor), set(r.limit));
    return { channels: page.channels, cursor: page.cursor ?? '' };
  },
  History: async (ops, r) => {
    const since = r.since as StreamPosition | null | undefined;
    const reply = await ops.history({ topic: r.topic, uid: set(r.uid), since: since ?? undefined, limit: set(r.limit) });
    return {
      publications: reply.publications.map((p) => ({ seq: p.seq, epoch: p.epoch, data: p.bytes })),
      position: reply.position,
      recovered: reply.recovered,
    };
  },
  HistoryRemove: async (ops, r) => {
    await ops.removeHistory({ topic: r.topic, uid: set(r.uid) });
    return {};
  },
  Info: async (ops) => ({
    nodes: (await ops.info()).map((n) => ({ ...n, uptime_ms: n.uptimeMs })),
  }),
};

/**
 * The gRPC server API, `herald.v1.Server` (proto/herald/v1/server.proto):
 * one RPC per HTTP route, the same operations and checks, served by the push
 * API's gRPC listener with its bearer tokens and rate limit. Requests are
 * checked on the wire first (strict-protobuf.ts).
 */
export class GrpcServerApi {
  constructor(private readonly options: GrpcServerApiOptions) {}

  /** Add the service to the push API's gRPC server. */
  register(server: grpc.Server): void {
    const definition = grpc.loadPackageDefinition(
      protoLoader.loadSync('herald/v1/server.proto', { keepCase: true, longs: Number, enums: String, defaults: true, includeDirs: [PROTO_DIR] }),
    ) as unknown as { herald: { v1: { Server: grpc.ServiceClientConstructor } } };
    const implementation: grpc.UntypedServiceImplementation = {};
    for (const [name, handler] of Object.entries(HANDLERS)) {
      implementation[name] = (call: grpc.ServerUnaryCall<Request, object>, done: grpc.sendUnaryData<object>) => this.call(call, done, handler);
    }
    server.addService(strictService(definition.herald.v1.Server.service, SCHEMAS), implementation);
  }

  private call(call: grpc.ServerUnaryCall<Request | MalformedMessage, object>, done: grpc.sendUnaryData<object>, handler: Handler): void {
    const header = call.metadata.get('authorization')[0];
    const auth = this.options.auth;
    const key = auth === undefined ? -1 : auth.identifyAuthorization(typeof header === 'string' ? header : undefined);
    if (key === undefined) return done({ code: grpc.status.UNAUTHENTICATED, details: 'missing or invalid bearer token' });
    if (this.options.rateLimiter !== undefined && !this.options.rateLimiter.take(key)) {
      return done({ code: grpc.status.RESOURCE_EXHAUSTED, details: 'RATE_LIMITED: too many calls for this token' });
    }
    const ops = this.options.operations;
    if (ops === undefined) return done({ code: grpc.status.UNIMPLEMENTED, details: 'NOT_IMPLEMENTED: the server API is not available here (no control plane was configured)' });
    const request = call.request;
    if (request instanceof MalformedMessage) return done({ code: grpc.status.INVALID_ARGUMENT, details: `MALFORMED_MESSAGE: ${request.reason}` });
    let pending: Promise<object>;
    try {
      pending = handler(ops, request);
    } catch (error) {
      return done(this.toStatus(error));
    }
    pending.then(
      (reply) => done(null, reply),
      (error: unknown) => done(this.toStatus(error)),
    );
  }

  private toStatus(error: unknown): Partial<grpc.StatusObject> {
    if (error instanceof ApiError) {
      const code = error.status === 409 ? grpc.status.FAILED_PRECONDITION : grpc.status.INVALID_ARGUMENT;
      return { code, details: `${error.code}: ${error.message}` };
    }
    if (error instanceof EngineUnavailableError) return { code: grpc.status.UNAVAILABLE, details: error.message };
    this.options.onError?.(error);
    return { code: grpc.status.INTERNAL, details: 'internal error' };
  }
}
