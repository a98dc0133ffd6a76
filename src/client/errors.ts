import { REPLY_MESSAGES, type ReplyCode } from '../codes.js';

/** The server refused a command (or ended a subscription, 30009): `code` is the reply code (30001–30009, see codes.ts), `detail` its detail (the reason, e.g. a publish refused 30008 "publish not allowed"). */
export class HeraldError extends Error {
  override readonly name = 'HeraldError';
  constructor(
    readonly code: ReplyCode | number,
    readonly detail?: unknown,
  ) {
    const known = (REPLY_MESSAGES as Record<number, string | undefined>)[code];
    const suffix = detail === undefined ? '' : `: ${typeof detail === 'string' ? detail : JSON.stringify(detail)}`;
    super(`${known ?? 'error'} (${code})${suffix}`);
  }
}

/** A request got no reply within `requestTimeoutMs`. */
export class HeraldTimeoutError extends Error {
  override readonly name = 'HeraldTimeoutError';
  constructor(
    readonly operation: string,
    readonly timeoutMs: number,
  ) {
    super(`${operation}: no reply within ${timeoutMs} ms`);
  }
}

/**
 * The connection ended: a request was in flight when it dropped, the server
 * closed with a terminal code, reconnecting gave up, or the client was closed.
 * `closeCode` is the WebSocket close code when there was one.
 */
export class HeraldConnectionError extends Error {
  override readonly name = 'HeraldConnectionError';
  constructor(
    message: string,
    readonly closeCode?: number,
    readonly reason?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
