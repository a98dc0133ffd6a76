import type { Message, StreamPosition, Subscription } from './types.js';

/** The key of a subscribed stream: a public and a private topic of one name are two streams. */
export function streamKey(topic: string, isPrivate: boolean): string {
  return `${isPrivate ? 'p' : 't'}:${topic}`;
}

/**
 * One subscribed stream (topic + private flag) on the client: its handlers,
 * where a resume starts, and the duplicate filter.
 *
 * `position` is the resume point sent as `since`. `delivered` is the highest
 * seq delivered in `position.epoch`: a delivery at or below it is a duplicate
 * and dropped. They differ after a `recovered: false` reply, whose position
 * may be ahead of messages the server still releases (live messages it held
 * while reading history).
 */
export class StreamState {
  readonly key: string;
  readonly handles = new Set<SubscriptionHandle>();
  position: StreamPosition | undefined = undefined;
  delivered = 0;
  /** Connection generation the subscribe was sent on (0: not on any). */
  sentOn = 0;
  /** Connection generation that confirmed it (20001). */
  confirmedOn = 0;
  /** Subscribe with `"joinLeave": true` (herald.v1): a handler asked for the topic's join/leave events. */
  joinLeave = false;
  /**
   * The subscription token sent with every subscribe of this stream (a
   * namespace with `subscribe: "token"`), and when it is due for a refresh
   * (ms since the epoch; Infinity: no known expiry).
   */
  token: string | undefined = undefined;
  tokenRefreshAt = Infinity;
  /** The stream needs a token: one was given, or the server asked for one. */
  needsToken = false;
  /** `token` was given to subscribe() and not sent yet: send it even when stale. */
  tokenGiven = false;
  /** Bumped by every subscribe attempt: a token fetched for an older one is not sent. */
  attempt = 0;

  constructor(
    readonly topic: string,
    readonly isPrivate: boolean,
  ) {
    this.key = streamKey(topic, isPrivate);
  }

  /**
   * A delivery at `seq` of `epoch` arrived: false when it is a duplicate
   * (at or below the last delivered seq of the same epoch), otherwise it
   * advances the position. Seq 1 is always accepted: a stream the server
   * forgot (idle past its history TTL) restarts at 1, in the memory engine
   * under the same epoch.
   */
  accept(seq: number, epoch: string): boolean {
    const position = this.position;
    if (position === undefined || position.epoch !== epoch || seq === 1) {
      this.position = { seq, epoch };
      this.delivered = seq;
      return true;
    }
    if (seq <= this.delivered) return false;
    this.delivered = seq;
    if (seq > position.seq) this.position = { seq, epoch };
    return true;
  }

  /**
   * The subscribe reply of a resume (`since` sent) arrived. With
   * `recovered: true` the replayed publications follow and advance the
   * position themselves. With `recovered: false` the subscription is live
   * from `position`; the duplicate filter is kept only while it still
   * describes the same history.
   */
  resumed(recovered: boolean | undefined, position: StreamPosition | undefined): void {
    if (position === undefined) return;
    if (recovered === true) {
      this.position ??= position;
      return;
    }
    const sameHistory = this.position?.epoch === position.epoch && position.seq >= this.delivered;
    if (!sameHistory) this.delivered = 0;
    this.position = { seq: position.seq, epoch: position.epoch };
  }

  /** Forget the position (a different user's private stream, or a logout). */
  reset(): void {
    this.position = undefined;
    this.delivered = 0;
  }
}

/** The {@link Subscription} `subscribe()` returns: one handler on one stream. */
export class SubscriptionHandle implements Subscription {
  readonly ready: Promise<void>;
  private settle: { resolve(): void; reject(error: Error): void } | undefined;

  constructor(
    readonly stream: StreamState,
    readonly handler: (message: Message) => void,
    private readonly remove: (handle: SubscriptionHandle) => Promise<void>,
  ) {
    this.ready = new Promise<void>((resolve, reject) => (this.settle = { resolve, reject }));
    // Awaiting `ready` is optional: a refusal must not become an unhandled rejection.
    this.ready.catch(() => {});
  }

  get topic(): string {
    return this.stream.topic;
  }

  get private(): boolean {
    return this.stream.isPrivate;
  }

  get position(): StreamPosition | undefined {
    const p = this.stream.position;
    return p === undefined ? undefined : { seq: p.seq, epoch: p.epoch };
  }

  unsubscribe(): Promise<void> {
    return this.remove(this);
  }

  /** Settle `ready` (first time only); true when this call settled it. */
  confirm(error?: Error): boolean {
    const settle = this.settle;
    if (settle === undefined) return false;
    this.settle = undefined;
    if (error === undefined) settle.resolve();
    else settle.reject(error);
    return true;
  }
}
