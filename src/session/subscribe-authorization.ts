import type { LoginVerifier } from '../auth/login-verifier.js';
import { ReplyCode } from '../codes.js';
import { matchTopicGlob, type Namespace } from '../util/namespaces.js';
import type { SubscribeProxy, SubscribeVerdict } from './proxy-hooks.js';
import type { SessionClient } from './session-client.js';

/** Latest `exp` (seconds) taken as a time: 9999-12-31T23:59:59Z, as for logins. */
const MAX_EXP_SECONDS = 253_402_300_799;

/** Whether a subscribe may go ahead, and until when. */
export type SubscribeAuthorization =
  | { readonly ok: true; readonly expiresAt?: number }
  | { readonly ok: false; readonly code: ReplyCode; readonly detail: string };

const ALLOWED: SubscribeAuthorization = { ok: true };

function refused(code: ReplyCode, detail: string): SubscribeAuthorization {
  return { ok: false, code, detail };
}

/**
 * Applies a namespace's `subscribe` rule (PROTOCOL.md, Namespaces) to one
 * subscribe: `anyone` and `login` answer at once; `token` verifies the
 * subscription token with the login key configuration (the verifier's
 * `verifyClaims`) and `proxy` asks the {@link SubscribeProxy}, both
 * asynchronously — the session holds the connection's later commands
 * meanwhile, as during a login, so replies keep their order.
 */
export class SubscribeAuthorizer {
  constructor(
    private readonly verifier: LoginVerifier | undefined,
    private readonly proxy: SubscribeProxy | undefined,
  ) {}

  authorize(
    client: SessionClient,
    namespace: Namespace,
    topic: string,
    isPrivate: boolean,
    token: unknown,
  ): SubscribeAuthorization | Promise<SubscribeAuthorization> {
    switch (namespace.subscribe) {
      case 'anyone':
        return ALLOWED;
      case 'login':
        return client.uid === null ? refused(ReplyCode.NotLoggedIn, 'login required for this namespace') : ALLOWED;
      case 'token':
        return this.token(client, topic, token);
      case 'proxy':
        return this.askProxy(client, topic, isPrivate);
    }
  }

  private token(client: SessionClient, topic: string, token: unknown): SubscribeAuthorization | Promise<SubscribeAuthorization> {
    if (token === undefined || token === null || token === '') return refused(ReplyCode.AuthFailed, 'subscription token missing');
    const verify = this.verifier?.verifyClaims;
    if (verify === undefined) return refused(ReplyCode.AuthFailed, 'subscription tokens are not configured on this server');
    const uid = client.uid;
    return verify.call(this.verifier, token).then(
      (claims) => checkClaims(claims, uid, topic),
      (error: unknown) =>
        refused(
          ReplyCode.AuthFailed,
          (error as { reason?: unknown })?.reason === 'expired' ? 'subscription token expired' : 'subscription token invalid',
        ),
    );
  }

  private askProxy(client: SessionClient, topic: string, isPrivate: boolean): SubscribeAuthorization | Promise<SubscribeAuthorization> {
    const proxy = this.proxy;
    if (proxy === undefined) return refused(ReplyCode.Forbidden, 'backend unavailable: no subscribe proxy is configured');
    const request = {
      client: client.clientId,
      uid: client.uid,
      topic,
      private: isPrivate,
      protocol: client.conn.protocol === undefined ? ('gpush' as const) : ('herald.v1' as const),
    };
    let answer: Promise<SubscribeVerdict>;
    try {
      answer = proxy.check(request);
    } catch (error) {
      // An embedder's hook that throws instead of rejecting: the same refusal, not a 1011 for the connection.
      answer = Promise.reject(error);
    }
    return answer.then(
      (verdict) => {
        if (!verdict.allowed) return refused(ReplyCode.Forbidden, verdict.reason);
        const expiresAt = verdict.expiresAt;
        if (expiresAt === undefined || !Number.isFinite(expiresAt)) return ALLOWED;
        if (expiresAt <= Date.now()) return refused(ReplyCode.Forbidden, 'refused by the backend: the permission it gave has expired');
        return { ok: true, expiresAt };
      },
      // The contract says check never rejects; one that does is a broken backend caller, not a permission.
      () => refused(ReplyCode.Forbidden, 'backend unavailable'),
    );
  }
}

/** The claims of a verified subscription token, for this connection (`uid`) and `topic`. */
function checkClaims(claims: Record<string, unknown>, uid: string | null, topic: string): SubscribeAuthorization {
  const { sub, channel, channel_glob: channelGlob, exp } = claims;
  if (typeof sub !== 'string' || typeof exp !== 'number' || !Number.isFinite(exp)) {
    return refused(ReplyCode.AuthFailed, 'subscription token invalid');
  }
  if (typeof channel !== 'string' && typeof channelGlob !== 'string') return refused(ReplyCode.AuthFailed, 'subscription token invalid');
  // A token with sub "" is for anonymous connections; otherwise it names the logged-in user.
  if (sub !== (uid ?? '')) return refused(ReplyCode.AuthFailed, 'subscription token is for another user');
  const matches = typeof channel === 'string' ? channel === topic : matchTopicGlob(channelGlob as string, topic);
  if (!matches) return refused(ReplyCode.AuthFailed, 'subscription token is for another channel');
  if (exp > MAX_EXP_SECONDS) return ALLOWED;
  const expiresAt = exp * 1000;
  // The verifier's clock tolerance lets a token a few seconds past `exp` through; its subscription would end at once.
  if (expiresAt <= Date.now()) return refused(ReplyCode.AuthFailed, 'subscription token expired');
  return { ok: true, expiresAt };
}
