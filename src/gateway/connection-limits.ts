import { HandshakeError } from '../protocol/errors.js';

/** Limits applied to new TCP connections, before any byte of the upgrade is read. */
export interface ConnectionLimitOptions {
  /** Most connections at once (handshaking, open or closing); 503 beyond. Default: no limit. */
  maxConnections?: number;
  /** Most connections at once from one IP address; 429 beyond. Default: no limit. */
  maxConnectionsPerIp?: number;
  /** New connections per second one IP may open (token bucket, bursts up to the same number); 429 beyond. */
  newConnectionsPerSecondPerIp?: number;
}

interface IpState {
  open: number;
  tokens: number;
  /** ms timestamp of the last refill. */
  refilled: number;
}

/**
 * Admission control for new connections. Per-IP state exists only for
 * addresses with open connections or a recent burst, and is swept as it goes
 * quiet, so an attacker cycling addresses cannot grow it without bound for
 * long. All checks are O(1).
 */
export class ConnectionLimiter {
  private readonly options: ConnectionLimitOptions;
  private readonly perIp = new Map<string, IpState>();
  private sweepAt = 0;

  constructor(options: ConnectionLimitOptions) {
    this.options = options;
  }

  /** Whether per-IP accounting is on (the server then records each connection's address). */
  get tracksIps(): boolean {
    return this.options.maxConnectionsPerIp !== undefined || this.options.newConnectionsPerSecondPerIp !== undefined;
  }

  /**
   * Admit a connection from `ip` while `current` connections exist, or return
   * the rejection to send. On admission the IP's count is taken: call
   * `release(ip)` exactly once when that connection closes.
   */
  admit(ip: string | undefined, current: number, now = Date.now()): HandshakeError | undefined {
    const { maxConnections, maxConnectionsPerIp, newConnectionsPerSecondPerIp: rate } = this.options;
    if (maxConnections !== undefined && current >= maxConnections) {
      return new HandshakeError(503, 'TOO_MANY_CONNECTIONS', 'the server is at its connection limit; retry later', { 'Retry-After': '5' });
    }
    if (!this.tracksIps || ip === undefined) return undefined;
    this.maybeSweep(now);
    let state = this.perIp.get(ip);
    if (state === undefined) {
      state = { open: 0, tokens: rate ?? 0, refilled: now };
      this.perIp.set(ip, state);
    }
    if (maxConnectionsPerIp !== undefined && state.open >= maxConnectionsPerIp) {
      return new HandshakeError(429, 'TOO_MANY_CONNECTIONS_FROM_IP', `at most ${maxConnectionsPerIp} connections per address`);
    }
    if (rate !== undefined) {
      state.tokens = Math.min(rate, state.tokens + ((now - state.refilled) / 1000) * rate);
      state.refilled = now;
      if (state.tokens < 1) {
        return new HandshakeError(429, 'CONNECTING_TOO_FAST', `at most ${rate} new connections per second per address`, {
          'Retry-After': '1',
        });
      }
      state.tokens -= 1;
    }
    state.open++;
    return undefined;
  }

  /** The connection admitted for `ip` has closed. */
  release(ip: string | undefined): void {
    if (ip === undefined) return;
    const state = this.perIp.get(ip);
    if (state !== undefined && state.open > 0) state.open--;
  }

  /** Addresses currently tracked (for tests and metrics). */
  get trackedIps(): number {
    return this.perIp.size;
  }

  /** Every 10 s, forget addresses with no open connection whose bucket has refilled. */
  private maybeSweep(now: number): void {
    if (now < this.sweepAt) return;
    this.sweepAt = now + 10_000;
    const rate = this.options.newConnectionsPerSecondPerIp;
    for (const [ip, state] of this.perIp) {
      const full = rate === undefined || state.tokens + ((now - state.refilled) / 1000) * rate >= rate;
      if (state.open === 0 && full) this.perIp.delete(ip);
    }
  }
}

/**
 * Browser origin allow-list (RFC 6454 origins, compared case-insensitively).
 * Entries are exact origins (`https://app.example.com`), `*.` wildcards for
 * subdomains (`https://*.example.com`), or `*` for any. Requests without an
 * Origin header (non-browser clients) are not affected.
 *
 * An Origin is a serialized origin (RFC 6454 §6.2): `scheme://host[:port]`
 * and nothing else. It is parsed as a URL and must serialize back to itself,
 * so a path, query, fragment, userinfo, a second origin joined to it or
 * anything unparseable is refused — a wildcard then only ever compares host
 * labels: `https://evil.com/.example.com` and `https://evil.com?.example.com`
 * do not end in `.example.com` as hosts. The opaque origin `null` passes
 * only when listed exactly.
 */
export class OriginPolicy {
  private readonly exact = new Set<string>();
  private readonly suffixes: { scheme: string; suffix: string }[] = [];
  /** `*` is in the list: every origin may connect (and none is trusted with credentials). */
  readonly any: boolean;

  constructor(allowed: readonly string[]) {
    this.any = allowed.includes('*');
    for (const entry of allowed) {
      const lower = entry.toLowerCase().replace(/\/+$/, '');
      const wildcard = /^([a-z][a-z0-9+.-]*):\/\/\*\.(.+)$/.exec(lower);
      // The suffix keeps a port when the entry names one (`https://*.example.com:8443`): it is compared with host[:port].
      if (wildcard !== null) this.suffixes.push({ scheme: `${wildcard[1]}:`, suffix: `.${wildcard[2]}` });
      else this.exact.add(lower);
    }
  }

  allows(origin: string | undefined): boolean {
    if (origin === undefined || this.any) return true;
    const lower = origin.toLowerCase();
    if (lower === 'null') return this.exact.has(lower);
    const parsed = parseOrigin(lower);
    if (parsed === undefined) return false;
    if (this.exact.has(lower)) return true;
    return this.suffixes.some(({ scheme, suffix }) => parsed.protocol === scheme && parsed.host.endsWith(suffix) && parsed.host.length > suffix.length);
  }
}

/** `origin` as a URL when it is exactly a serialized origin `scheme://host[:port]`, else undefined. */
function parseOrigin(origin: string): URL | undefined {
  let url: URL;
  try {
    url = new URL(origin);
  } catch {
    return undefined;
  }
  // `host` is empty for schemes without an authority; the round trip refuses paths (even "/"), queries,
  // fragments, userinfo, default ports written out, whitespace and anything URL parsing rewrote.
  if (url.host === '' || `${url.protocol}//${url.host}` !== origin) return undefined;
  return url;
}
