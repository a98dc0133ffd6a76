/**
 * Optional timing of a push through each stage of the node, to find where a
 * push waits under load (issue 15). Off by default: `HERALD_STAGE_TIMING=N`
 * (read once, when this module loads) samples one push in N (1 = every push).
 * Off, {@link stageTiming} is null and every call site is one null check —
 * nothing is allocated, stamped or kept.
 *
 * A sampled push is stamped (performance.now(), ms) at:
 *
 * | stamp | where |
 * |---|---|
 * | `sent` | the bench pusher's stamp, when the payload starts with a CLOCK_MONOTONIC ns count (bench payloads do) |
 * | `received` | the HTTP request handler runs: the request head is parsed |
 * | `parsed` | the body is read, parsed and validated: `engine.publish` is called |
 * | `hubStart`, `hubEnd` | the hub's fan-out (the memory engine calls it synchronously); at its end the frame is queued on every target (for audiences walked in slices, on the first slice's targets) |
 * | `answered` | the publish promise settled: the 200 is written |
 * | `firstWrite` | the first flush slice that writes a connection holding the push began |
 * | `allWritten` | every connection holding it has been written (handed to the kernel) |
 *
 * "Every connection holding it": a connection with queued frames is on
 * exactly one of the flush scheduler's lists (this turn's, one being written in
 * slices, or the merge window's), so the push has left once every list that
 * existed when it was queued is finished. The schedulers report that through
 * {@link QueueWatcher}.
 *
 * Handshakes are timed too (every one): accepted → 101 written.
 *
 * The durations between stamps, and the flush scheduler's slices, are kept
 * (at most {@link MAX_VALUES} each) and printed as percentiles when the
 * process exits — to `HERALD_STAGE_TIMING_OUT` if set, else stderr.
 */
import { appendFileSync } from 'node:fs';

/** Values kept per series: enough for minutes of sampled pushes, bounded. */
export const MAX_VALUES = 200_000;

/** One sampled push's stamps (ms on performance.now()'s clock; NaN until stamped). */
export class PushSample {
  sent = NaN;
  received = NaN;
  parsed = NaN;
  hubStart = NaN;
  hubEnd = NaN;
  answered = NaN;
  firstWrite = NaN;
  allWritten = NaN;
  /** The flush lists that must finish before this push has left (see QueueWatcher). */
  readonly waiting = new Set<unknown>();
  /** Outstanding flush lists when the push was queued. */
  listsAtQueue = 0;
  recorded = false;
}

/** A flush scheduler: tells which of its lists hold a push just queued, and when they are written. */
export interface QueueWatcher {
  /** Add to `sample.waiting` every list of connections with queued frames now. */
  snapshot(sample: PushSample): void;
}

export class StageTiming {
  /** Sample one push in this many. */
  readonly every: number;
  private countdown = 1;
  /** The sampled push whose `publish` call is running now (the memory engine fans out within it). */
  current: PushSample | null = null;
  /** Pushes queued and not yet all written, in queue order. */
  readonly inFlight = new Set<PushSample>();
  private readonly watchers = new Set<QueueWatcher>();
  private readonly series = new Map<string, number[]>();
  private readonly acceptedAt = new WeakMap<object, number>();
  /** performance.now() + this = CLOCK_MONOTONIC in ms (the clock the bench pusher stamps with). */
  private readonly monotonicOffsetMs = Number(process.hrtime.bigint()) / 1e6 - performance.now();

  constructor(every: number) {
    this.every = every;
  }

  /** A request arrived: a new sample for one push in `every`, else null. */
  begin(): PushSample | null {
    if (--this.countdown > 0) return null;
    this.countdown = this.every;
    const sample = new PushSample();
    sample.received = performance.now();
    return sample;
  }

  /** The request is parsed and about to be published; `data` is its payload (a bench stamp is read from it). */
  parsed(sample: PushSample, data: Uint8Array): void {
    sample.parsed = performance.now();
    const sent = leadingNanoseconds(data);
    if (sent > 0) sample.sent = sent / 1e6 - this.monotonicOffsetMs;
  }

  /** The hub starts the current sample's fan-out. */
  hubStart(): void {
    if (this.current !== null) this.current.hubStart = performance.now();
  }

  /** The hub has queued the current sample on its targets: find the flush lists holding it. */
  hubEnd(): void {
    const sample = this.current;
    if (sample === null) return;
    sample.hubEnd = performance.now();
    for (const watcher of this.watchers) watcher.snapshot(sample);
    sample.listsAtQueue = sample.waiting.size;
    if (sample.waiting.size === 0) {
      sample.firstWrite = sample.allWritten = sample.hubEnd;
    } else {
      this.inFlight.add(sample);
    }
  }

  answered(sample: PushSample): void {
    sample.answered = performance.now();
    this.recordIfDone(sample);
  }

  /** A flush slice of `list` begins. */
  sliceStarted(list: unknown, now: number): void {
    for (const sample of this.inFlight) if (Number.isNaN(sample.firstWrite) && sample.waiting.has(list)) sample.firstWrite = now;
  }

  /** `list` is written to its end. */
  listFinished(list: unknown, now: number): void {
    for (const sample of this.inFlight) {
      if (!sample.waiting.delete(list) || sample.waiting.size > 0) continue;
      sample.allWritten = now;
      this.inFlight.delete(sample);
      this.recordIfDone(sample);
    }
  }

  /** A connection was accepted (its handshake is timed too). */
  accepted(conn: object): void {
    this.acceptedAt.set(conn, performance.now());
  }

  /** Its 101 response was written (handed to the kernel). */
  upgraded(conn: object): void {
    const at = this.acceptedAt.get(conn);
    if (at === undefined) return;
    this.acceptedAt.delete(conn);
    this.record('handshake: accepted → 101 written', performance.now() - at);
  }

  /** The connections of list `from` were moved to list `into` (the merge window's held list joining a wave). */
  listMerged(from: unknown, into: unknown): void {
    if (from === into) return;
    for (const sample of this.inFlight) if (sample.waiting.delete(from)) sample.waiting.add(into);
  }

  watch(watcher: QueueWatcher): void {
    this.watchers.add(watcher);
  }

  unwatch(watcher: QueueWatcher): void {
    this.watchers.delete(watcher);
  }

  /** Keep one value (ms) of a series. */
  record(name: string, value: number): void {
    let values = this.series.get(name);
    if (values === undefined) this.series.set(name, (values = []));
    if (values.length < MAX_VALUES) values.push(value);
  }

  private recordIfDone(sample: PushSample): void {
    if (sample.recorded || Number.isNaN(sample.answered) || Number.isNaN(sample.allWritten)) return;
    sample.recorded = true;
    if (!Number.isNaN(sample.sent)) this.record('1 pusher stamp → request parsed (HTTP, queued reads)', sample.received - sample.sent);
    this.record('2 request parsed → body read and validated', sample.parsed - sample.received);
    if (!Number.isNaN(sample.hubStart)) {
      this.record('3 validated → hub fan-out start (engine)', sample.hubStart - sample.parsed);
      this.record('4 hub fan-out (queued on every target)', sample.hubEnd - sample.hubStart);
      this.record('5 queued → first flush slice holding it', sample.firstWrite - sample.hubEnd);
      this.record('6 first slice → all its connections written', sample.allWritten - sample.firstWrite);
      this.record('7 queued → all written', sample.allWritten - sample.hubEnd);
      this.record('flush lists outstanding when queued', sample.listsAtQueue);
    }
    this.record('8 validated → 200 answered', sample.answered - sample.parsed);
    this.record('9 request parsed → all written', sample.allWritten - sample.received);
    if (!Number.isNaN(sample.sent)) this.record('10 pusher stamp → all written', sample.allWritten - sample.sent);
  }

  /** Percentiles of every series, one line each. */
  report(): string {
    if (this.series.size === 0) return '';
    const lines = [`herald stage timing (1 push in ${this.every} sampled; ms unless named otherwise)`];
    const names = [...this.series.keys()].sort((a, b) => parseInt(a) - parseInt(b) || a.localeCompare(b));
    for (const name of names) {
      const values = (this.series.get(name) as number[]).slice().sort((a, b) => a - b);
      const at = (q: number): string => fmt(values[Math.min(values.length - 1, Math.floor(q * values.length))]);
      let sum = 0;
      for (const v of values) sum += v;
      lines.push(
        `  ${name.padEnd(58)} n=${String(values.length).padStart(7)}  mean ${fmt(sum / values.length)}  p50 ${at(0.5)}  p90 ${at(0.9)}  p99 ${at(0.99)}  max ${fmt(values[values.length - 1])}`,
      );
    }
    return lines.join('\n') + '\n';
  }
}

function fmt(v: number): string {
  return (v >= 100 ? v.toFixed(0) : v >= 1 ? v.toFixed(2) : v.toFixed(3)).padStart(8);
}

/** A leading decimal number of 10–20 digits followed by a space (the bench's stamp), else 0. */
export function leadingNanoseconds(data: Uint8Array): number {
  let value = 0;
  let i = 0;
  for (; i < data.length && i < 21; i++) {
    const c = data[i];
    if (c < 0x30 || c > 0x39) break;
    value = value * 10 + (c - 0x30);
  }
  return i >= 10 && i <= 20 && data[i] === 0x20 ? value : 0;
}

/** `HERALD_STAGE_TIMING`: a positive integer N samples one push in N; anything else is off. */
export function parseStageTiming(value: string | undefined): number | undefined {
  if (value === undefined || !/^[1-9][0-9]{0,6}$/.test(value)) return undefined;
  return Number(value);
}

function create(): StageTiming | null {
  const every = parseStageTiming(process.env.HERALD_STAGE_TIMING);
  if (every === undefined) return null;
  const timing = new StageTiming(every);
  const out = process.env.HERALD_STAGE_TIMING_OUT;
  process.on('exit', () => {
    const text = timing.report();
    if (text === '') return;
    if (out === undefined || out === '') process.stderr.write(text);
    else appendFileSync(out, text);
  });
  return timing;
}

/** The process's stage timing, or null when off (the default). */
export const stageTiming: StageTiming | null = create();
