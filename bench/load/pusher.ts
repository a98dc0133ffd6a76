/**
 * The pusher process of the network scenarios: offers pushes through the
 * server's real HTTP push API at a fixed rate for a fixed time, over a few
 * keep-alive connections, and reports what was sent, accepted and refused.
 *
 * Every payload starts with `process.hrtime.bigint()` (CLOCK_MONOTONIC, in
 * ns) in decimal, taken when the request is built, padded with `x` to the
 * payload size; the load clients turn it into an end-to-end latency.
 *
 * Pacing: a 1 ms timer sends whatever the rate says is due since the start,
 * so a late tick catches up instead of lowering the rate. At most
 * `maxOutstanding` requests wait for an answer; pushes due beyond that are
 * not sent (`dropped`), which the coordinator counts as not delivered: the
 * server did not keep up.
 */
import * as http from 'node:http';
import { Histogram } from '../lib/histogram.js';
import { serveRequests, type PushRunArgs, type PushRunResult } from './ipc.js';
import { prng } from './topics.js';

let agent: http.Agent | undefined;
let host = '127.0.0.1';
let port = 0;
let sockets = 4;
/** Bumped per run: answers to an earlier run's requests are ignored. */
let generation = 0;

function bump(map: Record<string, number>, key: string): void {
  map[key] = (map[key] ?? 0) + 1;
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
    return [`"uid":"${target.uidPrefix}${u}","topic":${JSON.stringify(target.topic)}`, 1];
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
          // Abandon what is still waiting: a fresh agent for the next run.
          generation++;
          agent?.destroy();
          agent = new http.Agent({ keepAlive: true, maxSockets: sockets });
        }
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
  init: (r: { host: string; port: number; sockets: number }) => {
    host = r.host;
    port = r.port;
    sockets = r.sockets;
    agent?.destroy();
    agent = new http.Agent({ keepAlive: true, maxSockets: sockets });
    return { pid: process.pid };
  },
  run: (r: { args: PushRunArgs }) => run(r.args),
  exit: () => {
    agent?.destroy();
    setImmediate(() => process.exit(0));
    return null;
  },
});
