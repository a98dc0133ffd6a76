import { TimingWheel, monotonicNow, type WheelEntry } from '../util/timing-wheel.js';
import { subscriptionKey, type SessionClient } from './session-client.js';

/** One subscription that ends at a time: it sits on the session's expiry wheel. */
export class SubscriptionExpiry implements WheelEntry {
  wheelNext: WheelEntry | null = null;
  wheelPrev: WheelEntry | null = null;
  wheelTick = 0;
  constructor(
    readonly client: SessionClient,
    readonly topic: string,
    readonly isPrivate: boolean,
  ) {}
}

/**
 * Subscriptions authorized until a time (a subscription token's `exp`, a
 * subscribe proxy's `expiresAt`), on one timing wheel per session — no timer
 * per connection or subscription, as login expiry (30006). Only a connection
 * holding such subscriptions has a map of them (a weak one, off the connection). When one fires, the
 * session ends the subscription and sends 30009.
 */
export class SubscriptionExpiries {
  private readonly wheel: TimingWheel<SubscriptionExpiry>;
  /** Per connection holding such subscriptions, by `subscriptionKey` (weak: the others carry nothing). */
  private readonly byClient = new WeakMap<SessionClient, Map<string, SubscriptionExpiry>>();

  constructor(onExpire: (entry: SubscriptionExpiry) => void) {
    this.wheel = new TimingWheel<SubscriptionExpiry>(
      (entry) => {
        // Off the connection first: the session's unsubscribe then finds nothing left to cancel.
        this.forget(entry);
        onExpire(entry);
      },
      1000,
      512,
    );
  }

  /** The subscription ends at `expiresAt` (epoch ms), or never (undefined): replaces any earlier expiry of it. */
  set(client: SessionClient, topic: string, isPrivate: boolean, expiresAt: number | undefined): void {
    const key = subscriptionKey(topic, isPrivate);
    let entry = this.byClient.get(client)?.get(key);
    if (expiresAt === undefined) {
      if (entry !== undefined) this.cancelEntry(entry);
      return;
    }
    if (entry === undefined) {
      entry = new SubscriptionExpiry(client, topic, isPrivate);
      let expiring = this.byClient.get(client);
      if (expiring === undefined) this.byClient.set(client, (expiring = new Map()));
      expiring.set(key, entry);
    }
    this.wheel.schedule(entry, monotonicNow() + (expiresAt - Date.now()));
  }

  /** The subscription ended another way (unsubscribe, server unsubscribe). */
  cancel(client: SessionClient, topic: string, isPrivate: boolean): void {
    const expiring = this.byClient.get(client);
    if (expiring === undefined) return;
    const entry = expiring.get(subscriptionKey(topic, isPrivate));
    if (entry !== undefined) this.cancelEntry(entry);
  }

  /** The connection closed (every one) or lost its login (`privateOnly`). */
  cancelAll(client: SessionClient, privateOnly = false): void {
    const expiring = this.byClient.get(client);
    if (expiring === undefined) return;
    for (const entry of [...expiring.values()]) if (!privateOnly || entry.isPrivate) this.cancelEntry(entry);
  }

  /** Stop the wheel (the session is closing). */
  clear(): void {
    this.wheel.clear();
  }

  private cancelEntry(entry: SubscriptionExpiry): void {
    this.wheel.cancel(entry);
    this.forget(entry);
  }

  private forget(entry: SubscriptionExpiry): void {
    const expiring = this.byClient.get(entry.client);
    if (expiring === undefined) return;
    expiring.delete(subscriptionKey(entry.topic, entry.isPrivate));
    if (expiring.size === 0) this.byClient.delete(entry.client);
  }
}
