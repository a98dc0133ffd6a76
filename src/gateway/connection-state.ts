/**
 * Lifecycle of a `WebSocketConnection`. In its own module so that the code
 * lent to connections (connection-stream.ts) reads it without importing the
 * connection at run time (no import cycle).
 */
export const ConnectionState = {
  /** Reading the HTTP upgrade request. */
  Handshake: 0,
  Open: 1,
  /** A close frame was sent or received; waiting (bounded) for the TCP connection to end. */
  Closing: 2,
  Closed: 3,
} as const;
export type ConnectionState = (typeof ConnectionState)[keyof typeof ConnectionState];
