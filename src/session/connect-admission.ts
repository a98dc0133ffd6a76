import type { UpgradeRequest } from '../protocol/upgrade-request.js';
import type { ConnectCheck, ConnectProxy, ConnectVerdict } from './proxy-hooks.js';
import type { SessionClient } from './session-client.js';

/**
 * Connect admission: with a {@link ConnectProxy}, each new connection is
 * first shown to the backend (its peer address and the upgrade headers the
 * gateway forwards, `cookie` by default). The session holds the connection's
 * commands until the verdict, as during a login; what to do with the verdict
 * (log in, initial subscriptions, close) is the session's (`admitted`).
 */
export class ConnectAdmission {
  private readonly headers: readonly string[];

  constructor(
    private readonly proxy: ConnectProxy,
    headers: readonly string[] | undefined,
  ) {
    this.headers = (headers ?? ['cookie']).map((name) => name.toLowerCase());
  }

  /** Ask the backend about `client`; resolves with its verdict (never rejects: a throw is "backend unavailable"). */
  check(client: SessionClient, request: UpgradeRequest | undefined, signal?: AbortSignal): Promise<ConnectVerdict> {
    const headers: Record<string, string> = {};
    for (const name of this.headers) {
      const value = request?.headers.get(name);
      if (value !== undefined) headers[name] = value;
    }
    const check: ConnectCheck = {
      client: client.clientId,
      ip: client.conn.remoteAddress ?? '',
      headers,
      protocol: client.conn.protocol === undefined ? 'gpush' : 'herald.v1',
      signal,
    };
    let verdict: Promise<ConnectVerdict>;
    try {
      verdict = this.proxy.check(check);
    } catch (error) {
      verdict = Promise.reject(error);
    }
    return verdict.catch(() => ({ allowed: false, unavailable: true, reason: 'backend unavailable' }) as const);
  }
}
