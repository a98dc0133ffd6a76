/**
 * Herald's public surface. Everything a user imports comes from here; tests
 * and tools may reach internals through `herald/internal`.
 */
export * from './protocol/index.js';
export { WebSocketServer, type WebSocketServerOptions, type ConnectionHandler } from './gateway/websocket-server.js';
export { WebSocketConnection, ConnectionState, type SendResult } from './gateway/connection.js';
export { TransportError, chooseTransport, type TransportMode, type TransportChoice } from './gateway/transport-choice.js';
export { HeraldNode, HERALD_V1, type HeraldNodeOptions } from './node.js';
export { MemoryEngine } from './engine/memory-engine.js';
export { RedisEngine, type RedisEngineOptions, type RedisEngineEvents, type RedisConnectionRole } from './engine/redis-engine.js';
export { EngineUnavailableError, streamOf, type Engine, type EngineHandler, type Publication, type Delivery, type StreamPosition, type HistoryResult } from './engine/engine.js';
export { BackendSubscribeProxy, type BackendSubscribeProxyOptions } from './proxy/subscribe-proxy.js';
export { BackendConnectProxy, type BackendConnectProxyOptions } from './proxy/connect-proxy.js';
export { Namespaces, NamespaceError, type Namespace, type SubscribeRule } from './util/namespaces.js';
export type {
  SubscribeProxy,
  SubscribeCheck,
  SubscribeVerdict,
  ConnectProxy,
  ConnectCheck,
  ConnectVerdict,
} from './session/proxy-hooks.js';
