import { randomBytes } from 'node:crypto';
import type { Delivery, HistoryResult, StreamPosition } from './engine.js';
import { streamOf, topicOfStream, type HistoryFor } from '../streams.js';

/** Options of {@link StreamHistory}. */
/**
 * History kept when the options leave it out: `--history-size` and
 * `--history-ttl`'s defaults (equal to the option table's, checked by
 * test/config/node-defaults.test.ts; HeraldNode always passes its settings).
 */
export const HISTORY_DEFAULTS = { size: 100, ttlMs: 5 * 60_000 } as const;

export interface StreamHistoryOptions {
  /** Publications kept per stream; default 100 (0 keeps none: positions only). */
  size?: number;
  /** A stream with no publication for this long is forgotten (history and seq); default 5 min. */
  ttlMs?: number;
  /** Other limits for some topics (their namespace's); a stream of a user or everyone keeps the defaults. */
  historyFor?: HistoryFor;
}

/** Bytes of the length header in front of each payload in a stream's byte ring. */
const HEADER = 4;
/** Smallest byte ring allocated (bytes). */
const MIN_CAPACITY = 256;
/** A ring is shrunk when what it holds (plus the entry being added) fits in a quarter of it. */
const SHRINK_BELOW = 4;

/** uid/topic of a publication whose stream was first published to with a different uid/topic. */
interface Target {
  uid?: string;
  topic?: string;
}

interface Stream {
  /** Its key (see streamOf), built once: deliveries carry it to the hub. */
  key: string;
  /** Publications kept and idle time before it is forgotten: the defaults or its topic's. */
  size: number;
  ttlMs: number;
  seq: number;
  /** This incarnation's epoch: a stream forgotten and started again must not reuse numbers under the same name. */
  epoch: string;
  lastUsed: number;
  /** uid and topic of the held publications (a stream key names one uid/topic pair: see streamOf). */
  uid: string | undefined;
  topic: string | undefined;
  /** False until the first publication set uid/topic. */
  targeted: boolean;
  /**
   * The payloads of the last `count` publications (seq − count + 1 … seq),
   * oldest first from `tail`, each as a 4-byte length then its bytes, in a
   * circular buffer (an entry may wrap around its end); null until the first.
   */
  ring: Buffer | null;
  /** Offset of the oldest entry's header. */
  tail: number;
  /** Offset where the next entry goes. */
  head: number;
  /** Bytes held (headers included). */
  used: number;
  /** Entries held. */
  count: number;
  /** Held publications whose uid/topic differ from the stream's (not made by streamOf keys); by seq. */
  odd: Map<number, Target> | null;
}

/**
 * Per-stream sequence numbers and a bounded ring of recent publications, in
 * memory: what MemoryEngine keeps for resume. Each stream incarnation gets its
 * own epoch (process prefix + counter), so positions from before a restart,
 * or from before an idle stream was forgotten, are told apart.
 *
 * Cheap to retain for many streams: a stream holds its uid/topic once and the
 * payloads of its window copied into one byte ring (so a payload that was a
 * view into a larger buffer, such as a whole HTTP batch body, does not keep
 * that buffer alive), not one Delivery/position/Buffer per publication — a few
 * objects per stream for the garbage collector to trace instead of a few
 * hundred. `history()` (resume only) rebuilds the deliveries it returns.
 */
export class StreamHistory {
  /** Drawn when the process starts; every stream epoch begins with it. */
  readonly epoch = randomBytes(6).toString('base64url');
  private incarnations = 0;
  private readonly size: number;
  private readonly ttlMs: number;
  /** Per-topic limits (namespaces); undefined: `size`/`ttlMs` for every stream. */
  readonly historyFor: HistoryFor | undefined;
  /** Streams by key, but a user's (`u:<uid>`): those are in `users`. */
  private readonly streams = new Map<string, Stream>();
  /**
   * Users' streams by uid: a push to a user (the common case) finds its stream
   * with the uid it has, instead of building and hashing `u:<uid>` per push.
   */
  private readonly users = new Map<string, Stream>();
  private sweepAt = 0;
  /** The shortest TTL of a stream held so far: sweeps run at least that often. */
  private shortestTtlMs: number;

  constructor(options: StreamHistoryOptions = {}) {
    this.size = options.size ?? HISTORY_DEFAULTS.size;
    this.ttlMs = options.ttlMs ?? HISTORY_DEFAULTS.ttlMs;
    this.historyFor = options.historyFor;
    this.shortestTtlMs = this.ttlMs;
  }

  /** Streams currently held. */
  get streamCount(): number {
    return this.streams.size + this.users.size;
  }

  /** Give `delivery` the next position of `stream` and remember it (its payload is copied). */
  append(stream: string, delivery: Delivery, now = Date.now()): StreamPosition {
    this.sweep(now);
    return this.number(this.open(stream, now), delivery, now);
  }

  /**
   * `append` to the publication's own stream (streamOf), whose key it is given
   * as `delivery.stream`: a user's stream is found by uid, no key built.
   */
  appendToOwn(delivery: Delivery, now = Date.now()): StreamPosition {
    this.sweep(now);
    const uid = delivery.uid;
    let s: Stream | undefined;
    if (uid !== undefined && delivery.topic === undefined) s = this.users.get(uid) ?? this.create(`u:${uid}`, now);
    else s = this.open(streamOf(delivery), now);
    delivery.stream = s.key;
    return this.number(s, delivery, now);
  }

  private number(s: Stream, delivery: Delivery, now: number): StreamPosition {
    s.seq++;
    s.lastUsed = now;
    const position = { seq: s.seq, epoch: s.epoch };
    delivery.position = position;
    if (s.size > 0) this.store(s, delivery);
    return position;
  }

  /**
   * Publications of `stream` after `since`. Asking about a stream that does not
   * exist starts its incarnation at seq 0, so the position returned can be
   * resumed from once publications follow (as the Redis engine does).
   */
  history(stream: string, since: StreamPosition | undefined, now = Date.now(), limit = Infinity): HistoryResult {
    const s = this.open(stream, now);
    const position = { seq: s.seq, epoch: s.epoch };
    if (since === undefined) {
      if (limit === Infinity) return { recovered: true, publications: [], position };
      // With a limit, undefined reads from the oldest publication held.
      since = { seq: s.seq - s.count, epoch: s.epoch };
    }
    if (since.epoch !== s.epoch || since.seq > position.seq || since.seq < 0) return { recovered: false, position };
    const oldestHeld = Math.max(1, position.seq - s.size + 1);
    if (since.seq + 1 < oldestHeld) return { recovered: false, position };
    const publications: Delivery[] = [];
    if (since.seq < position.seq) {
      // Walk the ring from its oldest entry (seq − count + 1) to the newest, keeping those after since.
      const ring = s.ring as Buffer;
      let at = s.tail;
      for (let seq = s.seq - s.count + 1; seq <= s.seq; seq++) {
        const length = readLength(ring, at);
        at = wrap(at + HEADER, ring.length);
        if (seq > since.seq) {
          if (publications.length >= limit) break;
          publications.push(this.delivery(s, seq, readBytes(ring, at, length)));
        }
        at = wrap(at + length, ring.length);
      }
    }
    return { recovered: true, publications, position };
  }

  /** Forget `stream` entirely: its next use starts a new incarnation (new epoch, seq from 1). */
  remove(stream: string): void {
    if (stream.startsWith('u:')) this.users.delete(stream.slice(2));
    else this.streams.delete(stream);
  }

  /** The delivery as published: the same uid/topic properties, a copy of the payload, a fresh position. */
  private delivery(s: Stream, seq: number, data: Buffer): Delivery {
    const target = s.odd?.get(seq) ?? s;
    const delivery: Delivery = {} as Delivery;
    if (target.uid !== undefined) delivery.uid = target.uid;
    if (target.topic !== undefined) delivery.topic = target.topic;
    delivery.data = data;
    delivery.position = { seq, epoch: s.epoch };
    return delivery;
  }

  /** Put the payload of `delivery` (now s.seq) in the stream's ring, dropping the oldest past `size`. */
  private store(s: Stream, delivery: Delivery): void {
    if (!s.targeted) {
      s.uid = delivery.uid;
      s.topic = delivery.topic;
      s.targeted = true;
    }
    if (s.count >= s.size) {
      const ring = s.ring as Buffer;
      const length = readLength(ring, s.tail);
      s.tail = wrap(s.tail + HEADER + length, ring.length);
      s.used -= HEADER + length;
      s.count--;
      if (s.odd !== null) {
        s.odd.delete(s.seq - s.size);
        if (s.odd.size === 0) s.odd = null;
      }
    }
    if (delivery.uid !== s.uid || delivery.topic !== s.topic) {
      (s.odd ??= new Map()).set(s.seq, { uid: delivery.uid, topic: delivery.topic });
    }
    const data = delivery.data;
    const need = HEADER + data.length;
    const capacity = s.ring === null ? 0 : s.ring.length;
    if (s.used + need > capacity) {
      // Grow by half (amortised copies) but no more, so a full ring is at most 1.5 × what it holds.
      this.resize(s, Math.max(MIN_CAPACITY, s.used + need, Math.ceil(capacity * 1.5)));
    } else if (capacity > MIN_CAPACITY && (s.used + need) * SHRINK_BELOW <= capacity) {
      this.resize(s, Math.max(MIN_CAPACITY, (s.used + need) * 2));
    }
    const ring = s.ring as Buffer;
    writeLength(ring, s.head, data.length);
    s.head = writeBytes(ring, wrap(s.head + HEADER, ring.length), data);
    s.used += need;
    s.count++;
  }

  /** Move the held entries, oldest first, to the start of a new ring of `capacity` bytes. */
  private resize(s: Stream, capacity: number): void {
    const ring = Buffer.allocUnsafeSlow(capacity);
    const old = s.ring;
    if (old !== null && s.used > 0) {
      const end = s.tail + s.used;
      if (end <= old.length) old.copy(ring, 0, s.tail, end);
      else {
        old.copy(ring, 0, s.tail, old.length);
        old.copy(ring, old.length - s.tail, 0, end - old.length);
      }
    }
    s.ring = ring;
    s.tail = 0;
    s.head = s.used;
  }

  private open(stream: string, now: number): Stream {
    return (stream.startsWith('u:') ? this.users.get(stream.slice(2)) : this.streams.get(stream)) ?? this.create(stream, now);
  }

  /** A new incarnation of `stream` (not held), held from now on. */
  private create(stream: string, now: number): Stream {
    const topic = this.historyFor === undefined ? undefined : topicOfStream(stream);
    const limits = topic === undefined ? undefined : this.historyFor?.(topic);
    const ttlMs = limits?.historyTtlMs ?? this.ttlMs;
    if (ttlMs < this.shortestTtlMs) {
      this.shortestTtlMs = ttlMs;
      // The next sweep must come in time for this stream's shorter TTL.
      this.sweepAt = Math.min(this.sweepAt, now + ttlMs);
    }
    const s: Stream = {
      key: stream,
      size: limits?.historySize ?? this.size,
      ttlMs,
      seq: 0,
      epoch: `${this.epoch}.${(++this.incarnations).toString(36)}`,
      lastUsed: now,
      uid: undefined,
      topic: undefined,
      targeted: false,
      ring: null,
      tail: 0,
      head: 0,
      used: 0,
      count: 0,
      odd: null,
    };
    if (stream.startsWith('u:')) this.users.set(stream.slice(2), s);
    else this.streams.set(stream, s);
    return s;
  }

  private sweep(now: number): void {
    if (now < this.sweepAt) return;
    this.sweepAt = now + Math.min(this.shortestTtlMs, 60_000);
    for (const [key, s] of this.streams) if (now - s.lastUsed > s.ttlMs) this.streams.delete(key);
    for (const [uid, s] of this.users) if (now - s.lastUsed > s.ttlMs) this.users.delete(uid);
  }
}

function wrap(offset: number, capacity: number): number {
  return offset >= capacity ? offset - capacity : offset;
}

function readLength(ring: Buffer, at: number): number {
  const capacity = ring.length;
  if (at + HEADER <= capacity) return ring.readUInt32LE(at);
  let length = 0;
  for (let i = 0; i < HEADER; i++) length += ring[wrap(at + i, capacity)] * 2 ** (8 * i);
  return length;
}

function writeLength(ring: Buffer, at: number, length: number): void {
  const capacity = ring.length;
  if (at + HEADER <= capacity) {
    ring.writeUInt32LE(length, at);
    return;
  }
  for (let i = 0; i < HEADER; i++) ring[wrap(at + i, capacity)] = Math.floor(length / 2 ** (8 * i)) & 0xff;
}

/** Copy `data` into the ring at `at` (wrapping); returns the offset after it. */
function writeBytes(ring: Buffer, at: number, data: Buffer): number {
  const first = Math.min(data.length, ring.length - at);
  data.copy(ring, at, 0, first);
  if (first < data.length) data.copy(ring, 0, first);
  return wrap(at + data.length, ring.length);
}

/** A copy of `length` bytes of the ring from `at` (wrapping): the ring is overwritten later. */
function readBytes(ring: Buffer, at: number, length: number): Buffer {
  const out = Buffer.allocUnsafe(length);
  const first = Math.min(length, ring.length - at);
  ring.copy(out, 0, at, at + first);
  if (first < length) ring.copy(out, first, 0, length - first);
  return out;
}
