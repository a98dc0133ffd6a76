/**
 * S5 — unicast: 10,000 connections, each logged in as its own user (u0 …
 * u9999); the pusher sends pushes, each `{uid, data}` to a random user, at
 * stepped rates of pushes per second, four ways in the same run:
 * - Herald over HTTP batch: batches of 100 items (`POST /v1/push`);
 * - Herald over gRPC: `herald.v1.Push/PublishStream` client streams (a few,
 *   opened per step), one message per push, written as they fall due (1 ms
 *   ticks) and half-closed at the end of the step; a push counts as accepted
 *   when its stream's summary does not count it among the failed;
 * - the uWebSockets.js peer over HTTP batch (a JS handler parsing the batch
 *   and calling `ws.send` per item, bench/servers/uws-peer.ts);
 * - the `ws` baseline over HTTP batch, as Herald.
 * Herald checks HS256 JWTs (`--jwt-secret`, tokens minted by the load clients
 * with jose); the baseline takes the credential as the uid.
 */
import { randomBytes } from 'node:crypto';
import type { PushRunArgs } from '../load/ipc.js';
import type { Result, RunContext, Scenario } from '../lib/types.js';
import { BASELINE_LABEL, UWS_LABEL, comparison, ms, pct, rate, runParams, stepsTable, withSession } from './common.js';
import { LoadFleet } from './fleet.js';
import type { SteppedRun } from './s2-fanout.js';
import { freePort, type ServerSpec } from './servers.js';
import { ratio, ratiosTable } from './targets.js';
import { P99_BOUND_MS, bestSustained, bestWithin, firstFailed, runSteps, type StepOutcome, type StepPlan } from './steps.js';

const PUSH_STEPS = [10e3, 20e3, 30e3, 40e3, 50e3, 75e3, 100e3, 150e3, 200e3, 300e3, 400e3, 600e3, 800e3];
const QUICK_PUSH_STEPS = [10e3];

/**
 * `BENCH_S5_STEPS` (comma-separated offered pushes/s, e.g. `20e3,40e3`) replaces the plan and
 * `BENCH_S5_STEP_MS` the step length, for short runs and profiles.
 */
function pushSteps(quick: boolean): number[] {
  const env = process.env.BENCH_S5_STEPS;
  if (env === undefined || env.trim() === '') return quick ? QUICK_PUSH_STEPS : PUSH_STEPS;
  const steps = env.split(',').map((s) => Number(s.trim()));
  if (steps.some((s) => !Number.isFinite(s) || s <= 0)) throw new Error(`BENCH_S5_STEPS: not a list of positive numbers: ${env}`);
  return steps.sort((a, b) => a - b);
}

const HTTP_LABEL = 'Herald HTTP batch';
const GRPC_LABEL = 'Herald gRPC stream';
/**
 * Client streams per step on the gRPC contestant (one HTTP/2 connection),
 * each tick's pushes on the next one in turn. One stream alone tops out near
 * 60 k pushes/s even against a server with nothing to deliver (grpc-js
 * completes one write at a time per stream once its 16 KiB retry buffer is
 * full, and the server grants 64 KiB of HTTP/2 window per stream); in S5,
 * where the server is busy delivering, near 30 k/s.
 */
const GRPC_STREAMS = 4;
/**
 * Pushes the gRPC streams may hold in their write buffers (together) before
 * further pushes are dropped: what 16 batch requests of 300 items (the mean
 * of 100–500, the batch size of earlier runs) keep in flight.
 */
const GRPC_MAX_QUEUED = 4_800;
/**
 * What the pusher's batch runs ask of it (HTTP contestants): batches of 100
 * (issue 15), at most 48 requests waiting, i.e. the same 4,800 pushes in
 * flight as the gRPC streams may hold (and as 16 batches of 100–500 did).
 */
const BATCH: Pick<PushRunArgs, 'api' | 'batchMin' | 'batchMax' | 'maxOutstanding'> = {
  api: 'batch',
  batchMin: 100,
  batchMax: 100,
  maxOutstanding: 48,
};

interface Contestant {
  spec: ServerSpec;
  /** Over which API the pusher offers the pushes. */
  api: 'batch' | 'grpcStream';
  /** Herald's gRPC port, for the gRPC contestant. */
  grpcPort?: number;
}

/** Server CPU per push delivered at a step, in µs: its user-space or its kernel part. */
function perPushUs(step: StepOutcome | undefined, part: 'user' | 'kernel'): number | undefined {
  if (step === undefined || step.receivedPerSec <= 0) return undefined;
  const cores = part === 'kernel' ? step.serverSysCpu : step.serverCpu - step.serverSysCpu;
  return (cores * 1e6) / step.receivedPerSec;
}

function us(v: number): string {
  return v.toFixed(1);
}

export const unicastScenario: Scenario = {
  name: 's5-unicast',
  description: 'S5 unicast: 10,000 logged-in users; {uid, data} pushes via POST /v1/push batches of 100 and via gRPC PublishStream',
  async run(ctx: RunContext): Promise<Result> {
    const users = ctx.quick ? 1_000 : 10_000;
    const stepMs = Number(process.env.BENCH_S5_STEP_MS ?? '') || (ctx.quick ? 1_000 : 5_000);
    const drainMs = ctx.quick ? 300 : 2_000;
    const warmupMs = ctx.quick ? 300 : 2_000;
    const processes = LoadFleet.processesFor(users);
    const secret = randomBytes(32).toString('hex');
    const plan: StepPlan[] = pushSteps(ctx.quick).map((r) => ({ rate: r, nominalDeliveries: r }));
    const runs: SteppedRun[] = [];
    const errors: string[] = [];
    // History on, explicitly (each user's `u:<uid>` stream keeps 100 pushes for resume), whatever the default becomes.
    const jwtArgs = ['--jwt-secret', secret, '--jwt-algorithms', 'HS256', '--history-size', '100'];
    const grpcPort = await freePort();
    const all: Contestant[] = [
      { spec: { kind: 'herald', label: HTTP_LABEL, heraldArgs: jwtArgs }, api: 'batch' },
      // Herald's --grpc-port given last wins over the harness's `--grpc-port 0`.
      { spec: { kind: 'herald', label: GRPC_LABEL, heraldArgs: [...jwtArgs, '--grpc-port', String(grpcPort)] }, api: 'grpcStream', grpcPort },
      { spec: { kind: 'uws', label: UWS_LABEL }, api: 'batch' },
      { spec: { kind: 'ws', label: BASELINE_LABEL }, api: 'batch' },
    ];
    // BENCH_ONLY (comma-separated labels) keeps only those, as contestants() does, for experiments.
    const only = process.env.BENCH_ONLY?.split(',').map((l) => l.trim());
    const list = only === undefined ? all : all.filter((c) => only.includes(c.spec.label));
    for (const { spec, api, grpcPort: port } of list) {
      ctx.log(`  ${spec.label}: ${users} users, one connection each`);
      const run = await withSession(spec, { processes, pusher: true }, async ({ server, fleet, pusher }) => {
        if (port !== undefined) {
          // Point the pusher's gRPC client at Herald too (it connects before answering).
          await pusher!.request('init', { host: '127.0.0.1', port: server.apiPort, sockets: 4, grpcPort: port }, 15_000);
        }
        const connect = await fleet.connect(server, users, 256);
        if (connect.ok < users) throw new Error(`${spec.label}: only ${connect.ok}/${users} connected ${JSON.stringify(connect.errors)}`);
        const sub = await fleet.subscribe({
          kind: 'private',
          // Log in only: the pushes are `{uid, data}`, to every connection of the user.
          topic: '',
          credential: spec.kind === 'herald' ? 'jwt' : 'uid',
          secret,
          uidPrefix: 'u',
        });
        if (sub.received < sub.expected) throw new Error(`${spec.label}: only ${sub.received}/${sub.expected} login/subscribe replies ${JSON.stringify(sub.replyErrors)}`);
        ctx.log(`  ${spec.label}: ${users} logins in ${sub.elapsedMs} ms`);
        return runSteps(
          {
            server,
            fleet,
            pusher: pusher!,
            plan,
            stepMs,
            drainMs,
            connections: users,
            thorough: !ctx.quick,
            push: {
              ...BATCH,
              ...(api === 'grpcStream' ? { api, grpcStreams: GRPC_STREAMS, maxQueued: GRPC_MAX_QUEUED } : {}),
              payloadBytes: 100,
              target: { kind: 'users', users, uidPrefix: 'u', topic: '' },
              answerTimeoutMs: 5_000,
            },
            log: ctx.log,
          },
          warmupMs,
        );
      });
      const best = bestSustained(run.steps);
      runs.push({ label: spec.label, ...run, best });
      if (best === undefined) errors.push(`${spec.label}: not even the first step was sustained`);
    }
    const labels = runs.map((r) => r.label);
    const table = comparison(
      labels,
      [
        { name: 'highest sustained step: offered pushes/s', values: runs.map((r) => r.best?.offeredPerSec ?? 0), format: rate },
        { name: 'pushes/s accepted there', values: runs.map((r) => r.best?.acceptedPerSec ?? 0), format: rate },
        { name: 'pushes/s delivered there', values: runs.map((r) => r.best?.receivedPerSec ?? 0), format: rate },
        { name: 'p50 latency at that step (ms)', values: runs.map((r) => r.best?.p50Ms), format: ms },
        { name: 'p99 latency at that step (ms)', values: runs.map((r) => r.best?.p99Ms), format: ms },
        { name: 'server CPU at that step (% of a core)', values: runs.map((r) => r.best?.serverCpu), format: pct },
        // Where a push's server CPU goes: on loopback the kernel's part (one socket write per push) is the
        // same work for every server; the user-space part is what the servers themselves do per push.
        { name: '… per push delivered: user space (µs)', values: runs.map((r) => perPushUs(r.best, 'user')), format: us },
        { name: '… per push delivered: kernel (µs)', values: runs.map((r) => perPushUs(r.best, 'kernel')), format: us },
        { name: 'load clients CPU at that step', values: runs.map((r) => r.best?.clientCpu), format: pct },
        { name: 'pusher CPU at that step', values: runs.map((r) => r.best?.pusherCpu), format: pct },
        { name: `highest sustained step with p99 ≤ ${P99_BOUND_MS / 1000} s: pushes/s`, values: runs.map((r) => bestWithin(r.steps)?.offeredPerSec ?? 0), format: rate },
        { name: '… p99 latency there (ms)', values: runs.map((r) => bestWithin(r.steps)?.p99Ms), format: ms },
        { name: 'lowest step not sustained: offered/s', values: runs.map((r) => firstFailed(r.steps)?.offeredPerSec), format: rate },
        { name: '… delivered/s there', values: runs.map((r) => firstFailed(r.steps)?.receivedPerSec), format: rate },
      ],
      [
        { label: 'gRPC/HTTP batch', of: GRPC_LABEL, to: HTTP_LABEL },
        { label: 'Herald HTTP/uWS.js', of: HTTP_LABEL, to: UWS_LABEL },
        { label: 'Herald gRPC/uWS.js', of: GRPC_LABEL, to: UWS_LABEL },
      ],
    );
    // Issue 15: delivered pushes/s at the highest sustained step, Herald over the peers.
    const delivered = (label: string) => runs.find((r) => r.label === label)?.best?.receivedPerSec;
    const targets = [
      ratio('unicast pushes/s Herald HTTP batch/uWS.js', delivered(HTTP_LABEL), delivered(UWS_LABEL), { op: '≥', bound: 1 }),
      ratio('unicast pushes/s Herald HTTP batch/ws', delivered(HTTP_LABEL), delivered(BASELINE_LABEL), { op: '≥', bound: 3 }),
      ratio('unicast pushes/s Herald gRPC stream/100 k', delivered(GRPC_LABEL), runs.some((r) => r.label === GRPC_LABEL) ? 100e3 : undefined, { op: '≥', bound: 1 }),
    ];
    return {
      ...table,
      tables: [stepsTable('Steps (one delivery per push; CPU in % of one core):', runs, 'pushes'), ratiosTable('Issue 15 targets:', targets)],
      targets,
      params: {
        users,
        processes,
        stepMs,
        drainMs,
        warmupMs,
        payloadBytes: 100,
        batch: `${BATCH.batchMin} items of {uid, data}, POST /v1/push, at most ${BATCH.maxOutstanding} requests waiting`,
        grpc: `herald.v1.Push/PublishStream, ${GRPC_STREAMS} streams per step on one connection, one message per push, at most ${GRPC_MAX_QUEUED} pushes waiting in their write buffers`,
        apis: Object.fromEntries(list.map((c) => [c.spec.label, c.api])),
        plan,
        ...runParams(),
      },
      details: runs,
      notes: [
        'sustained: ≥ 95 % of the offered pushes delivered within the step + drain, none refused or left unsent, no connection lost.',
        `${GRPC_LABEL}: ${GRPC_STREAMS} PublishStream calls per step, half-closed at its end; a push is accepted when its stream's summary does not count it as failed. ` +
          'Its latency is measured like the others (stamp when written → read by the load client); its API round trip is half-close → summary.',
      ],
      errors,
    };
  },
};
