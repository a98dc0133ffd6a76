import { ReplyCode } from '../codes.js';
import { HeraldConnectionError } from './errors.js';
import type { StreamPosition } from './types.js';

/** The subprotocol of Herald's own protocol (PROTOCOL.md, "Herald protocol herald.v1"). */
export const HERALD_V1 = 'herald.v1';

/**
 * `since` for a stream the client holds no position for yet. No engine draws
 * this epoch (theirs are base64url, 8+ characters), so the server answers
 * `recovered: false` with the stream's current position and the subscription
 * is live from now (PROTOCOL.md, Resume) — the client learns a position at
 * once, so a drop before the first delivery is resumed without loss too.
 */
export const FIRST_SINCE: StreamPosition = { seq: 0, epoch: '?' };

/** Client ops (PROTOCOL.md, "Client → server" and "Presence and join/leave"). */
export const Op = {
  Subscribe: 1,
  Unsubscribe: 2,
  Login: 3,
  Logout: 4,
  SubscribePrivate: 5,
  UnsubscribePrivate: 6,
  Presence: 7,
  PresenceStats: 8,
  /** Client-side publish (herald.v1, where the topic's namespace allows it): answered 20009. */
  Publish: 9,
} as const;

/**
 * Unprompted replies (no `id`) telling of a subscription changed by the
 * backend through the server API (PROTOCOL.md): 20005 subscribed by server,
 * 20006 unsubscribed by server, each with `topic` and `private`.
 */
export const SERVER_SUBSCRIBED = ReplyCode.ServerSubscribed;
export const SERVER_UNSUBSCRIBED = ReplyCode.ServerUnsubscribed;

/** A `login()` call waiting for the login's answer. */
export interface LoginWaiter {
  resolve(value: { uid: string }): void;
  reject(error: Error): void;
  timer: ReturnType<typeof setTimeout>;
}

export const noop = (): void => {};

export function safeClose(socket: { close(code?: number, reason?: string): void }, code: number, reason: string): void {
  try {
    socket.close(code, reason);
  } catch {
    // Already closing.
  }
}

export function ignoreConnectionLoss(error: unknown): void {
  // The connection is gone, and with it the server's state this call would have undone.
  if (error instanceof HeraldConnectionError) return;
  throw error;
}
