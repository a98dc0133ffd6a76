import { ReplyCode } from '../codes.js';
import type { PresenceEntry, PresenceStats } from '../control/control-plane.js';
import type { WebSocketConnection } from '../gateway/connection.js';
import { topicSetHas, type HubClient } from '../hub/hub-client.js';
import { checkTopic, type TopicRules } from '../util/topic-rules.js';

/** Where the session asks who is subscribed to a topic (the node's control plane, cluster-wide). */
export interface ClientPresence {
  list(topic: string, limit: number): Promise<PresenceEntry[]>;
  stats(topic: string): Promise<PresenceStats>;
}

/** Most entries one op 7 reply lists; past it the reply says `"truncated": true`. */
export const CLIENT_PRESENCE_LIMIT = 1000;

/** Client presence ops (herald.v1 only). */
export const PresenceOp = { Presence: 7, PresenceStats: 8 } as const;

type Answer = (client: HubClient & { readonly conn: WebSocketConnection }, code: ReplyCode, detail: unknown, id: unknown) => void;

/**
 * Ops 7 (presence) and 8 (presence stats): a herald.v1 client asks who is
 * subscribed to a topic it is itself subscribed to (public or private), when
 * the server lets clients ask (`--client-presence`); otherwise 30008. The
 * answer is asynchronous (the control plane may ask Redis), so it carries the
 * request's `id` and may come after the replies to later commands. A failed
 * lookup answers 30008 `presence unavailable`; a throw while answering ends in
 * `failed` (the session's 1011 path), never in an unhandled rejection.
 */
export class PresenceRequests {
  /**
   * Connections with a lookup in flight: one at a time per connection, so a
   * client flooding ops 7/8 cannot queue unbounded work (memory copies, JSON,
   * Redis scripts); the next is answered 30008 until the first is answered.
   */
  private readonly pending = new WeakSet<HubClient>();

  constructor(
    private readonly presence: ClientPresence | undefined,
    private readonly allowed: boolean,
    private readonly rules: TopicRules,
    private readonly answer: Answer,
    private readonly failed: (client: HubClient & { readonly conn: WebSocketConnection }, error: unknown) => void,
  ) {}

  handle(client: HubClient & { readonly conn: WebSocketConnection }, op: 7 | 8, topic: unknown, id: unknown): void {
    const presence = this.presence;
    if (!this.allowed || presence === undefined) {
      return this.answer(client, ReplyCode.Forbidden, 'this server does not let clients ask for presence', id);
    }
    const problem = checkTopic(topic, this.rules);
    if (problem !== undefined) return this.answer(client, ReplyCode.InvalidTopic, problem, id);
    const name = topic as string;
    const subscribed = topicSetHas(client.publicTopics, name) || (client.uid !== null && topicSetHas(client.privateTopics, name));
    if (!subscribed) return this.answer(client, ReplyCode.Forbidden, 'presence is only given for a topic this connection is subscribed to', id);
    if (this.pending.has(client)) {
      return this.answer(client, ReplyCode.Forbidden, 'busy: one presence request at a time per connection; wait for its answer', id);
    }
    this.pending.add(client);
    let lookup: Promise<{ code: ReplyCode; detail: unknown }>;
    try {
      lookup =
        op === PresenceOp.Presence
          ? presence.list(name, CLIENT_PRESENCE_LIMIT + 1).then((entries) => ({ code: ReplyCode.Presence, detail: presenceDetail(entries) }))
          : presence.stats(name).then(({ clients, users }) => ({ code: ReplyCode.PresenceStats, detail: { clients, users } }));
    } catch (error) {
      lookup = Promise.reject(error);
    }
    lookup
      .finally(() => this.pending.delete(client))
      .then(
        ({ code, detail }) => client.conn.isOpen && this.answer(client, code, detail, id),
        () => client.conn.isOpen && this.answer(client, ReplyCode.Forbidden, 'presence unavailable', id),
      )
      .catch((error: unknown) => this.failed(client, error));
  }
}

/** `{clients:[{client,uid,node,connectedAt}…], truncated?}`: only the documented fields, at most the limit. */
function presenceDetail(entries: PresenceEntry[]): { clients: PresenceEntry[]; truncated?: true } {
  const clients = entries
    .slice(0, CLIENT_PRESENCE_LIMIT)
    .map(({ client, uid, node, connectedAt }) => ({ client, uid, node, connectedAt }));
  return entries.length > CLIENT_PRESENCE_LIMIT ? { clients, truncated: true } : { clients };
}
