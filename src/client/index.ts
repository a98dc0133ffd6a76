/**
 * `herald/client`: the Herald client SDK for browsers and Node ≥ 20. It has
 * no dependencies and imports nothing of Node's: in Node 20 pass the `ws`
 * package's class as `options.WebSocket`.
 *
 * ```ts
 * import { HeraldClient } from 'herald/client';
 * const client = new HeraldClient({ url: 'wss://push.example.com/ws', token: () => fetchToken() });
 * client.on('gap', ({ topic }) => reload(topic));
 * client.subscribe('news', (m) => show(m.data));
 * client.connect();
 * ```
 */
export { HeraldClient } from './herald-client.js';
export { HeraldError, HeraldTimeoutError, HeraldConnectionError } from './errors.js';
export { backoffDelay } from './backoff.js';
export type {
  ClientStatus,
  ClientTransport,
  ClientEventMap,
  FallbackOptions,
  FetchLike,
  GapInfo,
  HeraldClientOptions,
  JoinLeaveInfo,
  Message,
  PresenceClient,
  PresenceInfo,
  PresenceStats,
  ServerSubscriptionInfo,
  StreamPosition,
  SubscribeOptions,
  Subscription,
  WebSocketConstructor,
  WebSocketLike,
} from './types.js';
export { ReplyCode, HeraldCloseCode, REPLY_MESSAGES, isReconnectableClose } from '../codes.js';
