import type { LoginVerifier } from '../auth/login-verifier.js';
import type { Hub } from '../hub/hub.js';
import type { Namespaces } from '../util/namespaces.js';
import type { TopicRules } from '../util/topic-rules.js';
import type { ClientPresence } from './presence-requests.js';
import type { ConnectProxy, SubscribeProxy } from './proxy-hooks.js';
import type { ReplyMessages } from './replies.js';
import type { ReplayResult, ResumePosition } from './resume.js';

/** What the session reports for metrics and logs. */
export interface SessionEvents {
  onLogin?(uid: string): void;
  onAuthFailure?(reason: string, message: string): void;
  onBadRequest?(detail: string): void;
  /**
   * A bug surfaced in a connection's asynchronous work (a login or a resume
   * completing): that connection was closed with 1011; the process goes on.
   */
  onError?(error: unknown): void;
  /** A subscribe refused (30005) by the per-connection limit, the node's topic or subscription budget, or a namespace's maxSubscribers. */
  onSubscriptionRefused?(reason: 'connection' | 'node_topics' | 'node_subscriptions' | 'namespace_full'): void;
  /** The first (`watching`) or last (`!watching`) connection of this node asking for `topic`'s join/leave events. */
  onJoinLeaveWatch?(topic: string, watching: boolean): void;
  /**
   * A connection was admitted: at its open, or with a connect proxy once the backend allowed it
   * (after its login, before its initial subscriptions; `uid` the backend's, else null). A
   * connection the proxy refuses, or that closes before the verdict, is never reported (webhooks).
   */
  onConnected?(clientId: string, uid: string | null): void;
  /** An admitted connection closed, after the leaves of its close; `uid` as it was logged in. */
  onDisconnected?(clientId: string, uid: string | null): void;
}

/** Options of a {@link GpushSession}. */
export interface GpushSessionOptions {
  hub: Hub;
  /** How op 3 credentials are checked; without one, logins answer 30003. */
  verifier?: LoginVerifier;
  topicRules: TopicRules;
  /** Public plus private subscriptions one connection may hold (30005 beyond). */
  maxSubscriptionsPerConnection: number;
  events?: SessionEvents;
  /**
   * The engine's history, for `since` on subscribe (herald.v1 resume). Without
   * it, a subscription with `since` answers `recovered: false`.
   */
  history?(stream: string, since: ResumePosition | undefined): Promise<ReplayResult>;
  /** Reply texts: Herald's English (default) or gpush's exact ones (PROTOCOL.md, Differences from gpush). */
  replyMessages?: ReplyMessages;
  /** Who is subscribed to a topic, for ops 7/8 (the control plane); without it those ops answer 30008. */
  presence?: ClientPresence;
  /** Let herald.v1 clients ask for presence of topics they subscribe to (ops 7/8); default false → 30008. */
  clientPresence?: boolean;
  /** Prefix of client ids (`<prefix>.<n>`, unique in the cluster: the node's id); default: none (`<n>`). */
  clientIdPrefix?: string;
  /** Topic namespaces and their rules (PROTOCOL.md, Namespaces); default none: every topic as before. */
  namespaces?: Namespaces;
  /** Asked for each subscribe to a namespace with `"subscribe": "proxy"`; without it such subscribes answer 30008. */
  subscribeProxy?: SubscribeProxy;
  /** When set, every new connection waits for its verdict before its commands run (connect admission). */
  connectProxy?: ConnectProxy;
  /** Upgrade headers shown to the connect proxy (lower-case names); default `["cookie"]`. */
  connectProxyHeaders?: readonly string[];
  /** Op 9: publish `data` (a JSON text) to `topic` as a push would; without it op 9 answers 30008. */
  publish?(topic: string, data: Buffer): Promise<void>;
  /** Largest op 9 payload (its JSON text) in bytes; default 64 KiB. */
  maxPublishBytes?: number;
  /**
   * Connections of this node subscribed to `topic` (publicly, privately or both), for a
   * namespace's `maxSubscribers`; without it that limit is not applied.
   */
  subscriberCount?(topic: string): number;
}

