import { createHmac } from 'node:crypto';
import { Agent as HttpAgent, request as httpRequest, type ClientRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import type { WebhookEvent } from './events.js';

/**
 * What a standalone {@link WebhookDispatcher} uses for the settings left out:
 * the option table's defaults of `--webhook-*`, kept here as plain values
 * like the gateway's WEBSOCKET_SERVER_DEFAULTS and checked equal by
 * test/config/node-defaults.test.ts. HeraldNode passes every one of them itself.
 */
export const WEBHOOK_DISPATCHER_DEFAULTS = {
  batchSize: 100,
  batchWaitMs: 100,
  maxQueuedEvents: 100_000,
  timeoutMs: 5_000,
  retryMinMs: 500,
  retryMaxMs: 30_000,
} as const;

/** Batching, retry and bound settings of one {@link WebhookDispatcher}; the CLI options of the same names. */
export interface DispatcherSettings {
  /** Most events per request (`--webhook-batch-size`); default 100. */
  batchSize?: number;
  /** How long the first queued event waits for a batch to fill (`--webhook-batch-wait`); default 100 ms. */
  batchWaitMs?: number;
  /** Events held per URL, in flight included (`--webhook-max-queued-events`); beyond, new ones are dropped; default 100,000. */
  maxQueuedEvents?: number;
  /** One request's budget, answer included (`--webhook-timeout`); default 5 s. */
  timeoutMs?: number;
  /** First retry delay, doubled per failed attempt (`--webhook-retry-min`); default 500 ms. */
  retryMinMs?: number;
  /** Retry delay cap (`--webhook-retry-max`); default 30 s. */
  retryMaxMs?: number;
}

/** What a dispatcher reports; every callback is optional. */
export interface DispatcherEvents {
  /** Events the receiver acknowledged (2xx). */
  onDelivered?(count: number): void;
  /** A request failed (status, timeout, connection); it will be retried. */
  onRequestFailed?(reason: string, attempt: number): void;
  /** Events dropped: the queue was full, or the node stopped before they could be sent. */
  onDropped?(count: number): void;
  /** The first drop of a burst (`started`), and its end with the burst's size. */
  onDropBurst?(state: 'started' | 'ended', dropped: number): void;
}

export interface DispatcherOptions extends DispatcherSettings {
  url: string;
  secret: string;
  events?: DispatcherEvents;
}

/** `sha256=<hex HMAC-SHA256 of body under secret>`, the X-Herald-Signature header value. */
export function signBody(body: string | Buffer, secret: string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

/**
 * Delivers events to one URL: batches of up to `batchSize` events (or what
 * arrived within `batchWaitMs` of the first), POSTed as `{"events":[…]}` and
 * signed. One request at a time (node:http, one kept-alive connection per
 * URL), so batches arrive in order; a failed batch
 * is retried (exponential backoff from `retryMinMs` to `retryMaxMs`) before
 * anything after it is sent, and may grow up to `batchSize` meanwhile.
 *
 * `enqueue` is the only call on the data path: a bounds check and an array
 * push, never an await. The queue holds at most `maxQueuedEvents` (the batch
 * in flight included); past it new events are dropped and counted — memory
 * stays bounded while a receiver is down, and nothing below the bound is lost.
 */
export class WebhookDispatcher {
  readonly url: string;
  private readonly secret: string;
  private readonly batchSize: number;
  private readonly batchWaitMs: number;
  private readonly maxQueued: number;
  private readonly timeoutMs: number;
  private readonly retryMinMs: number;
  private readonly retryMaxMs: number;
  private readonly events: DispatcherEvents;
  /** Queued events from `head` on; the first batch is the one in flight or awaiting retry. */
  private queue: WebhookEvent[] = [];
  private head = 0;
  private timer: NodeJS.Timeout | null = null;
  private sending = false;
  private attempt = 0;
  private burst = 0;
  private closing = false;
  private inFlight: ClientRequest | null = null;
  private readonly target: URL;
  /** Keep-alive: one connection per URL is reused from batch to batch. */
  private readonly httpAgent = new HttpAgent({ keepAlive: true, maxSockets: 1 });
  private readonly httpsAgent = new HttpsAgent({ keepAlive: true, maxSockets: 1 });
  /** Resolves `close()` once the queue is empty. */
  private drained: (() => void) | null = null;

  constructor(options: DispatcherOptions) {
    this.url = options.url;
    this.target = new URL(options.url);
    this.secret = options.secret;
    const defaults = WEBHOOK_DISPATCHER_DEFAULTS;
    this.batchSize = positive(options.batchSize ?? defaults.batchSize, 'batchSize');
    this.batchWaitMs = Math.max(0, options.batchWaitMs ?? defaults.batchWaitMs);
    this.maxQueued = positive(options.maxQueuedEvents ?? defaults.maxQueuedEvents, 'maxQueuedEvents');
    this.timeoutMs = positive(options.timeoutMs ?? defaults.timeoutMs, 'timeoutMs');
    this.retryMinMs = positive(options.retryMinMs ?? defaults.retryMinMs, 'retryMinMs');
    this.retryMaxMs = Math.max(this.retryMinMs, options.retryMaxMs ?? defaults.retryMaxMs);
    this.events = options.events ?? {};
  }

  /** Events waiting or in flight. */
  get queued(): number {
    return this.queue.length - this.head;
  }

  /** Queue one event (see the class comment); false when it was dropped. */
  enqueue(event: WebhookEvent): boolean {
    if (this.closing) {
      // Stopping: counted, not logged as a full queue.
      this.events.onDropped?.(1);
      return false;
    }
    if (this.queued >= this.maxQueued) {
      if (this.burst++ === 0) this.events.onDropBurst?.('started', 1);
      this.events.onDropped?.(1);
      return false;
    }
    if (this.burst > 0) this.endBurst();
    this.queue.push(event);
    if (this.sending) return true;
    if (this.timer === null) {
      // A full batch goes at once (next turn, so a burst of this turn joins it); else wait for more.
      this.schedule(this.queued >= this.batchSize ? 0 : this.batchWaitMs);
    } else if (this.queued === this.batchSize && this.attempt === 0) {
      // The batch filled before its wait ran out (a retry keeps its backoff).
      this.schedule(0);
    }
    return true;
  }

  /**
   * Stop taking events, send what is queued for up to `boundMs` (a batch
   * waiting for its retry is sent at once), then drop the rest (counted).
   */
  async close(boundMs: number): Promise<void> {
    this.closing = true;
    if (this.queued > 0) {
      if (!this.sending) {
        this.clearTimer();
        this.attempt = 0;
        this.send();
      }
      const done = new Promise<void>((resolve) => (this.drained = resolve));
      let bound: NodeJS.Timeout | undefined;
      await Promise.race([done, new Promise<void>((resolve) => (bound = setTimeout(resolve, boundMs)))]);
      clearTimeout(bound);
    }
    this.clearTimer();
    this.inFlight?.destroy(new Error('webhooks closed'));
    this.httpAgent.destroy();
    this.httpsAgent.destroy();
    const left = this.queued;
    this.queue = [];
    this.head = 0;
    if (left > 0) this.events.onDropped?.(left);
    if (this.burst > 0) this.endBurst();
  }

  private readonly send = (): void => {
    this.timer = null;
    if (this.queued === 0 || this.sending) return;
    this.sending = true;
    const batch = this.queue.slice(this.head, this.head + this.batchSize);
    this.post(batch).then(
      () => this.sent(batch.length),
      (error: unknown) => this.failed(error),
    );
  };

  private post(batch: WebhookEvent[]): Promise<void> {
    const body = Buffer.from(JSON.stringify({ events: batch }), 'utf8');
    const url = this.target;
    return new Promise<void>((resolve, reject) => {
      let response: IncomingMessage | undefined;
      /** A 2xx answer read to its end acknowledges the batch; anything else is a failure to retry. */
      const settle = (error?: Error): void => {
        if (error !== undefined) reject(error);
        else if (response === undefined || !response.complete) reject(new Error('connection closed before the answer'));
        else if (response.statusCode !== undefined && response.statusCode >= 200 && response.statusCode <= 299) resolve();
        else reject(new Error(`HTTP ${response.statusCode}`));
      };
      const request = (url.protocol === 'https:' ? httpsRequest : httpRequest)(
        url,
        {
          method: 'POST',
          agent: url.protocol === 'https:' ? this.httpsAgent : this.httpAgent,
          headers: {
            'content-type': 'application/json',
            'content-length': body.length,
            'x-herald-signature': signBody(body, this.secret),
          },
        },
        (answer) => {
          response = answer;
          // Read the answer to its end so the connection is reused.
          answer.resume();
          answer.once('end', () => settle());
          answer.once('error', settle);
        },
      );
      this.inFlight = request;
      const timer = setTimeout(() => request.destroy(new Error(`timeout after ${this.timeoutMs} ms`)), this.timeoutMs);
      request.once('error', settle);
      request.once('close', () => {
        clearTimeout(timer);
        this.inFlight = null;
        settle(); // a no-op once settled
      });
      request.end(body);
    });
  }

  private sent(count: number): void {
    this.sending = false;
    if (this.queue.length === 0) return; // dropped by close() meanwhile
    this.head += count;
    // Compact now and then rather than shifting the array per batch.
    if (this.head === this.queue.length) {
      this.queue = [];
      this.head = 0;
    } else if (this.head > 4096 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
    this.attempt = 0;
    this.events.onDelivered?.(count);
    // The next batch's first event may have waited during this request already: it counts.
    const waited = this.queued > 0 ? Date.now() - this.queue[this.head].time : 0;
    this.next(this.queued >= this.batchSize || this.closing ? 0 : Math.max(0, this.batchWaitMs - waited));
  }

  private failed(error: unknown): void {
    this.sending = false;
    if (this.queue.length === 0) return;
    this.attempt++;
    this.events.onRequestFailed?.(reasonOf(error), this.attempt);
    if (this.closing) {
      // No backoff while stopping: try again until the bound.
      this.next(Math.min(this.retryMinMs, 50));
      return;
    }
    const delay = Math.min(this.retryMaxMs, this.retryMinMs * 2 ** Math.min(this.attempt - 1, 30));
    // ±20 % jitter: nodes that lost the same receiver do not come back in step.
    this.next(Math.round(delay * (0.8 + Math.random() * 0.4)));
  }

  private next(delayMs: number): void {
    if (this.queued === 0) {
      this.drained?.();
      return;
    }
    this.schedule(delayMs);
  }

  private schedule(delayMs: number): void {
    this.clearTimer();
    // Unref'd: a pending batch or retry alone does not keep the process alive (stop() flushes).
    this.timer = setTimeout(this.send, delayMs).unref();
  }

  private endBurst(): void {
    this.events.onDropBurst?.('ended', this.burst);
    this.burst = 0;
  }

  private clearTimer(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }
}

function positive(value: number, name: string): number {
  if (!(value >= 1)) throw new RangeError(`${name} must be >= 1, got ${value}`);
  return value;
}

function reasonOf(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  return (error as NodeJS.ErrnoException).code ?? error.message;
}
