import type { PreparedMessage } from '../protocol/prepared-message.js';

/** What the hub needs from a connection: a place to queue a framed-once message. */
export interface FrameSink {
  /**
   * Queue the frame of `message` that suits this connection (plain, or the
   * shared compressed one); the buffer is shared by every target and must not
   * be changed. 'dropped' when the connection can no longer send.
   */
  sendPrepared(message: PreparedMessage): 'ok' | 'backpressure' | 'dropped';
}

/**
 * A small set of topic names. Most connections hold zero or one subscription
 * of a kind, so those cases cost no allocation: `null` is empty, a string is
 * one topic, and only a second topic creates a Set (~150 bytes saved per
 * idle connection with one subscription).
 */
export type TopicSet = null | string | Set<string>;

export function topicSetHas(set: TopicSet, topic: string): boolean {
  return set === topic || (set !== null && typeof set !== 'string' && set.has(topic));
}

export function topicSetSize(set: TopicSet): number {
  return set === null ? 0 : typeof set === 'string' ? 1 : set.size;
}

/** `set` plus `topic` (the caller checked it is absent). */
export function topicSetAdd(set: TopicSet, topic: string): TopicSet {
  if (set === null) return topic;
  if (typeof set === 'string') return new Set([set, topic]);
  set.add(topic);
  return set;
}

/** `set` without `topic` (the caller checked it is present). */
export function topicSetDelete(set: TopicSet, topic: string): TopicSet {
  if (typeof set === 'string' || set === null) return null;
  set.delete(topic);
  if (set.size === 1) for (const only of set) return only;
  return set.size === 0 ? null : set;
}

export function topicSetValues(set: TopicSet): Iterable<string> {
  return set === null ? [] : typeof set === 'string' ? [set] : set;
}

/**
 * Live messages of a stream diverted while the stream is being resumed
 * (herald.v1 `since`), up to `limit` bytes not yet sent: past it,
 * `onOverflow` runs once and later messages are not kept (the resume is
 * ended; see session/resume.ts).
 */
export class StreamHold {
  readonly messages: PreparedMessage[] = [];
  /** Bytes of the held messages not yet sent (the sender subtracts what it sends). */
  bytes = 0;

  constructor(
    readonly limit: number,
    private readonly onOverflow: (hold: StreamHold) => void,
  ) {}

  get overflowed(): boolean {
    return this.bytes > this.limit;
  }

  push(message: PreparedMessage): void {
    if (this.overflowed) return;
    this.messages.push(message);
    this.bytes += message.plain.length;
    if (this.overflowed) this.onOverflow(this);
  }
}

/** The newest position a resumed stream has already delivered. */
export interface StreamFloor {
  seq: number;
  epoch: string;
}

/**
 * What most clients never hold, in one object created on first use and
 * dropped when all of it is back to its default (a subclass adds its own
 * fields): an idle client carries one null field for all of them.
 */
export class HubClientExtras {
  holding: Map<string, StreamHold | StreamFloor> | null = null;

  get unused(): boolean {
    return this.holding === null;
  }
}

/** A connection as the hub indexes it: its login and its subscriptions. */
export class HubClient {
  /** The logged-in user, or null. */
  uid: string | null = null;
  /** Public topics (op 1). */
  publicTopics: TopicSet = null;
  /** Private topics (op 5), meaningful only while `uid` is set. */
  privateTopics: TopicSet = null;
  /** @internal what most clients never hold (see HubClientExtras): created on first use, dropped when back to defaults. */
  protected extras: HubClientExtras | null = null;
  /**
   * A push to this user and a topic also reaches a *public* subscription to
   * that topic (gpush's routing, for gpush-protocol connections). herald.v1
   * keeps it to private subscriptions: the push belongs to the user's private
   * stream, which a public subscription's resume does not cover. A getter the
   * session overrides: derived from the connection, no field per client.
   */
  get userPushesReachPublic(): boolean {
    return false;
  }

  constructor(readonly sink: FrameSink) {}

  /**
   * Per stream (herald.v1 resume), by stream key; null when none:
   * - a hold: live messages held back while the stream's history is read and replayed;
   * - a floor: after the replay, live messages the history already covered
   *   (same epoch, seq ≤ floor) may still be in flight and are dropped, until
   *   a newer one passes.
   */
  get holding(): Map<string, StreamHold | StreamFloor> | null {
    return this.extras === null ? null : this.extras.holding;
  }
  set holding(holding: Map<string, StreamHold | StreamFloor> | null) {
    if (holding === null && this.extras === null) return;
    this.ownExtras().holding = holding;
    if (holding === null) this.releaseExtras();
  }

  /** @internal the extras, created on first use. */
  protected ownExtras(): HubClientExtras {
    return (this.extras ??= this.newExtras());
  }

  /** @internal a subclass with more rarely used state returns its own extras (a subclass of HubClientExtras). */
  protected newExtras(): HubClientExtras {
    return new HubClientExtras();
  }

  /** @internal drop the extras once nothing in them differs from the defaults. */
  protected releaseExtras(): void {
    if (this.extras !== null && this.extras.unused) this.extras = null;
  }

  get subscriptionCount(): number {
    return topicSetSize(this.publicTopics) + topicSetSize(this.privateTopics);
  }
}
