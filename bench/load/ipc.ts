/**
 * The messages between a scenario (the coordinator) and its child processes
 * (load clients, pushers), and the child side of the request/answer loop.
 * Requests are `{ id, cmd, ...args }`; answers `{ id, ok, result | error }`.
 */
import type { HistogramSnapshot } from '../lib/histogram.js';

export interface Request {
  id: number;
  cmd: string;
  [key: string]: unknown;
}

export type Answer = { id: number; ok: true; result: unknown } | { id: number; ok: false; error: string };

/** Run `handlers[cmd]` for each request from the parent; exit when the parent goes away. */
export function serveRequests(handlers: Record<string, (request: any) => unknown>): void {
  process.on('message', (message: Request) => {
    const handler = handlers[message.cmd];
    const answer = (a: Answer) => {
      if (process.connected) process.send?.(a);
    };
    if (handler === undefined) {
      answer({ id: message.id, ok: false, error: `unknown command ${message.cmd}` });
      return;
    }
    Promise.resolve()
      .then(() => handler(message))
      .then(
        (result) => answer({ id: message.id, ok: true, result: result ?? null }),
        (error: unknown) => answer({ id: message.id, ok: false, error: error instanceof Error ? (error.stack ?? error.message) : String(error) }),
      );
  });
  // The coordinator died or closed the channel: never linger with open sockets.
  process.on('disconnect', () => process.exit(0));
}

// ---------------------------------------------------------------------------
// Load client (bench/load/load-client.ts)

export interface ConnectArgs {
  host: string;
  port: number;
  path: string;
  count: number;
  /** Connections in progress at once (TCP connect to greeting). */
  inFlight: number;
  /** Source addresses to spread the connections over (127.0.0.x). */
  addresses: string[];
  /** Global index of this batch's first connection (uids, topic assignment). */
  firstIndex: number;
  timeoutMs: number;
  /**
   * Give up on one connection that has no greeting this long after its TCP
   * connect started (reason `tcp-connect-timeout` before the connect
   * completed, `handshake-timeout` after): a connection the server never
   * accepts (its listen queue, its descriptor limit) fails and is counted
   * instead of holding the batch until `timeoutMs`. Unset: only `timeoutMs`.
   */
  perConnectionTimeoutMs?: number;
}

export interface ConnectResult {
  ok: number;
  failed: number;
  errors: Record<string, number>;
  /** process.hrtime.bigint() (CLOCK_MONOTONIC, comparable across processes) of the first connect and the last greeting. */
  startNs: string;
  endNs: string;
  /** TCP connect start to greeting received, per connection. */
  latency: HistogramSnapshot;
}

export type SubscribeSpec =
  | { kind: 'topic'; topic: string }
  | { kind: 'multi'; perConnection: number; topics: number; seed: number; prefix: string }
  /** Log in as `${uidPrefix}${index}`, then subscribe privately to `topic` (`''`: log in only). */
  | { kind: 'private'; topic: string; credential: 'uid' | 'jwt'; secret?: string; uidPrefix: string };

export interface SubscribeResult {
  connections: number;
  /** Replies 20001 / 20003 expected and received. */
  expected: number;
  received: number;
  replyErrors: Record<string, number>;
  elapsedMs: number;
}

export interface LoadStats {
  /** Pushes received since the last reset, and their payload bytes. */
  received: number;
  bytes: number;
  latency: HistogramSnapshot;
  /** process.cpuUsage() of the load process so far (user + system), µs. */
  cpuUs: number;
  open: number;
  /** Connections that ended without us closing them, by close code or 'eof' / 'error'. */
  closes: Record<string, number>;
  protocolErrors: number;
  rssBytes: number;
}

// ---------------------------------------------------------------------------
// Pusher (bench/load/pusher.ts)

export type PushTarget =
  /** A random topic per push; `counts[i]` subscribers receive a push to `topics[i]`. */
  | { kind: 'topics'; topics: string[]; counts: number[] }
  /** A random user `${uidPrefix}${0…users-1}` per push, on private topic `topic` (`''`: to the user, `{uid, data}`); one connection each. */
  | { kind: 'users'; users: number; uidPrefix: string; topic: string };

export interface PushRunArgs {
  /**
   * `pushData`: one push per `POST /v1/pushData`; `batch`: `POST /v1/push`
   * arrays; `grpcStream`: gRPC `herald.v1.Push/PublishStream`, one message
   * per push on `grpcStreams` client streams opened at the start of the run
   * and half-closed at its end (the pusher must have been initialised with a
   * `grpcPort`).
   */
  api: 'pushData' | 'batch' | 'grpcStream';
  /** Pushes (items) per second offered. */
  rate: number;
  durationMs: number;
  payloadBytes: number;
  target: PushTarget;
  /** Batch sizes (batch API): drawn uniformly in [batchMin, batchMax]; without them, one batch per tick of what is due (≤ batchMax). */
  batchMin?: number;
  batchMax: number;
  /** Requests in flight at most; pushes due while the cap is reached are not sent (counted as dropped). */
  maxOutstanding: number;
  seed: number;
  /** Give up waiting for answers this long after the last send. */
  answerTimeoutMs: number;
  /** `grpcStream`: client streams the pushes are spread over (one per tick, in turn); default 1. */
  grpcStreams?: number;
  /**
   * `grpcStream`: pushes written to the streams but not yet taken by the
   * transport (the grpc-js write buffers, i.e. HTTP/2 flow control is holding
   * them back), all streams together, at most; pushes due while they hold this
   * many are not sent (counted as dropped). The streams' counterpart of
   * `maxOutstanding`. Default 4,000.
   */
  maxQueued?: number;
}

export interface PushRunResult {
  /** Pushes due at the offered rate during the step. */
  scheduled: number;
  sent: number;
  /** Accepted by the server (2xx; per item for batches). */
  ok: number;
  failed: number;
  /** Not sent: `maxOutstanding` requests were already waiting. */
  dropped: number;
  /** Requests (gRPC: streams) unanswered when the wait ended. */
  unanswered: number;
  /** HTTP requests sent (gRPC: streams opened). */
  requests: number;
  httpErrors: Record<string, number>;
  /** Deliveries the scheduled / accepted pushes should cause (subscriber counts). */
  scheduledDeliveries: number;
  okDeliveries: number;
  cpuUs: number;
  elapsedMs: number;
  /** HTTP request round trip (gRPC stream: half-close to the summary). */
  apiLatency: HistogramSnapshot;
  /** `grpcStream`: most pushes waiting in the streams' write buffers (together) at a tick. */
  maxQueuedSeen?: number;
}
