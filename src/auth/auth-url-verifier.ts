import { AuthError, AuthFailure, type LoginIdentity, type LoginVerifier } from './login-verifier.js';

/** Options of an {@link AuthUrlVerifier}. Times in milliseconds, sizes in bytes. */
export interface AuthUrlVerifierOptions {
  /** The auth service endpoint, `http:` or `https:` (gpush's `authUrl`). */
  url: string | URL;
  /**
   * Deadline for one `verify` call, in ms, counted from the call: time spent
   * queued for a request slot counts too, so a backlog sheds load instead of
   * answering logins nobody waits for. Default 3000.
   */
  timeoutMs?: number;
  /** Largest reply body read, in bytes; a larger reply is refused (`invalid`) and its connection dropped. Default 64 KiB. */
  maxResponseBytes?: number;
  /** Requests in flight at once; default 256. Protects the auth service from a reconnect storm. */
  maxConcurrent?: number;
  /** Calls waiting for a request slot beyond `maxConcurrent` (0: none wait); more reject at once with `unavailable`. Default 10,000. */
  maxQueue?: number;
  /** Extra request headers (e.g. a service token). `Content-Type` is always `application/json`; `Accept` defaults to it. */
  headers?: Readonly<Record<string, string>>;
}

/** Abort reasons, told apart by identity. */
const TIMED_OUT = Symbol('timed out');
const CLOSED = Symbol('closed');

/** Longest piece of the service's `msg` quoted in an error message, in characters. */
const MAX_QUOTED = 200;

/** A call waiting for a request slot. */
interface Waiter {
  resolve(): void;
  signal: AbortSignal;
  /** Leaves the queue and rejects with the abort reason (deadline or close). */
  onAbort(): void;
}

/**
 * gpush's login mode: `POST <url>` with the JSON body `{"token": <credential>}`
 * and accept the login iff the reply is HTTP 2xx JSON with `code` 0 (the number
 * or the string `"0"`, as gpush's int32 cast accepts) and a user id at
 * `data.user_info.uid`: a non-empty string, or a safe integer (converted to its
 * decimal string; larger numbers have already lost precision in JSON and could
 * name another user, so they are refused). Stricter than gpush's cast on
 * purpose: a reply without `code` (which the cast reads as 0) is refused, and
 * so is `code` of any type but number or string. The reply's Content-Type is
 * not checked, as gpush does not check it; its body must parse as JSON.
 *
 * Unlike gpush (§1.6 item 6), no reply can crash it and it never blocks the
 * caller: every call is asynchronous, bounded in time (`timeoutMs`), size
 * (`maxResponseBytes`) and concurrency (`maxConcurrent` + `maxQueue`).
 *
 * Outcomes: a refusal (`code` ≠ 0, missing uid, HTTP 4xx/3xx — redirects are
 * not followed) or a malformed reply → `invalid`; HTTP 5xx or 429, a network
 * failure (refused, DNS, reset), a full queue or a closed verifier →
 * `unavailable`; no answer in time → `timeout`.
 */
export class AuthUrlVerifier implements LoginVerifier {
  readonly #url: URL;
  readonly #headers: Headers;
  readonly #timeoutMs: number;
  readonly #maxResponseBytes: number;
  readonly #maxConcurrent: number;
  readonly #maxQueue: number;
  /** Calls waiting for a slot, oldest first (a Set keeps insertion order and deletes in O(1)). */
  readonly #waiters = new Set<Waiter>();
  /** Every unfinished call's controller, so close() can abort them. */
  readonly #controllers = new Set<AbortController>();
  #inFlight = 0;
  #closed = false;

  /** Throws a TypeError or RangeError on a bad URL or a non-positive limit. */
  constructor(options: AuthUrlVerifierOptions) {
    this.#url = parseUrl(options.url);
    this.#timeoutMs = positiveInt('timeoutMs', options.timeoutMs, 3000);
    this.#maxResponseBytes = positiveInt('maxResponseBytes', options.maxResponseBytes, 64 * 1024);
    this.#maxConcurrent = positiveInt('maxConcurrent', options.maxConcurrent, 256);
    this.#maxQueue = nonNegativeInt('maxQueue', options.maxQueue, 10_000);
    this.#headers = buildHeaders(options.headers);
  }

  /** Requests currently in flight (at most `maxConcurrent`). */
  get inFlight(): number {
    return this.#inFlight;
  }

  /** Calls currently waiting for a request slot (at most `maxQueue`). */
  get queued(): number {
    return this.#waiters.size;
  }

  /** Ask the auth service about `credential`; see the class description for the outcomes. */
  async verify(credential: unknown): Promise<LoginIdentity> {
    if (this.#closed) throw new AuthError(AuthFailure.Unavailable, 'auth URL verifier is closed');
    const body = encodeBody(credential);
    const controller = new AbortController();
    const timer = setTimeout(abortTimedOut, this.#timeoutMs, controller);
    this.#controllers.add(controller);
    try {
      await this.#acquire(controller.signal);
      try {
        return await this.#request(body, controller);
      } finally {
        this.#release();
      }
    } catch (err) {
      throw this.#toAuthError(err, controller.signal);
    } finally {
      clearTimeout(timer);
      this.#controllers.delete(controller);
    }
  }

  /** Reject every pending and future call with `unavailable`. Idempotent. */
  close(): void {
    this.#closed = true;
    for (const controller of this.#controllers) controller.abort(CLOSED);
  }

  /** Wait for a request slot, FIFO; rejects with the signal's reason or when the queue is full. */
  #acquire(signal: AbortSignal): Promise<void> {
    if (this.#inFlight < this.#maxConcurrent) {
      this.#inFlight++;
      return Promise.resolve();
    }
    if (this.#waiters.size >= this.#maxQueue) {
      return Promise.reject(
        new AuthError(AuthFailure.Unavailable, `auth service saturated: ${this.#maxConcurrent} requests in flight and ${this.#maxQueue} queued`),
      );
    }
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = {
        resolve,
        signal,
        onAbort: () => {
          this.#waiters.delete(waiter);
          reject(signal.reason);
        },
      };
      this.#waiters.add(waiter);
      signal.addEventListener('abort', waiter.onAbort, { once: true });
    });
  }

  /** Hand the slot to the oldest waiter, or free it. */
  #release(): void {
    const next = this.#waiters.values().next();
    if (next.done) {
      this.#inFlight--;
      return;
    }
    const waiter = next.value;
    this.#waiters.delete(waiter);
    waiter.signal.removeEventListener('abort', waiter.onAbort);
    waiter.resolve();
  }

  async #request(body: string, controller: AbortController): Promise<LoginIdentity> {
    const { signal } = controller;
    const res = await fetch(this.#url, { method: 'POST', headers: this.#headers, body, signal, redirect: 'manual' });
    if (res.status < 200 || res.status > 299) {
      res.body?.cancel().catch(ignore);
      throw statusError(res.status);
    }
    const declared = Number(res.headers.get('content-length') ?? NaN);
    if (declared > this.#maxResponseBytes) {
      const err = tooLarge(this.#maxResponseBytes);
      controller.abort(err);
      throw err;
    }
    const text = await readBody(res, this.#maxResponseBytes, controller);
    return parseReply(text);
  }

  /** Classify any failure of a call; AuthErrors pass through. */
  #toAuthError(err: unknown, signal: AbortSignal): AuthError {
    if (err instanceof AuthError) return err;
    if (signal.aborted && signal.reason === TIMED_OUT) {
      return new AuthError(AuthFailure.Timeout, `auth service did not answer within ${this.#timeoutMs} ms`, { cause: err });
    }
    if (signal.aborted && signal.reason === CLOSED) {
      return new AuthError(AuthFailure.Unavailable, 'auth URL verifier closed during the request', { cause: err });
    }
    return new AuthError(AuthFailure.Unavailable, `auth service unreachable: ${describeNetworkError(err)}`, { cause: err });
  }
}

function abortTimedOut(controller: AbortController): void {
  controller.abort(TIMED_OUT);
}

function ignore(): void {}

/** gpush's body `{"token": <data>}`; a missing credential is sent as `null`, as Go's encoder would. */
function encodeBody(credential: unknown): string {
  try {
    const body = JSON.stringify({ token: credential === undefined ? null : credential });
    if (body === undefined) throw new TypeError('not serialisable');
    return body;
  } catch (cause) {
    throw new AuthError(AuthFailure.Invalid, 'login credential cannot be encoded as JSON', { cause });
  }
}

/** Read at most `max` bytes of the body, incrementally; beyond that, drop the connection and refuse. */
async function readBody(res: Response, max: number, controller: AbortController): Promise<string> {
  if (res.body === null) return '';
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > max) {
      const err = tooLarge(max);
      reader.cancel(err).catch(ignore);
      controller.abort(err);
      throw err;
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks, total).toString('utf8');
}

function tooLarge(max: number): AuthError {
  return new AuthError(AuthFailure.Invalid, `auth service answered malformed data: reply larger than ${max} bytes`);
}

/** 5xx and 429 mean the service is failing or overloaded, not that the token is bad. */
function statusError(status: number): AuthError {
  if (status >= 500 || status === 429) {
    return new AuthError(AuthFailure.Unavailable, `auth service failed with HTTP ${status}`);
  }
  const hint = status >= 300 && status < 400 ? ' (redirects are not followed; configure the final URL)' : '';
  return new AuthError(AuthFailure.Invalid, `auth service refused the login with HTTP ${status}${hint}`);
}

function malformed(detail: string): AuthError {
  return new AuthError(AuthFailure.Invalid, `auth service answered malformed data: ${detail}`);
}

/**
 * Validate gpush's reply shape `{"code": 0, "data": {"user_info": {"uid": "..."}}}`
 * without trusting any type in it (gpush's unchecked assertions panic here).
 */
function parseReply(text: string): LoginIdentity {
  let reply: unknown;
  try {
    reply = JSON.parse(text);
  } catch {
    throw malformed('not JSON');
  }
  if (!isRecord(reply)) throw malformed('reply is not a JSON object');
  const { code } = reply;
  if (typeof code !== 'number' && typeof code !== 'string') throw malformed('"code" is missing or not a number');
  if (code !== 0 && code !== '0') {
    if (typeof code === 'string' && !/^-?\d+$/.test(code)) throw malformed('"code" is not an integer');
    throw new AuthError(AuthFailure.Invalid, `auth service refused the token (code ${quote(code)}${messageOf(reply)})`);
  }
  const data = reply.data;
  const userInfo = isRecord(data) ? data.user_info : undefined;
  const uid = isRecord(userInfo) ? userInfo.uid : undefined;
  if (typeof uid === 'string' && uid.length > 0) return { uid };
  if (typeof uid === 'number' && Number.isSafeInteger(uid)) return { uid: String(uid) };
  if (uid === undefined || uid === null || uid === '') throw new AuthError(AuthFailure.Invalid, 'auth service accepted the token but gave no data.user_info.uid');
  throw malformed('data.user_info.uid is neither a string nor a safe integer');
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** `: <msg>` from the reply, if it has a string `msg` or `message`, shortened. */
function messageOf(reply: Record<string, unknown>): string {
  const msg = typeof reply.msg === 'string' ? reply.msg : reply.message;
  return typeof msg === 'string' ? `: ${quote(msg)}` : '';
}

function quote(value: string | number): string {
  const text = String(value);
  return text.length > MAX_QUOTED ? `${text.slice(0, MAX_QUOTED)}…` : text;
}

/** The most specific code in a fetch failure's cause chain (ECONNREFUSED, ENOTFOUND, UND_ERR_SOCKET...). */
function describeNetworkError(err: unknown): string {
  let current: unknown = err;
  for (let depth = 0; depth < 4 && current instanceof Error; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string') return `${code} (${current.message})`;
    current = current.cause;
  }
  return err instanceof Error ? err.message : String(err);
}

/** Validate the extra headers now (fetch would only complain per request); force the JSON content type. */
function buildHeaders(extra: Readonly<Record<string, string>> | undefined): Headers {
  let headers: Headers;
  try {
    headers = new Headers(extra);
  } catch (cause) {
    throw new TypeError(`AuthUrlVerifier: invalid headers (${(cause as Error).message})`, { cause });
  }
  headers.set('content-type', 'application/json');
  if (!headers.has('accept')) headers.set('accept', 'application/json');
  return headers;
}

function parseUrl(url: string | URL): URL {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch (cause) {
    throw new TypeError(`AuthUrlVerifier: url ${JSON.stringify(String(url))} is not a valid URL`, { cause });
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new TypeError(`AuthUrlVerifier: url must be http: or https:, got ${parsed.protocol}`);
  }
  return parsed;
}

function positiveInt(name: string, value: number | undefined, fallback: number): number {
  const v = value ?? fallback;
  if (!Number.isSafeInteger(v) || v <= 0) throw new RangeError(`AuthUrlVerifier: ${name} must be a positive integer`);
  return v;
}

function nonNegativeInt(name: string, value: number | undefined, fallback: number): number {
  const v = value ?? fallback;
  if (!Number.isSafeInteger(v) || v < 0) throw new RangeError(`AuthUrlVerifier: ${name} must be an integer >= 0`);
  return v;
}
