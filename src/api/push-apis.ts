import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import * as grpc from '@grpc/grpc-js';
import type { ControlPlane } from '../control/control-plane.js';
import type { Engine } from '../engine/engine.js';
import { listening } from '../listen-error.js';
import type { TlsCertificates } from '../tls/tls-certificates.js';
import { GrpcPushApi } from './grpc-push-api.js';
import { GrpcServerApi } from './grpc-server-api.js';
import { HttpPushApi, readJson } from './http-push-api.js';
import type { PageRoutes } from './http-errors.js';
import type { HeraldMetrics } from './metrics.js';
import { PushAuthenticator, PushRateLimiter } from './push-auth.js';
import { publisherOf } from './push-publisher.js';
import type { PushLimits } from './push-request.js';
import { ServerApi } from './server-api.js';
import { ServerOperations } from './server-operations.js';

/** Options of {@link PushApis}. */
export interface PushApisOptions {
  engine: Engine;
  /**
   * The cluster's control plane, for the server API (disconnect, presence,
   * channels, history, info…). `herald serve` always gives one (under
   * `--workers` too); an embedder that leaves it out gets 501 /
   * UNIMPLEMENTED from those routes and RPCs.
   */
  control?: ControlPlane;
  /** The nodes keep presence (`--presence`). */
  presence?: boolean;
  /** False for a topic whose namespace forbids presence (409); default: every topic allowed. */
  presenceAllowed?(topic: string): boolean;
  metrics: HeraldMetrics;
  logger: Logger;
  limits: PushLimits;
  /**
   * The node's settings of the same names (their defaults are the option
   * table's; HeraldNode and the cluster primary always pass them).
   */
  maxBatchItems: number;
  /** Time an HTTP push request has for its headers, and then for its body (408 beyond). */
  pushRequestTimeoutMs: number;
  /** Most connections the gRPC listener holds at once (`--grpc-max-connections`). */
  grpcMaxConnections: number;
  /** Bearer tokens; none → open. */
  pushTokens?: readonly string[];
  /** Push requests (HTTP requests, gRPC calls) per second per token; unset → unlimited. */
  pushRequestsPerSecond?: number;
  apiHost: string;
  apiPort: number;
  grpcHost: string;
  /** Unset: no gRPC listener. */
  grpcPort?: number;
  /** Serve HTTPS and gRPC over TLS with these certificates (reloaded with them). */
  tls?: TlsCertificates;
  /** Readiness of everything behind the APIs, for `/readyz`. */
  isReady(): boolean;
  /** Pages served beside the HTTP API (the web console). */
  pages?: PageRoutes;
}

/** Where the push APIs listen. */
export interface PushApiAddresses {
  api: AddressInfo;
  grpcPort: number | undefined;
}

/** The HTTP and gRPC push APIs over one engine, with one authenticator: what a node or a cluster primary serves. */
export class PushApis {
  readonly http: HttpPushApi;
  readonly grpc: GrpcPushApi | undefined;
  private readonly options: PushApisOptions;

  constructor(options: PushApisOptions) {
    this.options = options;
    const { engine, metrics, logger, limits, maxBatchItems } = options;
    const auth = new PushAuthenticator(options.pushTokens ?? []);
    const rateLimiter = options.pushRequestsPerSecond === undefined ? undefined : new PushRateLimiter(options.pushRequestsPerSecond);
    const publish = publisherOf(engine);
    const operations =
      options.control === undefined ? undefined : new ServerOperations(options.control, engine, limits, options.presence === true, options.presenceAllowed?.bind(options));
    const requestTimeoutMs = options.pushRequestTimeoutMs;
    const serverApi = new ServerApi({ operations, auth, rateLimiter, readJson: (req, limit) => readJson(req, limit, requestTimeoutMs) });
    this.http = new HttpPushApi({
      publish,
      limits,
      maxBatchItems,
      requestTimeoutMs,
      metrics,
      auth,
      rateLimiter,
      tls: options.tls?.current,
      isReady: options.isReady,
      pages: options.pages,
      onError: (error) => logger.error({ err: error }, 'push API request failed'),
      serverApi,
    });
    this.grpc =
      options.grpcPort === undefined
        ? undefined
        : new GrpcPushApi({
            publish,
            limits,
            maxBatchItems,
            metrics,
            auth,
            rateLimiter,
            prefaceTimeoutMs: requestTimeoutMs,
            maxConnections: options.grpcMaxConnections,
            onError: (error) => logger.error({ err: error }, 'gRPC push call failed'),
          });
    if (this.grpc !== undefined) {
      new GrpcServerApi({ operations, auth, rateLimiter, onError: (error) => logger.error({ err: error }, 'gRPC server API call failed') }).register(
        this.grpc.server,
      );
    }
  }

  async listen(): Promise<PushApiAddresses> {
    const { apiHost, apiPort, grpcHost, grpcPort } = this.options;
    const api = await listening('api', apiHost, apiPort, () => this.http.listen(apiPort, apiHost));
    const tls = this.options.tls;
    const credentials =
      tls === undefined
        ? grpc.ServerCredentials.createInsecure()
        : grpc.experimental.createCertificateProviderServerCredentials(tls.grpcProvider(), null, false);
    tls?.onReload((pair) => this.http.setSecureContext(pair));
    const grpcApi = this.grpc;
    const boundGrpcPort =
      grpcApi === undefined
        ? undefined
        : await listening('grpc', grpcHost, grpcPort as number, () => grpcApi.listen(grpcPort as number, grpcHost, credentials));
    return { api, grpcPort: boundGrpcPort };
  }

  /** Stop both, giving calls in progress up to `timeoutMs`. */
  async close(timeoutMs = 500): Promise<void> {
    await Promise.all([this.http.close(timeoutMs), this.grpc?.close(timeoutMs)]);
  }
}
