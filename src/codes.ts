/**
 * Herald's application codes, shared by the server and the client SDK.
 *
 * Reply codes answer client commands (gpush-compatible: 2xxxx success,
 * 3xxxx failure). Close codes end connections; their range tells a client
 * whether reconnecting can help (4000–4499) or not (4500–4999).
 */

/** Replies to client commands, sent as `{"code":N,"message":"…","detail"?:…}`. */
export const ReplyCode = {
  /** Sent once when the connection opens (gpush). */
  Connected: 20000,
  /** Op 1 / op 5 succeeded (also when already subscribed). */
  Subscribed: 20001,
  /** Op 2 / op 6 succeeded (also when not subscribed). */
  Unsubscribed: 20002,
  /** Op 3 succeeded; `detail.uid` names the user. */
  LoggedIn: 20003,
  /** Op 4 succeeded. (gpush reused 20003 here, a bug Herald does not copy.) */
  LoggedOut: 20004,
  /** Not JSON, not an object, an unknown `code`, or a binary frame (gpush). */
  BadRequest: 30001,
  /** A private op (4, 5, 6) without a login (gpush). */
  NotLoggedIn: 30002,
  /** Op 3 failed: bad credential, auth service down or slow, or no login method configured (gpush). */
  AuthFailed: 30003,
  /** Herald: the topic is missing, not a string, too long, or has control characters. */
  InvalidTopic: 30004,
  /** Herald: the connection holds the maximum number of subscriptions. */
  TooManySubscriptions: 30005,
  /** Herald: the login's expiry passed; private subscriptions were dropped. Sent unprompted. */
  SessionExpired: 30006,
  /**
   * Herald (herald.v1 resume): a subscribe with `since` was overtaken, before its history was read,
   * by an unsubscribe or a newer subscribe of the same topic, which gets its own reply right after.
   */
  Cancelled: 30007,
  /**
   * Herald, unprompted (no `id`): the server subscribed this connection to `topic` (server API
   * `subscribe`); the reply carries `topic` and `private`.
   */
  ServerSubscribed: 20005,
  /** Herald, unprompted (no `id`): the server unsubscribed this connection from `topic` (server API `unsubscribe`). */
  ServerUnsubscribed: 20006,
  /** Herald (op 7): who is subscribed to the topic; `detail.clients` lists them. */
  Presence: 20007,
  /** Herald (op 8): `detail` is `{clients, users}` for the topic. */
  PresenceStats: 20008,
  /**
   * Herald: not allowed — a presence request (op 7/8) when the server does not let clients ask
   * (`--client-presence`), or for a topic this connection is not subscribed to.
   */
  Forbidden: 30008,
  /**
   * Herald, unprompted (no `id`): a subscription authorized by a subscription token (or a
   * backend answer with an expiry) reached its expiry and ended; carries `topic` and `private`.
   * The SDK asks its `getSubscriptionToken(topic)` callback for a new token and subscribes again.
   */
  SubscriptionExpired: 30009,
  /** Herald (op 9, client-side publish where the topic's namespace allows it): published. */
  Published: 20009,
} as const;
export type ReplyCode = (typeof ReplyCode)[keyof typeof ReplyCode];

/** English messages for each reply code. */
export const REPLY_MESSAGES: Readonly<Record<ReplyCode, string>> = {
  [ReplyCode.Connected]: 'connected',
  [ReplyCode.Subscribed]: 'subscribed',
  [ReplyCode.Unsubscribed]: 'unsubscribed',
  [ReplyCode.LoggedIn]: 'logged in',
  [ReplyCode.LoggedOut]: 'logged out',
  [ReplyCode.BadRequest]: 'bad request',
  [ReplyCode.NotLoggedIn]: 'not logged in',
  [ReplyCode.AuthFailed]: 'authentication failed',
  [ReplyCode.InvalidTopic]: 'invalid topic',
  [ReplyCode.TooManySubscriptions]: 'too many subscriptions',
  [ReplyCode.SessionExpired]: 'session expired',
  [ReplyCode.Cancelled]: 'cancelled',
  [ReplyCode.ServerSubscribed]: 'subscribed by server',
  [ReplyCode.ServerUnsubscribed]: 'unsubscribed by server',
  [ReplyCode.Presence]: 'presence',
  [ReplyCode.PresenceStats]: 'presence stats',
  [ReplyCode.Forbidden]: 'forbidden',
  [ReplyCode.SubscriptionExpired]: 'subscription expired',
  [ReplyCode.Published]: 'published',
};

/**
 * gpush's own reply texts (its `model/response` package), for
 * `--reply-messages gpush`: `message` as gpush wrote it and, for the codes
 * gpush answered with a fixed `detail`, that detail too. 20004–20006 and 30004–30007
 * are Herald's codes, worded in the same language.
 */
export const GPUSH_REPLY_TEXTS: Readonly<Record<ReplyCode, { message: string; detail?: string }>> = {
  [ReplyCode.Connected]: { message: '连接成功' },
  [ReplyCode.Subscribed]: { message: '订阅成功' },
  [ReplyCode.Unsubscribed]: { message: '取消订阅成功' },
  [ReplyCode.LoggedIn]: { message: '登录成功' },
  [ReplyCode.LoggedOut]: { message: '退出成功' },
  [ReplyCode.BadRequest]: { message: '操作有误', detail: '数据格式不正确' },
  [ReplyCode.NotLoggedIn]: { message: '操作有误', detail: '未登录' },
  [ReplyCode.AuthFailed]: { message: 'token验证失败', detail: 'token验证失败' },
  [ReplyCode.InvalidTopic]: { message: '主题无效' },
  [ReplyCode.TooManySubscriptions]: { message: '订阅数量超过上限' },
  [ReplyCode.SessionExpired]: { message: '登录已过期' },
  [ReplyCode.Cancelled]: { message: '已取消' },
  [ReplyCode.ServerSubscribed]: { message: '服务端订阅' },
  [ReplyCode.ServerUnsubscribed]: { message: '服务端取消订阅' },
  // Herald's presence codes (ops 7 and 8), worded in the same language.
  [ReplyCode.Presence]: { message: '在线列表' },
  [ReplyCode.PresenceStats]: { message: '在线统计' },
  [ReplyCode.Forbidden]: { message: '无权限' },
  [ReplyCode.SubscriptionExpired]: { message: '订阅已过期' },
  [ReplyCode.Published]: { message: '发布成功' },
};

/**
 * Close codes Herald sends, besides RFC 6455's (1000 normal, 1001 going away on
 * shutdown, 1002/1007/1009 protocol errors, 1011 internal error).
 * 4000–4499: transient, reconnect with backoff. 4500–4999: do not reconnect as is.
 */
export const HeraldCloseCode = {
  /** Nothing received for the heartbeat timeout. */
  HeartbeatTimeout: 4000,
  /** The client did not read fast enough; its unflushed bytes passed the bound. */
  SlowConsumer: 4001,
  /** Closed through the server API's `disconnect` (its default code); the client may reconnect. */
  DisconnectedByServer: 4100,
  /** The connect proxy's backend could not be asked (down, timeout, overloaded); retry later. */
  BackendUnavailable: 4102,
  /** Refused by policy (e.g. origin or limits); retrying unchanged will not help. */
  Forbidden: 4500,
} as const;
export type HeraldCloseCode = (typeof HeraldCloseCode)[keyof typeof HeraldCloseCode];

/** Whether a client should reconnect after a close with `code`. */
export function isReconnectableClose(code: number): boolean {
  if (code >= 4500 && code <= 4999) return false;
  // 1002/1003/1007/1008/1009/1010: the client sent something wrong; repeating it will not help.
  return !(code === 1002 || code === 1003 || code === 1007 || code === 1008 || code === 1009 || code === 1010);
}
