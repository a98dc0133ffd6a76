/**
 * What the session asks of a backend, and nothing of how it is asked.
 *
 * A namespace with `"subscribe": "proxy"` has each subscribe checked by a
 * {@link SubscribeProxy}; a gateway configured with a connect proxy has each new
 * connection admitted by a {@link ConnectProxy}. The implementations (HTTP and
 * gRPC callers with timeouts, a bounded queue, a concurrency cap and a cache of
 * positive answers) live in `src/proxy/`; the session imports only these types,
 * so it never waits on a socket of its own and never learns the transport.
 *
 * Both promises always settle (a backend that hangs is cut off by the caller's
 * timeout) and never reject: failures are verdicts with a reason.
 */

/** One subscribe to check. */
export interface SubscribeCheck {
  /** The connection's id, as the server API and webhooks name it. */
  readonly client: string;
  /** The logged-in user, or null for an anonymous connection. */
  readonly uid: string | null;
  readonly topic: string;
  /** Op 5 (or herald.v1 `private: true`). */
  readonly private: boolean;
  readonly protocol: 'gpush' | 'herald.v1';
}

/** The backend's answer to a {@link SubscribeCheck}. */
export type SubscribeVerdict =
  | {
      readonly allowed: true;
      /** Epoch ms after which the subscription ends with 30009; absent: no expiry. */
      readonly expiresAt?: number;
    }
  | {
      readonly allowed: false;
      /**
       * For the 30008 reply's detail: "refused by the backend" (with ": <backend's reason>" when
       * it gave one), or "backend unavailable" / "backend timeout" / "backend overloaded".
       */
      readonly reason: string;
    };

export interface SubscribeProxy {
  check(request: SubscribeCheck): Promise<SubscribeVerdict>;
}

/**
 * One connection to admit. Asked when the WebSocket opens; the connection's commands wait for the
 * verdict (as they wait for a login), and a refusal closes it with 4500 or 4102 and the reason.
 */
export interface ConnectCheck {
  readonly client: string;
  /** Peer address. */
  readonly ip: string;
  /** The upgrade's headers the gateway is configured to forward (lower-case names; `cookie` among them by default). */
  readonly headers: Readonly<Record<string, string>>;
  readonly protocol: 'gpush' | 'herald.v1';
  /**
   * Aborted when the connection closes before its verdict: nobody waits for the answer any
   * more, so an implementation gives the call up (frees its place in the queue or in flight).
   */
  readonly signal?: AbortSignal;
}

/** The backend's answer to a {@link ConnectCheck}. */
export type ConnectVerdict =
  | {
      readonly allowed: true;
      /** The connection starts logged in as this user (answered 20003 as after a login). */
      readonly uid?: string;
      /** Epoch ms when that login expires (30006 then), absent: no expiry. */
      readonly expiresAt?: number;
      /** Topics the connection starts subscribed to, each announced with an unprompted 20005. */
      readonly subscriptions?: readonly { readonly topic: string; readonly private: boolean }[];
    }
  | {
      readonly allowed: false;
      /** true: the backend could not be asked (close 4102, retry later); false: it refused (close 4500). */
      readonly unavailable: boolean;
      readonly reason: string;
    };

export interface ConnectProxy {
  check(request: ConnectCheck): Promise<ConnectVerdict>;
}
