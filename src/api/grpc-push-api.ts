import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { EngineUnavailableError, type Publication } from '../engine/engine.js';
import { listenGated, type GatedListener } from './grpc-preface-gate.js';
import { ApiError } from './http-errors.js';
import type { PublishPush } from './push-publisher.js';
import type { HeraldMetrics } from './metrics.js';
import type { PushAuthenticator, PushRateLimiter } from './push-auth.js';
import { buildPublication, type PushLimits } from './push-request.js';
import { BATCH_SCHEMA, MalformedMessage, PUSH_SCHEMA, strictService } from './strict-protobuf.js';

/** Directory of the shipped .proto files (`proto/` at the package root). */
export const PROTO_DIR = fileURLToPath(new URL('../../../proto/', import.meta.url));

/** Options of a {@link GrpcPushApi}. */
export interface GrpcPushApiOptions {
  /** Hand a validated push to the engine (see PublishPush: synchronous when the engine is). */
  publish: PublishPush;
  limits: PushLimits;
  /** Most items in one PublishBatch: `--max-batch-items`. */
  maxBatchItems: number;
  metrics: HeraldMetrics;
  /** Checks `authorization: Bearer …` metadata; none → every call allowed. */
  auth?: PushAuthenticator;
  /** Calls per second per token (a stream counts once); none → unlimited. */
  rateLimiter?: PushRateLimiter;
  /**
   * Time a new connection has to send its opening bytes (the HTTP/2 preface, or a TLS ClientHello)
   * before it is dropped, in ms (`--push-request-timeout`); see {@link listenGated}.
   */
  prefaceTimeoutMs: number;
  /** Most TCP connections held at once, waiting at the gate or admitted (`--grpc-max-connections`). */
  maxConnections: number;
  onError?(error: unknown): void;
}

interface PushMessage {
  uid: string;
  topic: string;
  data: Buffer;
}
interface Failure {
  index: number;
  code: string;
  message: string;
}

const MAX_REPORTED_FAILURES = 1000;
/** PublishStream pauses reading while this many publishes are unresolved (Redis-backed engines). */
const STREAM_HIGH_WATER = 1024;

/** How long an admitted connection may go without a call: six times the preface deadline (30 s by default). */
function idleBoundMs(prefaceTimeoutMs: number): number {
  return 6 * prefaceTimeoutMs;
}

/**
 * The gRPC side of the push API: gpush's `order.Proxy/PushData` and Herald's
 * `herald.v1.Push` (Publish, PublishStream, PublishBatch). Errors map to gRPC
 * status codes: INVALID_ARGUMENT, RESOURCE_EXHAUSTED (too large),
 * UNAUTHENTICATED, UNAVAILABLE (engine), INTERNAL (a bug).
 */
export class GrpcPushApi {
  readonly server: grpc.Server;
  private readonly options: GrpcPushApiOptions;
  private readonly maxBatchItems: number;
  private listener: GatedListener | undefined;

  constructor(options: GrpcPushApiOptions) {
    this.options = options;
    this.maxBatchItems = options.maxBatchItems;
    const maxMessage = options.limits.maxPushBytes + 64 * 1024;
    this.server = new grpc.Server({
      // A connection past the gate (it sent the preface) but with no call for this long is closed
      // (GOAWAY, then the socket): one that sends the preface and falls silent held a descriptor
      // forever. An idle client channel reconnects on its next call, so the bound is generous.
      'grpc.max_connection_idle_ms': idleBoundMs(options.prefaceTimeoutMs),
      'grpc.max_receive_message_length': Math.max(maxMessage, this.maxBatchItems * 1024),
      'grpc.max_send_message_length': 4 * 1024 * 1024,
    });
    const proto = loadProtos();
    // Wire data is checked before protobufjs decodes it (see strict-protobuf.ts): a malformed message is
    // answered INVALID_ARGUMENT, never read leniently into a push.
    this.server.addService(strictService(proto.gpush.order.Proxy.service, { PushData: PUSH_SCHEMA }), {
      PushData: (call: grpc.ServerUnaryCall<PushMessage, object>, done: grpc.sendUnaryData<object>) =>
        this.unary(call, done, 'grpc_gpush'),
    });
    const heraldSchemas = { Publish: PUSH_SCHEMA, PublishStream: PUSH_SCHEMA, PublishBatch: BATCH_SCHEMA };
    this.server.addService(strictService(proto.herald.herald.v1.Push.service, heraldSchemas), {
      Publish: (call: grpc.ServerUnaryCall<PushMessage, object>, done: grpc.sendUnaryData<object>) =>
        this.unary(call, done, 'grpc'),
      PublishStream: (call: grpc.ServerReadableStream<PushMessage, object>, done: grpc.sendUnaryData<object>) =>
        this.stream(call, done),
      PublishBatch: (call: grpc.ServerUnaryCall<{ items: PushMessage[] }, object>, done: grpc.sendUnaryData<object>) =>
        this.batch(call, done),
    });
  }

  /** Bind and start; resolves with the bound port. */
  async listen(port: number, host: string, credentials = grpc.ServerCredentials.createInsecure()): Promise<number> {
    const { prefaceTimeoutMs, maxConnections } = this.options;
    this.listener = await listenGated(this.server, port, host, credentials, prefaceTimeoutMs, maxConnections);
    return this.listener.port;
  }

  /** Finish calls in progress for up to `timeoutMs`, then cut the rest. */
  close(timeoutMs = 1000): Promise<void> {
    this.listener?.close();
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.server.forceShutdown();
        resolve();
      }, timeoutMs);
      timer.unref();
      this.server.tryShutdown(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  private authorized(call: { metadata: grpc.Metadata }, done: grpc.sendUnaryData<object>): boolean {
    const auth = this.options.auth;
    const header = call.metadata.get('authorization')[0];
    const key = auth === undefined ? -1 : auth.identifyAuthorization(typeof header === 'string' ? header : undefined);
    if (key === undefined) {
      this.options.metrics.pushesTotal.inc({ api: 'grpc', result: 'unauthenticated' });
      done({ code: grpc.status.UNAUTHENTICATED, details: 'missing or invalid bearer token' });
      return false;
    }
    if (this.options.rateLimiter !== undefined && !this.options.rateLimiter.take(key)) {
      this.options.metrics.pushesTotal.inc({ api: 'grpc', result: 'rate_limited' });
      done({ code: grpc.status.RESOURCE_EXHAUSTED, details: 'RATE_LIMITED: too many push calls for this token' });
      return false;
    }
    return true;
  }

  private unary(call: grpc.ServerUnaryCall<PushMessage, object>, done: grpc.sendUnaryData<object>, api: string): void {
    if (!this.authorized(call, done)) return;
    if (this.malformed(call.request, done, api)) return;
    let publication: Publication;
    try {
      publication = this.toPublication(call.request);
    } catch (error) {
      this.options.metrics.pushesTotal.inc({ api, result: 'invalid' });
      return done(this.toStatus(error));
    }
    const accepted = () => {
      this.options.metrics.pushesTotal.inc({ api, result: 'ok' });
      done(null, {});
    };
    const refused = (error: unknown) => {
      this.options.metrics.pushesTotal.inc({ api, result: 'unavailable' });
      done(this.toStatus(error));
    };
    let accepting: Promise<void> | undefined;
    try {
      accepting = this.options.publish(publication);
    } catch (error) {
      return refused(error);
    }
    if (accepting === undefined) accepted();
    else accepting.then(accepted, refused);
  }

  private batch(call: grpc.ServerUnaryCall<{ items: PushMessage[] }, object>, done: grpc.sendUnaryData<object>): void {
    if (!this.authorized(call, done)) return;
    if (this.malformed(call.request, done, 'grpc_batch')) return;
    const items = call.request.items ?? [];
    if (items.length > this.maxBatchItems) {
      return done({ code: grpc.status.RESOURCE_EXHAUSTED, details: `a batch holds at most ${this.maxBatchItems} items` });
    }
    const summary = new Summary();
    items.forEach((item, index) => summary.track(index, item, this));
    summary.settled().then(
      () => done(null, summary.result(this.options.metrics, 'grpc_batch')),
      (error: unknown) => done(this.toStatus(error)),
    );
  }

  private stream(call: grpc.ServerReadableStream<PushMessage, object>, done: grpc.sendUnaryData<object>): void {
    if (!this.authorized(call, done)) {
      call.resume();
      return;
    }
    const summary = new Summary();
    let index = 0;
    let finished = false;
    summary.onDrain = () => {
      if (call.isPaused()) call.resume();
    };
    call.on('data', (item: PushMessage) => {
      summary.track(index++, item, this);
      if (summary.inFlight >= STREAM_HIGH_WATER) call.pause();
    });
    call.on('end', () => {
      summary.settled().then(
        () => {
          finished = true;
          done(null, summary.result(this.options.metrics, 'grpc_stream'));
        },
        (error: unknown) => {
          finished = true;
          done(this.toStatus(error));
        },
      );
    });
    call.on('error', (error) => {
      if (!finished) this.options.onError?.(error);
    });
  }

  /** Answer INVALID_ARGUMENT for a request the strict deserializer refused; true when it did. */
  private malformed(request: unknown, done: grpc.sendUnaryData<object>, api: string): boolean {
    if (!(request instanceof MalformedMessage)) return false;
    this.options.metrics.pushesTotal.inc({ api, result: 'invalid' });
    done({ code: grpc.status.INVALID_ARGUMENT, details: `MALFORMED_MESSAGE: ${request.reason}` });
    return true;
  }

  /** @internal */
  toPublication(item: PushMessage | MalformedMessage): Publication {
    // In a stream, one malformed message is that item's failure; the others are framed separately and stand.
    if (item instanceof MalformedMessage) throw new ApiError(400, 'MALFORMED_MESSAGE', item.reason);
    return buildPublication(item.uid, item.topic, item.data ?? EMPTY, this.options.limits);
  }

  /** @internal */
  publish(publication: Publication): Promise<void> | undefined {
    return this.options.publish(publication);
  }

  private toStatus(error: unknown): Partial<grpc.StatusObject> {
    if (error instanceof ApiError) {
      const code = error.status === 413 ? grpc.status.RESOURCE_EXHAUSTED : grpc.status.INVALID_ARGUMENT;
      return { code, details: `${error.code}: ${error.message}` };
    }
    if (error instanceof EngineUnavailableError) return { code: grpc.status.UNAVAILABLE, details: error.message };
    this.options.onError?.(error);
    return { code: grpc.status.INTERNAL, details: 'internal error' };
  }
}

/** Per-item outcomes of a stream or batch, published in order and awaited together. */
class Summary {
  accepted = 0;
  failed = 0;
  inFlight = 0;
  readonly failures: Failure[] = [];
  onDrain: (() => void) | null = null;
  private waiter: (() => void) | null = null;
  private fatal: unknown = undefined;

  track(index: number, item: PushMessage | MalformedMessage, api: GrpcPushApi): void {
    let publication: Publication;
    try {
      publication = api.toPublication(item);
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      return this.fail(index, error.code, error.message);
    }
    let accepting: Promise<void> | undefined;
    try {
      accepting = api.publish(publication);
    } catch (error) {
      return this.refused(index, error);
    }
    // Accepted already (the memory engine): no promise, nothing in flight.
    if (accepting === undefined) {
      this.accepted++;
      return;
    }
    this.inFlight++;
    accepting.then(
      () => this.settle(() => this.accepted++),
      (error: unknown) => this.settle(() => this.refused(index, error)),
    );
  }

  private refused(index: number, error: unknown): void {
    if (error instanceof EngineUnavailableError) this.fail(index, 'UNAVAILABLE', error.message);
    else this.fatal ??= error;
  }

  settled(): Promise<void> {
    if (this.inFlight === 0) return this.fatal === undefined ? Promise.resolve() : Promise.reject(this.fatal);
    return new Promise((resolve, reject) => {
      this.waiter = () => (this.fatal === undefined ? resolve() : reject(this.fatal));
    });
  }

  result(metrics: HeraldMetrics, api: string): object {
    if (this.accepted > 0) metrics.pushesTotal.inc({ api, result: 'ok' }, this.accepted);
    if (this.failed > 0) metrics.pushesTotal.inc({ api, result: 'failed' }, this.failed);
    return { accepted: this.accepted, failed: this.failed, failures: this.failures };
  }

  private fail(index: number, code: string, message: string): void {
    this.failed++;
    if (this.failures.length < MAX_REPORTED_FAILURES) this.failures.push({ index, code, message });
  }

  private settle(apply: () => void): void {
    apply();
    this.inFlight--;
    if (this.inFlight < STREAM_HIGH_WATER / 2) this.onDrain?.();
    if (this.inFlight === 0 && this.waiter !== null) this.waiter();
  }
}

interface LoadedProtos {
  gpush: { order: { Proxy: grpc.ServiceClientConstructor } };
  herald: { herald: { v1: { Push: grpc.ServiceClientConstructor } } };
}

const LOADER_OPTIONS: protoLoader.Options = { keepCase: true, longs: Number, enums: String, defaults: true };

/** Load the shipped service definitions (also used by clients and tests). */
export function loadProtos(): LoadedProtos {
  const load = (file: string) =>
    grpc.loadPackageDefinition(protoLoader.loadSync(file, { ...LOADER_OPTIONS, includeDirs: [PROTO_DIR] }));
  return {
    gpush: load('gpush.proto') as unknown as LoadedProtos['gpush'],
    herald: load('herald/v1/push.proto') as unknown as LoadedProtos['herald'],
  };
}

const EMPTY = Buffer.alloc(0);
