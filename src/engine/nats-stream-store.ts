import { randomBytes } from 'node:crypto';
import { headers, type JetStreamClient, type JetStreamManager, type MsgHdrs, type StoredMsg } from 'nats';
import type { Delivery, HistoryResult, StreamPosition } from './engine.js';
import { packBatch, takeBatch, unpackBatch } from './nats-batch.js';
import { routeOfTail } from './nats-subjects.js';

/**
 * Herald streams kept in one JetStream stream (see nats-subjects.ts for the
 * subjects). JetStream numbers messages across the whole stream, so a Herald
 * stream's own `seq` (1, 2, 3… per stream) is carried in a header, with its
 * epoch and a back link:
 * - `Herald-Seq`   the publication's seq (0 for an incarnation marker, below);
 * - `Herald-Epoch` the incarnation's epoch;
 * - `Herald-Prev`  the JetStream sequence of the previous message on the same
 *                  subject (0: the first of its incarnation).
 *
 * **Why a header counter and optimistic concurrency.** A publish reads the
 * subject's last message (cached per node), and publishes seq + 1 with
 * `Nats-Expected-Last-Subject-Sequence` set to that message's JetStream
 * sequence: JetStream stores it only if nothing was appended to the subject in
 * between, atomically, so two nodes can never hand out the same seq; the loser
 * gets "wrong last sequence" (10071), re-reads and tries again. A KV revision
 * would not do: it is global to the bucket too. One node serializes its own
 * publishes per stream (a chain), so they never conflict with each other.
 *
 * **Epoch.** A publish that finds no last message on the subject (never
 * published, purged by `remove`, aged out by max_age, or the JetStream stream
 * itself lost and re-created) starts a new incarnation: seq 1 under a fresh
 * random epoch. The epoch thus changes exactly when the history is lost.
 *
 * **Incarnation marker.** `history` of a stream with no message must answer a
 * position that later publications continue (the Engine contract), so it
 * stores a marker (seq 0, no data) that starts the incarnation; markers are
 * republished like any message and skipped by readers.
 *
 * **History** walks back from the last message along `Herald-Prev`, one
 * direct read per publication wanted; a missing link (trimmed, aged out)
 * means the history no longer reaches back that far.
 *
 * **Limits.** The JetStream stream keeps `historySize + 1` messages per
 * subject (max_msgs_per_subject: the +1 leaves room for the marker, and at
 * least the last message is always kept, since it carries the seq) for
 * `historyTtlMs` (max_age). A topic's namespace may ask for less: `history`
 * serves at most its size, and a stream idle for longer than its TTL counts as
 * gone. A namespace asking for more than the engine's limits gets the engine's
 * (JetStream applies one limit per stream).
 */

const SEQ = 'Herald-Seq';
const EPOCH = 'Herald-Epoch';
const PREV = 'Herald-Prev';
const COUNT = 'Herald-Count';
/** JetStream API error codes (server/errors.json). */
const NO_MESSAGE_FOUND = 10037;
const WRONG_LAST_SEQUENCE = 10071;
/** A publish that keeps losing races (other nodes publishing to the same stream) gives up after this many tries. */
const MAX_ATTEMPTS = 100;
/** Cached stream heads kept per node before the cache starts over. */
const MAX_CACHED = 50_000;

/** The last message of a subject, as far as Herald is concerned. */
interface Head {
  /** JetStream sequence of the subject's last message (0: none). */
  jsSeq: number;
  /** The live incarnation: undefined when there is none (no message, or the last one is older than the TTL). */
  position?: StreamPosition;
  /** When the last message was stored (ms since epoch). */
  time: number;
}

/** Errors of the JetStream API carry the server's error code here. */
function apiCode(error: unknown): number | undefined {
  return (error as { api_error?: { err_code?: number } } | undefined)?.api_error?.err_code;
}

/**
 * Nodes that start together race to create the same stream or KV bucket: the
 * loser is told "stream name already in use" (10058) or "subjects overlap"
 * (10065). The stream then exists, so creating (or binding) again succeeds.
 */
export async function retryCreateRace<T>(create: () => Promise<T>, attempts = 4): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await create();
    } catch (error) {
      const code = apiCode(error);
      const raced = code === 10058 || code === 10065 || /already in use|subjects overlap/i.test((error as Error).message ?? '');
      if (!raced || attempt >= attempts) throw error;
    }
  }
}

/** The Herald headers of a message, or undefined when they are not Herald's. */
export function parseHeaders(hdrs: MsgHdrs | undefined): { seq: number; epoch: string; prev: number; count: number } | undefined {
  if (hdrs === undefined) return undefined;
  const seq = Number(hdrs.get(SEQ));
  const prev = Number(hdrs.get(PREV));
  const epoch = hdrs.get(EPOCH);
  const countText = hdrs.get(COUNT);
  const count = countText === '' ? 1 : Number(countText);
  if (!Number.isSafeInteger(seq) || seq < 0 || !Number.isSafeInteger(prev) || prev < 0 || epoch === '') return undefined;
  if (!Number.isSafeInteger(count) || count < 1 || (seq > 0 && count > seq)) return undefined;
  return { seq, epoch, prev, count };
}

/** The publications a message carries (see nats-batch.ts), with their positions; undefined when malformed. */
export function publicationsOf(
  data: Uint8Array,
  parsed: { seq: number; epoch: string; count: number },
): { data: Buffer; position: StreamPosition }[] | undefined {
  if (parsed.seq === 0) return []; // an incarnation marker
  const items = unpackBatch(data, parsed.count);
  const first = parsed.seq - parsed.count + 1;
  return items?.map((item, i) => ({ data: item, position: { seq: first + i, epoch: parsed.epoch } }));
}

interface Pending {
  data: Uint8Array;
  resolve(position: StreamPosition): void;
  reject(error: unknown): void;
}

export interface StreamStoreOptions {
  /** The JetStream stream's name (also the subject prefix). */
  name: string;
  /** Timeout of one JetStream request in ms. */
  timeoutMs: number;
}

export class NatsStreamStore {
  private readonly heads = new Map<string, Head>();
  private readonly chains = new Map<string, Promise<unknown>>();
  /** Publications waiting for the stream's publish in flight, per stream. */
  private readonly queues = new Map<string, Pending[]>();
  private readonly epochBase = randomBytes(6).toString('base64url');
  private epochCounter = 0;

  constructor(
    private readonly js: JetStreamClient,
    private readonly jsm: JetStreamManager,
    private readonly options: StreamStoreOptions,
  ) {}

  /** Create the JetStream stream, or bring its limits to these (every node must be configured alike). */
  async ensure(limits: { size: number; ttlMs: number }): Promise<void> {
    const { name } = this.options;
    const config = {
      subjects: [`${name}.s.>`],
      max_msgs_per_subject: Math.max(1, limits.size) + 1,
      max_age: limits.ttlMs * 1_000_000,
      republish: { src: `${name}.s.>`, dest: `${name}.r.>` },
    };
    await retryCreateRace(async () => {
      try {
        const info = await this.jsm.streams.info(name);
        await this.jsm.streams.update(name, { ...info.config, ...config });
      } catch (error) {
        if (apiCode(error) !== 10059) throw error; // 10059: stream not found
        await this.jsm.streams.add({ name, ...config });
      }
    });
  }

  /**
   * Append a publication to the stream with subject tail `tail`; resolves once
   * JetStream acknowledged it. Publications queued while the stream's previous
   * publish is in flight go out together, in order (nats-batch.ts).
   */
  append(tail: string, data: Uint8Array, ttlMs: number): Promise<StreamPosition> {
    return new Promise((resolve, reject) => {
      const queue = this.queues.get(tail);
      if (queue !== undefined) {
        queue.push({ data, resolve, reject });
        return;
      }
      const fresh: Pending[] = [{ data, resolve, reject }];
      this.queues.set(tail, fresh);
      void this.drain(tail, fresh, ttlMs);
    });
  }

  private async drain(tail: string, queue: Pending[], ttlMs: number): Promise<void> {
    while (queue.length > 0) {
      const batch = takeBatch(queue);
      try {
        const last = await this.serialize(tail, () => this.appendBatch(tail, batch.map((item) => item.data), ttlMs));
        batch.forEach((item, i) => item.resolve({ seq: last.seq - batch.length + 1 + i, epoch: last.epoch }));
      } catch (error) {
        for (const item of batch) item.reject(error);
      }
    }
    this.queues.delete(tail);
  }

  /** Store `items` as one message after the stream's head; resolves with the position of the last. */
  private async appendBatch(tail: string, items: Uint8Array[], ttlMs: number): Promise<StreamPosition> {
    let known = this.heads.get(tail);
    const k = items.length;
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const head = known ?? (await this.readHead(tail, ttlMs));
      const live = this.alive(head, ttlMs) ? head.position : undefined;
      const position = live === undefined ? { seq: k, epoch: this.nextEpoch() } : { seq: live.seq + k, epoch: live.epoch };
      if (await this.store(tail, packBatch(items), position, live === undefined ? 0 : head.jsSeq, head.jsSeq, k)) return position;
      known = await this.readHead(tail, ttlMs);
      const now = known.position;
      if (live !== undefined && now !== undefined && now.epoch === live.epoch && now.seq < live.seq) {
        // The stream's seq went back under the same epoch: the server lost messages it had
        // acknowledged (a restart that lost its unflushed store). Numbers must never be reused
        // under one epoch, so a new incarnation starts and resuming clients learn of the gap.
        known = { ...known, position: undefined };
      }
    }
    throw new Error(`gave up after ${MAX_ATTEMPTS} conflicting publishes to ${tail}`);
  }

  /** The current position without changing anything: `{seq: 0, epoch: ''}` when there is no incarnation. */
  async head(tail: string, ttlMs: number): Promise<StreamPosition> {
    const head = await this.readHead(tail, ttlMs);
    return head.position ?? { seq: 0, epoch: '' };
  }

  /** Engine.history for one stream (see the class comment); `size` is the stream's history size. */
  async history(tail: string, since: StreamPosition | undefined, limit: number | undefined, size: number, ttlMs: number): Promise<HistoryResult> {
    const head = await this.startedHead(tail, ttlMs);
    const position = head.position!;
    const fromOldest = since === undefined && limit !== undefined;
    if (since === undefined && !fromOldest) return { recovered: true, publications: [], position };
    let wanted: number;
    if (fromOldest) {
      wanted = Math.min(size, position.seq);
    } else {
      const sinceSeq = since!.seq;
      if (!Number.isSafeInteger(sinceSeq) || sinceSeq < 0 || since!.epoch !== position.epoch || sinceSeq > position.seq) {
        return { recovered: false, position };
      }
      wanted = position.seq - sinceSeq;
      if (wanted > size) return { recovered: false, position };
    }
    const publications = await this.walkBack(tail, head, wanted);
    if (publications === undefined) {
      if (!fromOldest) return { recovered: false, position };
    }
    const found = publications ?? [];
    if (!fromOldest && found.length < wanted) return { recovered: false, position };
    return { recovered: true, publications: limit === undefined ? found : found.slice(0, limit), position };
  }

  /** Forget a stream: purge its subject, so the next publication starts a new incarnation. */
  async remove(tail: string): Promise<void> {
    await this.serialize(tail, async () => {
      await this.jsm.streams.purge(this.options.name, { filter: `${this.options.name}.s.${tail}` });
      this.heads.delete(tail);
    });
  }

  /**
   * Up to `wanted` publications before and including the head, oldest first.
   * Stops early at the start of the incarnation (a walk from the oldest held
   * may find fewer); undefined when a link is missing before that.
   */
  private async walkBack(tail: string, head: Head, wanted: number): Promise<Delivery[] | undefined> {
    const route = routeOfTail(tail) ?? {};
    const found: Delivery[] = [];
    const result = (): Delivery[] => found.reverse().slice(-wanted);
    let jsSeq = head.jsSeq;
    while (found.length < wanted && jsSeq > 0) {
      const message = await this.readSeq(jsSeq);
      const parsed = message === undefined ? undefined : parseHeaders(message.header);
      const publications = message === undefined || parsed === undefined ? undefined : publicationsOf(message.data, parsed);
      if (publications === undefined || parsed!.epoch !== head.position!.epoch) return found.length > 0 ? result() : undefined;
      if (parsed!.seq === 0) break;
      for (const publication of publications.reverse()) found.push({ ...route, ...publication });
      jsSeq = parsed!.prev;
    }
    return result();
  }

  /** The head, starting an incarnation (a marker) when the stream has none. */
  private async startedHead(tail: string, ttlMs: number): Promise<Head> {
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const head = await this.readHead(tail, ttlMs);
      if (this.alive(head, ttlMs)) return head;
      const marker = await this.serialize(tail, async () => {
        const current = this.heads.get(tail) ?? (await this.readHead(tail, ttlMs));
        if (this.alive(current, ttlMs)) return current;
        const position = { seq: 0, epoch: this.nextEpoch() };
        return (await this.store(tail, new Uint8Array(0), position, 0, current.jsSeq)) ? this.heads.get(tail) : undefined;
      });
      if (marker !== undefined) return marker;
    }
    throw new Error(`could not start an incarnation of ${tail}`);
  }

  private alive(head: Head, ttlMs: number): head is Head & { position: StreamPosition } {
    return head.position !== undefined && head.time + ttlMs >= Date.now();
  }

  /** Publish one message expecting `expectJsSeq` as the subject's last; false (head forgotten) when another got there first. */
  private async store(tail: string, data: Uint8Array, position: StreamPosition, prev: number, expectJsSeq: number, count = 1): Promise<boolean> {
    const hdrs = headers();
    if (count > 1) hdrs.set(COUNT, String(count));
    hdrs.set(SEQ, String(position.seq));
    hdrs.set(EPOCH, position.epoch);
    hdrs.set(PREV, String(prev));
    try {
      const ack = await this.js.publish(`${this.options.name}.s.${tail}`, data, {
        headers: hdrs,
        expect: { lastSubjectSequence: expectJsSeq },
        timeout: this.options.timeoutMs,
      });
      this.remember(tail, { jsSeq: ack.seq, position, time: Date.now() });
      return true;
    } catch (error) {
      this.heads.delete(tail);
      if (apiCode(error) === WRONG_LAST_SEQUENCE) return false;
      throw error;
    }
  }

  private async readHead(tail: string, ttlMs: number): Promise<Head> {
    let message: StoredMsg;
    try {
      message = await this.jsm.streams.getMessage(this.options.name, { last_by_subj: `${this.options.name}.s.${tail}` });
    } catch (error) {
      if (apiCode(error) !== NO_MESSAGE_FOUND) throw error;
      return { jsSeq: 0, time: 0 };
    }
    const parsed = parseHeaders(message.header);
    const time = message.time.getTime();
    const position = parsed === undefined || time + ttlMs < Date.now() ? undefined : { seq: parsed.seq, epoch: parsed.epoch };
    const head = { jsSeq: message.seq, position, time };
    this.remember(tail, head);
    return head;
  }

  private async readSeq(seq: number): Promise<StoredMsg | undefined> {
    try {
      return await this.jsm.streams.getMessage(this.options.name, { seq });
    } catch (error) {
      if (apiCode(error) === NO_MESSAGE_FOUND) return undefined;
      throw error;
    }
  }

  private remember(tail: string, head: Head): void {
    if (this.heads.size >= MAX_CACHED && !this.heads.has(tail)) this.heads.clear();
    this.heads.set(tail, head);
  }

  /** Run `task` after the previous tasks of the same stream (this node's publishes never race each other). */
  private serialize<T>(tail: string, task: () => Promise<T>): Promise<T> {
    const previous = this.chains.get(tail) ?? Promise.resolve();
    const result = previous.then(task, task);
    const settled = result.then(
      () => undefined,
      () => undefined,
    );
    this.chains.set(tail, settled);
    void settled.then(() => {
      if (this.chains.get(tail) === settled) this.chains.delete(tail);
    });
    return result;
  }

  private nextEpoch(): string {
    return `${this.epochBase}${(this.epochCounter++).toString(36)}`;
  }
}
