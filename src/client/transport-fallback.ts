import type { FallbackOptions, FetchLike, WebSocketLike } from './types.js';
import { noop, safeClose } from './wire.js';

/** {@link FallbackOptions} with every default applied; undefined in the client when the fallback is off. */
export interface ResolvedFallbackOptions {
  afterFailures: number;
  url: string;
  retryWebSocketMs: number;
  retryWebSocketMaxMs: number;
  fetch: FetchLike;
}

export const FALLBACK_DEFAULTS = {
  afterFailures: 3,
  retryWebSocketMs: 60_000,
  retryWebSocketMaxMs: 600_000,
} as const;

/**
 * Check the `fallback` option. Undefined (fallback off) for `false`, for the
 * gpush protocol (the stream speaks herald.v1), and when no `fetch` exists
 * and none is given; misuse throws TypeError/RangeError.
 */
export function resolveFallbackOptions(
  option: FallbackOptions | false | undefined,
  wsUrl: string,
  enveloped: boolean,
): ResolvedFallbackOptions | undefined {
  if (option === false || !enveloped) return undefined;
  if (option !== undefined && (typeof option !== 'object' || option === null)) throw new TypeError('options.fallback must be an object or false');
  const given = option ?? {};
  if (given.fetch !== undefined && typeof given.fetch !== 'function') throw new TypeError('options.fallback.fetch must be a function');
  if (given.url !== undefined && (typeof given.url !== 'string' || !/^https?:\/\//i.test(given.url))) {
    throw new TypeError('options.fallback.url must be an http:// or https:// URL');
  }
  const afterFailures = positive('afterFailures', given.afterFailures ?? FALLBACK_DEFAULTS.afterFailures, true);
  const retryWebSocketMs = positive('retryWebSocketMs', given.retryWebSocketMs ?? FALLBACK_DEFAULTS.retryWebSocketMs);
  const retryWebSocketMaxMs = positive('retryWebSocketMaxMs', given.retryWebSocketMaxMs ?? FALLBACK_DEFAULTS.retryWebSocketMaxMs);
  const globalFetch = (globalThis as { fetch?: unknown }).fetch;
  const fetchImpl = given.fetch ?? (typeof globalFetch === 'function' ? (globalFetch.bind(globalThis) as FetchLike) : undefined);
  if (fetchImpl === undefined) return undefined;
  const url = given.url ?? streamUrlOf(wsUrl);
  if (url === undefined) return undefined;
  return { afterFailures, url, retryWebSocketMs, retryWebSocketMaxMs: Math.max(retryWebSocketMaxMs, retryWebSocketMs), fetch: fetchImpl };
}

/** `ws://host:port/any/path` → `http://host:port/v1/stream` (wss → https); undefined for another scheme or a malformed URL. */
export function streamUrlOf(wsUrl: string): string | undefined {
  const match = /^(wss?):\/\/([^/?#]+)/i.exec(wsUrl);
  if (match === null) return undefined;
  return `${match[1].toLowerCase() === 'wss' ? 'https' : 'http'}://${match[2]}/v1/stream`;
}

function positive(name: string, value: number, allowInfinity = false): number {
  if (typeof value !== 'number' || Number.isNaN(value) || (!allowInfinity && !Number.isFinite(value))) {
    throw new TypeError(`options.fallback.${name} must be a ${allowInfinity ? '' : 'finite '}number`);
  }
  if (value < 1) throw new RangeError(`options.fallback.${name} must be at least 1`);
  return value;
}

/**
 * When the client leaves WebSocket for the HTTP stream, and when it tries a
 * WebSocket again. Pure counting: the client owns the sockets and timers.
 *
 * Only upgrades that never opened count: a connection that opened and later
 * dropped proves WebSocket works on this path, so it restarts the count.
 */
export class TransportFallback {
  private failedUpgrades = 0;
  private failedTries = 0;

  constructor(readonly options: ResolvedFallbackOptions | undefined) {}

  /**
   * The counts restart: a WebSocket opened, or not even the stream reached the
   * server (the failures so far said nothing about WebSocket).
   */
  restartCounts(): void {
    this.failedUpgrades = 0;
    this.failedTries = 0;
  }

  /** A WebSocket closed before opening; true when it is time to fall back to the stream. */
  upgradeFailed(): boolean {
    if (this.options === undefined) return false;
    this.failedUpgrades++;
    return this.failedUpgrades >= this.options.afterFailures;
  }

  /** How long to stay on the stream before the next WebSocket try, in ms: doubling per failed try, up to the maximum. */
  nextTryDelay(): number {
    const options = this.options as ResolvedFallbackOptions;
    return Math.min(options.retryWebSocketMs * 2 ** Math.min(this.failedTries, 30), options.retryWebSocketMaxMs);
  }

  /** A WebSocket try from the stream failed. */
  tryFailed(): void {
    this.failedTries++;
  }

  /** Consecutive failed upgrades so far (tests, diagnostics). */
  get failures(): number {
    return this.failedUpgrades;
  }
}

/**
 * While on the stream: WebSocket tries beside it, at the delays of the
 * {@link TransportFallback}. The first socket that opens is handed to
 * `opened` (which takes it over: its handlers are the client's from then on);
 * one that closes first counts as a failed try and the next is planned.
 */
export class WebSocketTries {
  private timer: ReturnType<typeof setTimeout> | undefined = undefined;
  private socket: WebSocketLike | null = null;

  constructor(
    private readonly policy: TransportFallback,
    private readonly open: () => WebSocketLike,
    private readonly opened: (socket: WebSocketLike) => void,
  ) {}

  /** Plan the next try (replacing any planned). */
  schedule(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.attempt();
    }, this.policy.nextTryDelay());
  }

  /** No more tries: the planned one is cancelled, the one under way closed. */
  stop(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    const socket = this.socket;
    this.socket = null;
    if (socket === null) return;
    socket.onopen = socket.onmessage = socket.onclose = socket.onerror = noop;
    safeClose(socket, 1000, 'not needed');
  }

  private attempt(): void {
    let socket: WebSocketLike;
    try {
      socket = this.open();
    } catch {
      this.policy.tryFailed();
      return this.schedule();
    }
    socket.binaryType = 'arraybuffer';
    this.socket = socket;
    socket.onmessage = socket.onerror = noop;
    socket.onopen = () => {
      if (this.socket !== socket) return;
      this.socket = null;
      this.opened(socket);
    };
    socket.onclose = () => {
      if (this.socket !== socket) return;
      this.socket = null;
      this.policy.tryFailed();
      this.schedule();
    };
  }
}
