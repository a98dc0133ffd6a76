/**
 * The pusher process of the network scenarios: offers pushes through the
 * server's real HTTP push API at a fixed rate for a fixed time, over a few
 * keep-alive connections, and reports what was sent, accepted and refused.
 * With `api: 'grpcStream'` it uses Herald's gRPC `herald.v1.Push/PublishStream`
 * instead (a `@grpc/grpc-js` client built from the shipped .proto files): one
 * message per push on one or a few client streams opened when the run starts
 * and half-closed when it ends; the stream's summary (accepted, failed and
 * which) accounts for every push written to it.
 *
 * Every payload starts with `process.hrtime.bigint()` (CLOCK_MONOTONIC, in
 * ns) in decimal, taken when the request is built, padded with `x` to the
 * payload size; the load clients turn it into an end-to-end latency.
 *
 * Pacing: a 1 ms timer sends whatever the rate says is due since the start,
 * so a late tick catches up instead of lowering the rate. At most
 * `maxOutstanding` requests wait for an answer; pushes due beyond that are
 * not sent (`dropped`), which the coordinator counts as not delivered: the
 * server did not keep up. On gRPC streams the cap is `maxQueued` pushes
 * waiting in the streams' write buffers together (HTTP/2 flow control holding
 * them back because the server does not read fast enough). Each tick's pushes
 * go to the next stream in turn and share one timestamp, as a batch does.
 */
import * as http from 'node:http';
import * as grpc from '@grpc/grpc-js';
import { loadProtos } from '../../src/api/grpc-push-api.js';
import { Histogram } from '../lib/histogram.js';
import { serveRequests, type PushRunArgs, type PushRunResult } from './ipc.js';
import { prng } from './topics.js';

let agent: http.Agent | undefined;
let host = '127.0.0.1';
let port = 0;
let sockets = 4;
/** herald.v1.Push client, when `init` was given a gRPC port. */
let grpcClient: grpc.Client | undefined;
/** Bumped per run: answers to an earlier run's requests are ignored. */
let generation = 0;

function bump(map: Record<string, number>, key: string, by = 1): void {
  map[key] = (map[key] ?? 0) + by;
}

/** `herald.v1.PublishRequest` as the proto-loader client takes it. */
interface PublishRequest {
  uid: string;
  topic: string;
  data: Buffer;
}

/** `herald.v1.PublishSummary` as decoded (loader option `longs: Number`). */
interface PublishSummary {
  accepted: number;
  failed: number;
  failures: { index: number; code: string; message: string }[];
}

type PublishStreamMethod = (
  metadata: grpc.Metadata,
  options: grpc.CallOptions,
  callback: (error: grpc.ServiceError | null, summary?: PublishSummary) => void,
) => grpc.ClientWritableStream<PublishRequest>;

/** One client stream of a `grpcStream` run. */
interface PushStream {
  call: grpc.ClientWritableStream<PublishRequest>;
  /** Messages written, and the deliveries each should cause, by stream position. */
  written: number;
  deliveries: number[];
  /** The summary or the error arrived. */
  answered: boolean;
  /** Half-closed at (hrtime ns). */
  endedAt: bigint;
}

function grpcConnect(grpcPort: number): Promise<void> {
  grpcClient?.close();
  const { Push } = loadProtos().herald.herald.v1;
  grpcClient = new Push(`${host}:${grpcPort}`, grpc.credentials.createInsecure(), {
    // grpc-js keeps up to this many bytes of written messages for retries and
    // completes write() at once while they fit; with the default (256 KiB) a
    // long stream of small messages piles up in that buffer (and grpc-js 1.14
    // slices the array on every completion). Small: write()'s buffer then
    // follows the server's HTTP/2 flow control.
    'grpc.per_rpc_retry_buffer_size': 16 * 1024,
  });
  const client = grpcClient;
  return new Promise((resolve, reject) =>
    client.waitForReady(Date.now() + 10_000, (error) => (error ? reject(error) : resolve())),
  );
}

function run(args: PushRunArgs): Promise<PushRunResult> {
  const gen = ++generation;
  const random = prng(args.seed);
  const cpu0 = process.cpuUsage();
  const apiLatency = new Histogram();
  const result: PushRunResult = {
    scheduled: 0,
    sent: 0,
    ok: 0,
    failed: 0,
    dropped: 0,
    unanswered: 0,
    requests: 0,
    httpErrors: {},
    scheduledDeliveries: 0,
    okDeliveries: 0,
    cpuUs: 0,
    elapsedMs: 0,
    apiLatency: apiLatency.snapshot(),
  };
  const pad = 'x'.repeat(args.payloadBytes);
  const payload = (): string => {
    const stamp = `${process.hrtime.bigint()} `;
    return stamp + pad.slice(0, Math.max(0, args.payloadBytes - stamp.length));
  };
  const target = args.target;
  /** One push's JSON fields (without data) and the deliveries it should cause. */
  const pick = (): [string, number] => {
    if (target.kind === 'topics') {
      const i = Math.floor(random() * target.topics.length);
      return [`"topic":${JSON.stringify(target.topics[i])}`, target.counts[i]];
    }
    const u = Math.floor(random() * target.users);
    const topic = target.topic === '' ? '' : `,"topic":${JSON.stringify(target.topic)}`;
    return [`"uid":"${target.uidPrefix}${u}"${topic}`, 1];
  };
  const drawBatch = (): number =>
    args.batchMin === undefined ? args.batchMax : args.batchMin + Math.floor(random() * (args.batchMax - args.batchMin + 1));

  let outstanding = 0;
  let finishWait: (() => void) | undefined;
  const completed = (): void => {
    outstanding--;
    if (outstanding === 0) finishWait?.();
  };

  const send = (path: string, body: string, deliveries: number[]): void => {
    result.sent += deliveries.length;
    result.requests++;
    outstanding++;
    const t0 = process.hrtime.bigint();
    const req = http.request(
      {
        agent,
        host,
        port,
        method: 'POST',
        path,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          if (gen !== generation) return;
          apiLatency.record(Number(process.hrtime.bigint() - t0) / 1000);
          const status = res.statusCode ?? 0;
          if (status !== 200) {
            bump(result.httpErrors, String(status));
            result.failed += deliveries.length;
          } else if (path === '/v1/pushData') {
            result.ok++;
            result.okDeliveries += deliveries[0];
          } else {
            try {
              const answer = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { results: { ok: boolean }[] };
              answer.results.forEach((r, i) => {
                if (r.ok) {
                  result.ok++;
                  result.okDeliveries += deliveries[i];
                } else {
                  result.failed++;
                  bump(result.httpErrors, 'item-failed');
                }
              });
            } catch {
              bump(result.httpErrors, 'bad-answer');
              result.failed += deliveries.length;
            }
          }
          completed();
        });
      },
    );
    req.on('error', (error: NodeJS.ErrnoException) => {
      if (gen !== generation) return;
      bump(result.httpErrors, error.code ?? 'error');
      result.failed += deliveries.length;
      completed();
    });
    req.end(body);
  };

  const sendPushData = (): void => {
    const [fields, deliveries] = pick();
    result.scheduled++;
    result.scheduledDeliveries += deliveries;
    if (outstanding >= args.maxOutstanding) {
      result.dropped++;
      return;
    }
    const data = Buffer.from(payload()).toString('base64');
    send('/v1/pushData', `{${fields},"data":"${data}"}`, [deliveries]);
  };

  // ---- gRPC PublishStream ----
  const streams: PushStream[] = [];
  const maxQueued = args.maxQueued ?? 4_000;
  let turn = 0;
  let maxQueuedSeen = 0;
  /** One push's routing and the deliveries it should cause. */
  const pickMessage = (): [string, string, number] => {
    if (target.kind === 'topics') {
      const i = Math.floor(random() * target.topics.length);
      return ['', target.topics[i], target.counts[i]];
    }
    const u = Math.floor(random() * target.users);
    return [`${target.uidPrefix}${u}`, target.topic, 1];
  };
  const answerStream = (stream: PushStream, error: grpc.ServiceError | null, summary: PublishSummary | undefined): void => {
    if (gen !== generation || stream.answered) return;
    stream.answered = true;
    apiLatency.record(Number(process.hrtime.bigint() - stream.endedAt) / 1000);
    if (error !== null || summary === undefined) {
      bump(result.httpErrors, `grpc-${error === null ? 'no-summary' : (grpc.status[error.code] ?? error.code)}`);
      result.failed += stream.written;
    } else {
      let failedDeliveries = 0;
      for (const f of summary.failures) {
        failedDeliveries += stream.deliveries[f.index] ?? 0;
        bump(result.httpErrors, `item-${f.code}`);
      }
      // Past the first 1,000 failures the summary only counts them.
      const unlisted = summary.failed - summary.failures.length;
      if (unlisted > 0) {
        bump(result.httpErrors, 'item-unlisted', unlisted);
        failedDeliveries += unlisted;
      }
      // A summary not accounting for every message written: the rest did not count.
      const missing = stream.written - summary.accepted - summary.failed;
      if (missing !== 0) bump(result.httpErrors, 'grpc-count-mismatch', Math.abs(missing));
      const total = stream.deliveries.reduce((a, b) => a + b, 0);
      result.ok += summary.accepted;
      result.failed += stream.written - summary.accepted;
      result.okDeliveries += Math.max(0, total - failedDeliveries - Math.max(0, missing));
    }
    completed();
  };
  const openStreams = (): void => {
    if (grpcClient === undefined) throw new Error('pusher: api grpcStream needs init with a grpcPort');
    const method = (grpcClient as unknown as Record<string, PublishStreamMethod>).PublishStream;
    const deadline = new Date(Date.now() + args.durationMs + args.answerTimeoutMs + 10_000);
    for (let i = 0; i < Math.max(1, args.grpcStreams ?? 1); i++) {
      const stream: PushStream = { call: undefined as never, written: 0, deliveries: [], answered: false, endedAt: 0n };
      stream.call = method.call(grpcClient, new grpc.Metadata(), { deadline }, (error, summary) => answerStream(stream, error, summary));
      stream.call.on('error', () => undefined); // reported through the callback
      streams.push(stream);
      result.requests++;
      outstanding++;
    }
  };
  const sendStream = (count: number): void => {
    const stream = streams[turn++ % streams.length];
    let others = 0;
    for (const s of streams) if (s !== stream) others += s.call.writableLength;
    if (others + stream.call.writableLength > maxQueuedSeen) maxQueuedSeen = others + stream.call.writableLength;
    const data = Buffer.from(payload());
    for (let i = 0; i < count; i++) {
      const [uid, topic, deliveries] = pickMessage();
      result.scheduled++;
      result.scheduledDeliveries += deliveries;
      if (stream.answered) {
        // The server ended the stream early (an error): nothing more goes through it.
        result.failed++;
        bump(result.httpErrors, 'grpc-stream-closed');
        continue;
      }
      if (others + stream.call.writableLength >= maxQueued) {
        result.dropped++;
        continue;
      }
      stream.call.write({ uid, topic, data });
      stream.deliveries.push(deliveries);
      stream.written++;
      result.sent++;
    }
  };
  const endStreams = (): void => {
    for (const stream of streams) {
      stream.endedAt = process.hrtime.bigint();
      if (!stream.answered) stream.call.end();
    }
  };

  const sendBatch = (size: number): void => {
    const items: string[] = new Array(size);
    const deliveries: number[] = new Array(size);
    const data = payload();
    for (let i = 0; i < size; i++) {
      const [fields, d] = pick();
      items[i] = `{${fields},"data":"${data}"}`;
      deliveries[i] = d;
      result.scheduledDeliveries += d;
    }
    result.scheduled += size;
    if (outstanding >= args.maxOutstanding) {
      result.dropped += size;
      return;
    }
    send('/v1/push', `[${items.join(',')}]`, deliveries);
  };

  if (args.api === 'grpcStream') openStreams();
  return new Promise((resolve) => {
    const start = performance.now();
    let due = 0;
    let taken = 0;
    let nextBatch = drawBatch();
    const tick = (): void => {
      const elapsed = performance.now() - start;
      const last = elapsed >= args.durationMs;
      const target = Math.floor((args.rate * Math.min(elapsed, args.durationMs)) / 1000);
      due += target - taken;
      taken = target;
      if (args.api === 'pushData') {
        for (; due > 0; due--) sendPushData();
      } else if (args.api === 'grpcStream') {
        if (due > 0) sendStream(due);
        due = 0;
        if (last) endStreams();
      } else {
        while (due > 0 && (due >= nextBatch || args.batchMin === undefined || last)) {
          const size = Math.min(due, nextBatch);
          sendBatch(size);
          due -= size;
          nextBatch = drawBatch();
        }
      }
      if (!last) {
        setTimeout(tick, 1);
        return;
      }
      const end = (): void => {
        clearTimeout(timer);
        finishWait = undefined;
        result.unanswered = outstanding;
        if (outstanding > 0) {
          // Abandon what is still waiting: a fresh agent for the next run, streams cancelled.
          generation++;
          agent?.destroy();
          agent = new http.Agent({ keepAlive: true, maxSockets: sockets });
          for (const stream of streams) if (!stream.answered) stream.call.cancel();
        }
        if (args.api === 'grpcStream') result.maxQueuedSeen = maxQueuedSeen;
        const cpu = process.cpuUsage(cpu0);
        result.cpuUs = cpu.user + cpu.system;
        result.elapsedMs = Math.round(performance.now() - start);
        result.apiLatency = apiLatency.snapshot();
        resolve(result);
      };
      const timer = setTimeout(end, args.answerTimeoutMs);
      if (outstanding === 0) end();
      else finishWait = end;
    };
    tick();
  });
}

serveRequests({
  /** HTTP push API at host:port; with `grpcPort`, also a gRPC client (connected before answering). */
  init: async (r: { host: string; port: number; sockets: number; grpcPort?: number }) => {
    host = r.host;
    port = r.port;
    sockets = r.sockets;
    agent?.destroy();
    agent = new http.Agent({ keepAlive: true, maxSockets: sockets });
    if (r.grpcPort !== undefined) await grpcConnect(r.grpcPort);
    return { pid: process.pid };
  },
  run: (r: { args: PushRunArgs }) => run(r.args),
  exit: () => {
    agent?.destroy();
    grpcClient?.close();
    setImmediate(() => process.exit(0));
    return null;
  },
});
