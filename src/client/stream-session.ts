import { ReplyCode } from '../codes.js';
import { decodeInbound, type Inbound, type Reply } from './decode-inbound.js';
import { HeraldError } from './errors.js';
import type { LoginFlow } from './login-flow.js';
import type { StreamState } from './stream-state.js';
import { StreamLink } from './stream-link.js';
import type { StreamEntry, SubscriptionBook } from './subscription-book.js';
import type { ResolvedFallbackOptions } from './transport-fallback.js';

/** The answers to a login (op 3): logged in, refused, or too many commands. */
const LOGIN_ANSWERS: ReadonlySet<number> = new Set([ReplyCode.LoggedIn, ReplyCode.AuthFailed, ReplyCode.BadRequest]);

/** Unprompted replies (PROTOCOL.md): never a subscription's answer. */
const UNPROMPTED: ReadonlySet<number> = new Set([ReplyCode.ServerSubscribed, ReplyCode.ServerUnsubscribed, ReplyCode.SessionExpired, ReplyCode.SubscriptionExpired]);

/** What a {@link StreamSession} tells the client. */
export interface StreamSessionHooks {
  /** The server answered 200: the stream is live. */
  opened(): void;
  /** No request was made: there is no subscription to ask for (the server needs one). */
  idle(): void;
  /** Any line arrived (a keep-alive too): the stream is alive. */
  alive(): void;
  /** A line for the client's ordinary handling: deliveries, join/leave, unprompted replies. */
  inbound(inbound: Inbound): void;
  /**
   * The stream ended by itself: `code` from the server's close line, else
   * 1006 (broken, or the body ended without one); `status` the HTTP status
   * when the request was refused before the stream started (0 otherwise).
   */
  ended(code: number, reason: string, status: number, error: Error | undefined): void;
}

/**
 * One `POST /v1/stream` session of the client's fallback: the request body
 * built from the subscription book (every stream with its position as
 * `since`, so nothing is lost across sessions) and the login credential, then
 * its lines matched up — the login reply first when a token was sent, then
 * one reply per subscription (each with its `topic`), then
 * deliveries and notices as on a herald.v1 WebSocket, and a close line.
 */
export class StreamSession {
  private link: StreamLink | undefined;
  private stopped = false;
  /** The subscriptions whose reply has not come yet, in request order. */
  private readonly awaiting: { entry: StreamEntry; stream: StreamState }[] = [];
  /** The token sent, while its login reply has not come. */
  private loginToken: string | undefined;

  constructor(
    private readonly options: ResolvedFallbackOptions,
    private readonly book: SubscriptionBook,
    private readonly login: LoginFlow,
    private readonly generation: () => number,
    private readonly hooks: StreamSessionHooks,
  ) {}

  /** Resolve the credential (a token function may be async), then send the request. */
  start(): void {
    const generation = this.generation();
    this.login.streamToken().then((token) => {
      if (this.stopped || generation !== this.generation()) return;
      const entries = this.book.streamEntries(token !== undefined);
      if (entries.length === 0) return this.hooks.idle();
      const body: { token?: string; subscriptions: StreamEntry['wire'][] } = { subscriptions: entries.map((e) => e.wire) };
      if (token !== undefined) {
        body.token = token;
        this.loginToken = token;
        this.login.session = 'pending';
      }
      for (const entry of entries) this.awaiting.push({ entry, stream: entry.stream });
      this.link = new StreamLink(this.options.fetch, this.options.url, body, {
        open: () => this.hooks.opened(),
        line: (text) => this.line(text),
        end: (status, error, json) => this.end(status, error, json),
      });
    });
  }

  /** End the request from this side; no hook is called after this. */
  stop(): void {
    this.stopped = true;
    this.link?.abort();
  }

  private line(text: string): void {
    this.hooks.alive();
    if (text === '' || text === '\r') return;
    const inbound = decodeInbound(text, true);
    if (inbound === undefined) return;
    if (inbound.kind === 'reply' && this.replied(inbound.reply)) return;
    this.hooks.inbound(inbound);
  }

  /** A reply this session expects (close, login, a subscription's): handled here; false for the client's handling. */
  private replied(reply: Reply): boolean {
    if (reply.close === true) {
      this.stop();
      this.hooks.ended(reply.code, reply.message ?? '', 0, undefined);
      return true;
    }
    if (this.loginToken !== undefined && reply.topic === undefined && LOGIN_ANSWERS.has(reply.code)) {
      const token = this.loginToken;
      this.loginToken = undefined;
      this.login.streamAnswered(reply, token);
      return true;
    }
    const topic = reply.topic;
    if (topic === undefined || UNPROMPTED.has(reply.code)) return false;
    const error = reply.code >= 20000 && reply.code < 30000 ? undefined : new HeraldError(reply.code, reply.detail);
    const isPrivate = reply.private === true;
    // Matched by topic: a refusal checked at once (30004) may come before an earlier subscription's answer,
    // and may name a topic too long to echo in full, shortened.
    let index = this.awaiting.findIndex((a) => a.stream.topic === topic && a.stream.isPrivate === isPrivate);
    if (index === -1 && error !== undefined) index = this.awaiting.findIndex((a) => a.stream.topic.startsWith(topic) && a.stream.isPrivate === isPrivate);
    if (index === -1) return false;
    const [next] = this.awaiting.splice(index, 1);
    this.book.streamAnswered(next.entry, reply, error);
    return true;
  }

  private end(status: number, error: Error | undefined, json: unknown): void {
    if (this.stopped) return;
    this.stopped = true;
    const detail = (json as { error?: { code?: unknown; message?: unknown } } | undefined)?.error;
    const reason = typeof detail?.message === 'string' ? detail.message : status === 0 ? 'the stream ended' : `HTTP ${status}`;
    this.hooks.ended(1006, reason, status, error);
  }
}

/** Whether an HTTP refusal of the stream request may go away by itself (so retrying makes sense). */
export function isRetryableStatus(status: number): boolean {
  return status === 0 || status === 408 || status === 429 || status >= 500;
}
