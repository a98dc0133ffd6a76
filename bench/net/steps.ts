/**
 * The stepped-rate measurement of S2, S4 and S5: for each step the pusher
 * offers pushes at a fixed rate for `stepMs`, the load clients count what
 * arrives during the step and a drain of at most `drainMs` after it, and the
 * server's CPU (from /proc) is sampled over the push window. The run stops at
 * the first step that is not sustained.
 *
 * A step is *sustained* when at least 95 % of the deliveries the offered
 * pushes should cause arrived within the step plus the drain, no push was
 * refused, and no connection was lost.
 */
import { sleep } from '../lib/children.js';
import { Histogram } from '../lib/histogram.js';
import { cpuSplit, machineCpu, machineDelta } from '../lib/proc.js';
import type { PushRunArgs, PushRunResult } from '../load/ipc.js';
import type { LoadFleet } from './fleet.js';
import type { RunningServer } from './servers.js';
import type { Worker } from './worker.js';

export const SUSTAINED_FRACTION = 0.95;
/** A failed step is measured again once when processes outside the bench used more than this many cores. */
export const DISTURBED_CORES = 0.2;

export interface StepPlan {
  /** Pushes (items) per second offered. */
  rate: number;
  /** Nominal deliveries per second this rate offers (the step's name). */
  nominalDeliveries: number;
}

export interface StepOutcome {
  nominalDeliveries: number;
  /** Pushes per second offered, sent and accepted. */
  pushRate: number;
  sentPerSec: number;
  acceptedPerSec: number;
  /** Deliveries per second the scheduled pushes should cause (actual picks). */
  offeredPerSec: number;
  receivedPerSec: number;
  /** Received over offered deliveries, step + drain. */
  delivered: number;
  received: number;
  scheduledDeliveries: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  /** CPU over the push window, in cores (1 = one core busy). */
  serverCpu: number;
  /** The part of serverCpu spent in the kernel (system calls), cores. */
  serverSysCpu: number;
  clientCpu: number;
  pusherCpu: number;
  /** Share of the whole machine busy (0–1) over the push window. */
  machineBusy: number;
  /** Kernel softirq time (loopback receive processing, charged to no process), cores. */
  softirqCpu: number;
  /**
   * Busy cores not explained by the server, load clients, pusher, softirq and
   * the coordinator itself: other processes on the machine. Large values mean the step was disturbed.
   */
  otherCpu: number;
  drainMs: number;
  push: Omit<PushRunResult, 'apiLatency'> & { apiP99Ms: number };
  closes: Record<string, number>;
  open: number;
  sustained: boolean;
  /** Why it is not sustained. */
  reason?: string;
  /** A step halfway between the last sustained and the first failed step, run after them. */
  refinement?: boolean;
  /** The first attempt, when the step was measured again because other processes disturbed it. */
  retriedAfter?: StepOutcome;
}

export interface StepRun {
  server: RunningServer;
  fleet: LoadFleet;
  pusher: Worker;
  plan: StepPlan[];
  stepMs: number;
  drainMs: number;
  /** Everything of the pusher's run but the rate, duration and seed. */
  push: Omit<PushRunArgs, 'rate' | 'durationMs' | 'seed'>;
  /** Connections expected open throughout. */
  connections: number;
  /** Run the halfway step after the first failure, and measure a disturbed failed step again (off in quick runs). */
  thorough: boolean;
  /**
   * Nominal rates (`StepPlan.nominalDeliveries`) measured even after the
   * first failure, when the connections are still open (S2's 4 M and 8 M:
   * the issue compares every contestant there).
   */
  alwaysRun?: number[];
  log(line: string): void;
}

async function one(run: StepRun, step: StepPlan, seed: number, stepMs: number, drainMs: number): Promise<StepOutcome> {
  const { server, fleet, pusher } = run;
  const before = await fleet.reset();
  const server0 = cpuSplit(server.pid);
  const machine0 = machineCpu();
  const self0 = process.cpuUsage();
  const t0 = performance.now();
  let window: Promise<{ server: { user: number; system: number }; machine: ReturnType<typeof machineCpu>; clientUs: number; selfUs: number; t: number }> | undefined;
  const sampled = new Promise<void>((resolve) =>
    setTimeout(() => {
      const self = process.cpuUsage(self0);
      const sample = { server: cpuSplit(server.pid), machine: machineCpu(), t: performance.now(), selfUs: self.user + self.system };
      window = fleet.stats().then((s) => ({ ...sample, clientUs: s.cpuUs }));
      resolve();
    }, stepMs),
  );
  const args: PushRunArgs = { ...run.push, rate: step.rate, durationMs: stepMs, seed };
  const push = await pusher.request<PushRunResult>('run', { args }, stepMs + run.push.answerTimeoutMs + 15_000);
  await sampled;
  const w = await (window as NonNullable<typeof window>);
  // Drain: wait for what the accepted pushes should deliver, at most drainMs after the pusher finished.
  const pushedAt = performance.now();
  let stats = await fleet.stats();
  while (stats.received < push.okDeliveries && performance.now() - pushedAt < drainMs) {
    await sleep(50);
    stats = await fleet.stats();
  }
  const drained = performance.now() - pushedAt;
  const seconds = stepMs / 1000;
  const windowS = (w.t - t0) / 1000;
  const delivered = push.scheduledDeliveries > 0 ? stats.received / push.scheduledDeliveries : 0;
  const lost = Object.values(stats.closes).reduce((a, b) => a + b, 0);
  const reasons: string[] = [];
  if (delivered < SUSTAINED_FRACTION) reasons.push(`delivered ${(delivered * 100).toFixed(1)} %`);
  if (push.dropped > 0) {
    const full =
      run.push.api === 'grpcStream' ? `${run.push.maxQueued} pushes waiting in the streams' write buffers` : `${run.push.maxOutstanding} requests waiting`;
    reasons.push(`${push.dropped} pushes not sent (${full})`);
  }
  if (push.failed > 0) reasons.push(`${push.failed} pushes refused ${JSON.stringify(push.httpErrors)}`);
  if (push.unanswered > 0) reasons.push(`${push.unanswered} requests unanswered`);
  if (lost > 0 || stats.open < run.connections) reasons.push(`connections lost ${JSON.stringify(stats.closes)} (open ${stats.open})`);
  if (!server.alive()) reasons.push('server died');
  const { apiLatency, ...pushRest } = push;
  const machine = machineDelta(machine0, w.machine, windowS);
  const serverSysCpu = (w.server.system - server0.system) / windowS;
  const serverCpu = (w.server.user - server0.user) / windowS + serverSysCpu;
  const clientCpu = (w.clientUs - before.cpuUs) / 1e6 / windowS;
  const pusherCpu = push.cpuUs / 1e6 / (push.elapsedMs / 1000);
  const apiP99 = apiLatency.count > 0 ? quantileOf(apiLatency, 0.99) : NaN;
  return {
    nominalDeliveries: step.nominalDeliveries,
    pushRate: step.rate,
    sentPerSec: push.sent / seconds,
    acceptedPerSec: push.ok / seconds,
    offeredPerSec: push.scheduledDeliveries / seconds,
    receivedPerSec: stats.received / seconds,
    delivered,
    received: stats.received,
    scheduledDeliveries: push.scheduledDeliveries,
    p50Ms: stats.latency.quantileUs(0.5) / 1000,
    p99Ms: stats.latency.quantileUs(0.99) / 1000,
    maxMs: stats.latency.count > 0 ? stats.latency.maxUs / 1000 : NaN,
    serverCpu,
    serverSysCpu,
    clientCpu,
    pusherCpu,
    machineBusy: machine.busyShare,
    softirqCpu: machine.softirqCores,
    otherCpu: Math.max(0, machine.busyCores - machine.softirqCores - serverCpu - clientCpu - pusherCpu - w.selfUs / 1e6 / windowS),
    drainMs: Math.round(drained),
    push: { ...pushRest, apiP99Ms: apiP99 / 1000 },
    closes: stats.closes,
    open: stats.open,
    sustained: reasons.length === 0,
    reason: reasons.length > 0 ? reasons.join('; ') : undefined,
  };
}

function quantileOf(snapshot: PushRunResult['apiLatency'], q: number): number {
  return Histogram.from([snapshot]).quantileUs(q);
}

/**
 * A short warm-up at the first step's rate (JIT, connection pools), checked
 * to deliver at all, then every step of the plan until one is not sustained,
 * then one step halfway between that one and the last sustained one.
 */
export async function runSteps(run: StepRun, warmupMs: number): Promise<{ warmup: StepOutcome; steps: StepOutcome[] }> {
  const warmup = await one(run, run.plan[0], 999, warmupMs, Math.max(run.drainMs, 500));
  if (warmup.received === 0) {
    throw new Error(`${run.server.spec.label}: warm-up delivered nothing (${JSON.stringify(warmup.push)})\n${run.server.output()}`);
  }
  run.log(
    `  warm-up: ${Math.round(warmup.receivedPerSec)} deliveries/s, ${(warmup.delivered * 100).toFixed(1)} % delivered`,
  );
  const steps: StepOutcome[] = [];
  /** One step; measured again, once, when it failed while other processes took CPU. */
  const measure = async (step: StepPlan, seed: number): Promise<StepOutcome> => {
    const outcome = await one(run, step, seed, run.stepMs, run.drainMs);
    if (!run.thorough || outcome.sustained || outcome.otherCpu <= DISTURBED_CORES || outcome.open < run.connections) return outcome;
    run.log(`  (step at ${fmtRate(outcome.offeredPerSec)} disturbed: other processes used ${(outcome.otherCpu * 100).toFixed(0)} % of a core; measuring it again)`);
    // Let the backlog drain first.
    await sleep(3000);
    const retry = await one(run, step, seed, run.stepMs, run.drainMs);
    retry.retriedAfter = outcome;
    return retry;
  };
  for (let i = 0; i < run.plan.length; i++) {
    const outcome = await measure(run.plan[i], 1 + i);
    steps.push(outcome);
    logStep(run, outcome);
    if (!outcome.sustained) {
      // One refinement between the last sustained step and this one, for a finer answer.
      const previous = i > 0 ? run.plan[i - 1] : undefined;
      if (run.thorough && previous !== undefined && steps[steps.length - 2]?.sustained && outcome.open >= run.connections && run.server.alive()) {
        await sleep(3000);
        const middle: StepPlan = {
          rate: (previous.rate + run.plan[i].rate) / 2,
          nominalDeliveries: (previous.nominalDeliveries + run.plan[i].nominalDeliveries) / 2,
        };
        const refined = await measure(middle, 100 + i);
        refined.refinement = true;
        steps.push(refined);
        logStep(run, refined);
      }
      // The steps every contestant must show, past the failure (in plan order, bounded by the plan).
      for (let j = i + 1; j < run.plan.length; j++) {
        if (!run.alwaysRun?.includes(run.plan[j].nominalDeliveries)) continue;
        if (!run.server.alive()) break;
        const state = await run.fleet.stats();
        if (state.open < run.connections) break;
        await sleep(3000);
        const extra = await one(run, run.plan[j], 1 + j, run.stepMs, run.drainMs);
        steps.push(extra);
        logStep(run, extra);
      }
      break;
    }
  }
  return { warmup, steps };
}

function logStep(run: StepRun, outcome: StepOutcome): void {
    run.log(
      `  ${fmtRate(outcome.offeredPerSec)} offered → ${fmtRate(outcome.receivedPerSec)} received ` +
        `(${(outcome.delivered * 100).toFixed(1)} %), p50 ${outcome.p50Ms.toFixed(2)} ms, p99 ${outcome.p99Ms.toFixed(2)} ms, ` +
        `server ${(outcome.serverCpu * 100).toFixed(0)} %, load ${(outcome.clientCpu * 100).toFixed(0)} %, ` +
        `pusher ${(outcome.pusherCpu * 100).toFixed(0)} %, softirq ${(outcome.softirqCpu * 100).toFixed(0)} %, ` +
        `other ${(outcome.otherCpu * 100).toFixed(0)} %, machine ${(outcome.machineBusy * 100).toFixed(0)} %` +
        (outcome.refinement ? ' (refinement)' : '') +
        (outcome.sustained ? '' : ` — not sustained: ${outcome.reason}`),
    );
}

export function fmtRate(perSec: number): string {
  if (perSec >= 1e6) return `${(perSec / 1e6).toFixed(2)} M/s`;
  if (perSec >= 1e3) return `${(perSec / 1e3).toFixed(1)} k/s`;
  return `${perSec.toFixed(0)}/s`;
}

/** The sustained step with the highest offered rate, if any. */
export function bestSustained(steps: StepOutcome[]): StepOutcome | undefined {
  let best: StepOutcome | undefined;
  for (const s of steps) if (s.sustained && (best === undefined || s.pushRate > best.pushRate)) best = s;
  return best;
}

/** Latency bound of {@link bestWithin}: a push answered within a second still feels live. */
export const P99_BOUND_MS = 1000;

/** The sustained step with the highest offered rate whose p99 latency is at most `boundMs`, if any. */
export function bestWithin(steps: StepOutcome[], boundMs = P99_BOUND_MS): StepOutcome | undefined {
  return bestSustained(steps.filter((s) => s.p99Ms <= boundMs));
}

/** The failed step with the lowest offered rate (the refinement when it failed), if any. */
export function firstFailed(steps: StepOutcome[]): StepOutcome | undefined {
  let first: StepOutcome | undefined;
  for (const s of steps) if (!s.sustained && (first === undefined || s.pushRate < first.pushRate)) first = s;
  return first;
}
