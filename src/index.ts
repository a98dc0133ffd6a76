/**
 * Herald's public surface. Everything a user imports comes from here; tests
 * and tools may reach internals through `herald/internal`.
 */
export * from './protocol/index.js';
export { WebSocketServer, type WebSocketServerOptions, type ConnectionHandler } from './gateway/websocket-server.js';
export { WebSocketConnection, ConnectionState, type SendResult } from './gateway/connection.js';
