import { ReplyCode } from '../codes.js';
import type { Reply } from './decode-inbound.js';
import { HeraldConnectionError, HeraldError, HeraldTimeoutError } from './errors.js';
import type { Link } from './link.js';
import { MAX_TIMER_MS, MIN_REFRESH_DELAY_MS, refreshAt, tokenTimes } from './refresh-schedule.js';
import type { HeraldClientOptions } from './types.js';
import { Op, type LoginWaiter } from './wire.js';

/** What the subscription side does when a login is answered. */
export interface LoginHooks {
  /** A login was answered (either way): the subscriptions that waited for it may go. */
  settled(): void;
  /** Logged in as another user than before: that user's private positions mean nothing here. */
  userChanged(): void;
  /** A login failed: the private subscriptions waiting for it are refused (kept for a later login). */
  refused(error: Error): void;
  report(error: Error): void;
}

/**
 * The login of a client (op 3): its credential, the login state of the open
 * connection, `login()` callers waiting for an answer, and the refresh
 * before expiry.
 *
 * With a token function the login is refreshed in place before the token
 * expires (see refresh-schedule.ts): at 85 % of its lifetime, from the
 * 20003 reply's `detail.expiresAt` when the server sends one, else from the
 * JWT's own `exp` (decoded, not verified). The server keeps the connection's
 * subscriptions across a login as the same user, so nothing is dropped or
 * resent. A refresh that fails leaves the old login in place until it
 * expires; it is retried after half the remaining time (at least 1 s), and
 * the server's 30006 at expiry still leads to a fresh login.
 */
export class LoginFlow {
  credential: HeraldClientOptions['token'];
  /** Login state of the open connection. */
  session: 'out' | 'pending' | 'in' = 'out';
  /** The user last logged in as; private positions are dropped when it changes. */
  uid: string | undefined = undefined;
  /** Why the last login on this connection failed; cleared by the next attempt. */
  error: Error | undefined = undefined;
  /** Bumped by every login attempt and by logout: only the latest attempt's answer counts. */
  private seq = 0;
  private waiters: LoginWaiter[] = [];
  /** One refresh timer per client, for the open connection's login. */
  private refreshTimer: ReturnType<typeof setTimeout> | undefined = undefined;

  constructor(
    private readonly link: Link,
    private readonly hooks: LoginHooks,
    credential: HeraldClientOptions['token'],
  ) {
    this.credential = credential;
  }

  /** `login(token)` of the client: remember `token`, log in now when open, resolve with the answer. */
  login(token: string): Promise<{ uid: string }> {
    this.credential = token;
    const timeoutMs = this.link.options.requestTimeoutMs;
    const result = new Promise<{ uid: string }>((resolve, reject) => {
      const waiter: LoginWaiter = { resolve, reject, timer: undefined as unknown as ReturnType<typeof setTimeout> };
      waiter.timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(new HeraldTimeoutError('login', timeoutMs));
      }, timeoutMs);
      this.waiters.push(waiter);
    });
    if (this.link.isOpen) this.logIn();
    return result;
  }

  /**
   * The token for an HTTP stream request (the fallback): the credential,
   * called when it is a function; undefined without one. A token function
   * that fails counts as a failed login (reported; the stream goes without).
   */
  streamToken(): Promise<string | undefined> {
    const credential = this.credential;
    if (credential === undefined) return Promise.resolve(undefined);
    const seq = ++this.seq;
    return Promise.resolve()
      .then(() => (typeof credential === 'function' ? credential() : credential))
      .then(
        (token: unknown) => {
          if (typeof token === 'string') return token;
          this.failed(seq, new TypeError('the token function must return a string'), undefined);
          return undefined;
        },
        (error: unknown) => {
          this.failed(seq, new Error('the token function failed', { cause: error }), undefined);
          return undefined;
        },
      );
  }

  /**
   * The login reply of an HTTP stream request, for `token`: as op 3's answer
   * on a WebSocket, except that no refresh is scheduled — a stream cannot log
   * in again in place; at the login's expiry the server's 30006 makes the
   * client reopen the stream with a fresh token.
   */
  streamAnswered(reply: Reply, token: string): void {
    const seq = ++this.seq;
    if (reply.code === ReplyCode.LoggedIn) {
      this.loggedIn(reply, token, Date.now());
      this.clearRefresh();
      return;
    }
    this.failed(seq, new HeraldError(reply.code, reply.detail), undefined);
  }

  /** Forget the credential and the user (logout); returns whether the connection was logged in (or logging in). */
  forget(): boolean {
    this.credential = undefined;
    this.seq++;
    this.uid = undefined;
    this.clearRefresh();
    this.rejectWaiters(new Error('logout() was called before the login completed'));
    const was = this.session !== 'out';
    this.session = 'out';
    return was;
  }

  /** The connection is gone: its login with it. */
  dropped(): void {
    this.session = 'out';
    this.clearRefresh();
  }

  /**
   * Send op 3 with the current credential (calling it when it is a function).
   * `refresh`: the connection is logged in and stays so while the new token
   * is checked (its subscriptions go on being sent).
   */
  logIn(refresh?: { expiresAt: number }): void {
    const credential = this.credential;
    if (credential === undefined) return;
    const seq = ++this.seq;
    const generation = this.link.generation;
    if (refresh === undefined) this.session = 'pending';
    this.error = undefined;
    let token: string | Promise<string>;
    try {
      token = typeof credential === 'function' ? credential() : credential;
    } catch (error) {
      return this.failed(seq, new Error('the token function threw', { cause: error }), refresh);
    }
    if (typeof token === 'string') return this.sendLogin(seq, generation, token, refresh);
    Promise.resolve(token).then(
      (value) => this.sendLogin(seq, generation, value, refresh),
      (error: unknown) => this.failed(seq, new Error('the token function rejected', { cause: error }), refresh),
    );
  }

  private sendLogin(seq: number, generation: number, token: unknown, refresh: { expiresAt: number } | undefined): void {
    if (seq !== this.seq || generation !== this.link.generation) return;
    if (typeof token !== 'string') return this.failed(seq, new TypeError('the token function must return a string'), refresh);
    const sentAt = Date.now();
    this.link.send('login', { code: Op.Login, data: token }, (error, reply) => {
      // A lost connection: the next one logs in again.
      if (seq !== this.seq || error instanceof HeraldConnectionError) return;
      if (error === undefined) return this.loggedIn(reply as Reply, token, sentAt);
      this.failed(seq, error, refresh);
      // No answer (e.g. a slow auth service): try again on this connection (a refresh retries on its own schedule).
      if (refresh === undefined && error instanceof HeraldTimeoutError && seq === this.seq && generation === this.link.generation) {
        this.logIn();
      }
    });
  }

  private loggedIn(reply: Reply, token: string, sentAt: number): void {
    const detail = reply.detail as { uid?: unknown; expiresAt?: unknown } | undefined;
    const uid = typeof detail?.uid === 'string' ? detail.uid : '';
    const sameUser = uid === this.uid;
    this.uid = uid;
    this.session = 'in';
    for (const waiter of this.waiters.splice(0)) {
      clearTimeout(waiter.timer);
      waiter.resolve({ uid });
    }
    if (!sameUser) this.hooks.userChanged();
    const times = tokenTimes(token);
    const expiresAt = typeof detail?.expiresAt === 'number' ? detail.expiresAt : times.expiresAt;
    const due = expiresAt === undefined ? undefined : refreshAt(expiresAt, Math.min(times.issuedAt ?? sentAt, sentAt));
    if (due !== undefined) this.scheduleRefresh(due, expiresAt as number);
    else this.clearRefresh();
    this.hooks.settled();
  }

  private failed(seq: number, error: Error, refresh: { expiresAt: number } | undefined): void {
    if (seq !== this.seq) return;
    if (refresh !== undefined) {
      // The server keeps the old login until it expires: try again after half the time left.
      this.hooks.report(new Error('refreshing the login failed; the current login stays until it expires', { cause: error }));
      const left = refresh.expiresAt - Date.now();
      if (left > MIN_REFRESH_DELAY_MS) this.scheduleRefresh(Date.now() + Math.max(left / 2, MIN_REFRESH_DELAY_MS), refresh.expiresAt);
      return;
    }
    if (this.session === 'pending') this.session = 'out';
    this.error = error;
    this.rejectWaiters(error);
    // Said even when login() was awaited: the private subscriptions waited for this login too.
    this.hooks.refused(error);
    this.hooks.settled();
  }

  /** Refresh the login at `due` (ms since the epoch), if a token function can give a new token. */
  private scheduleRefresh(due: number, expiresAt: number): void {
    this.clearRefresh();
    if (typeof this.credential !== 'function') return;
    const generation = this.link.generation;
    const delay = Math.min(Math.max(due - Date.now(), MIN_REFRESH_DELAY_MS), MAX_TIMER_MS);
    this.refreshTimer = setTimeout(() => {
      this.refreshTimer = undefined;
      if (generation !== this.link.generation || this.session !== 'in') return;
      // A delay clamped to setTimeout's limit fires early: wait the rest.
      if (Date.now() < due - MIN_REFRESH_DELAY_MS) return this.scheduleRefresh(due, expiresAt);
      this.logIn({ expiresAt });
    }, delay);
  }

  clearRefresh(): void {
    if (this.refreshTimer === undefined) return;
    clearTimeout(this.refreshTimer);
    this.refreshTimer = undefined;
  }

  /** Whether a refresh is scheduled (tests, and `close()`'s cleanup). */
  get refreshScheduled(): boolean {
    return this.refreshTimer !== undefined;
  }

  /** Why a private subscription cannot be sent on this connection: no credential, or its login failed; undefined if one may still come. */
  missing(): Error | undefined {
    if (this.credential === undefined) {
      return new HeraldError(ReplyCode.NotLoggedIn, 'a private subscription needs a login: pass options.token or call login()');
    }
    return this.error;
  }

  /** 30006, unprompted: the server dropped the login. A token function is asked for a new token. */
  expired(): void {
    this.session = 'out';
    this.clearRefresh();
    if (typeof this.credential === 'function' && this.link.isOpen) this.logIn();
  }

  rejectWaiters(error: Error): void {
    for (const waiter of this.waiters.splice(0)) {
      clearTimeout(waiter.timer);
      waiter.reject(error);
    }
  }
}
