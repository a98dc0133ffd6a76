/**
 * RFC 6455 constants. Members take the RFC's names; no TS `enum` so the
 * values inline and tree-shake.
 */

/** Frame opcodes, RFC 6455 §5.2 / §11.8. */
export const OpCode = {
  Continuation: 0x0,
  Text: 0x1,
  Binary: 0x2,
  Close: 0x8,
  Ping: 0x9,
  Pong: 0xa,
} as const;
export type OpCode = (typeof OpCode)[keyof typeof OpCode];

/** Close status codes, RFC 6455 §7.4.1 plus the IANA registry (§11.7). */
export const CloseCode = {
  NormalClosure: 1000,
  GoingAway: 1001,
  ProtocolError: 1002,
  UnsupportedData: 1003,
  /** Reserved: MUST NOT be sent in a close frame (§7.4.1). */
  NoStatusReceived: 1005,
  /** Reserved: MUST NOT be sent in a close frame (§7.4.1). */
  AbnormalClosure: 1006,
  InvalidFramePayloadData: 1007,
  PolicyViolation: 1008,
  MessageTooBig: 1009,
  MandatoryExtension: 1010,
  InternalError: 1011,
  ServiceRestart: 1012,
  TryAgainLater: 1013,
  BadGateway: 1014,
} as const;
export type CloseCode = (typeof CloseCode)[keyof typeof CloseCode];

/** The GUID appended to the client key to form Sec-WebSocket-Accept (RFC 6455 §1.3). */
export const WEBSOCKET_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

/** Largest payload a control frame may carry (RFC 6455 §5.5). */
export const MAX_CONTROL_PAYLOAD = 125;

/**
 * Whether `code` may appear in a close frame received from a peer
 * (RFC 6455 §7.4.1–7.4.2): 1000–1003 and 1007–1014 are defined for use;
 * 1004 is reserved, 1005/1006/1015 must never be sent; 3000–4999 are for
 * libraries, frameworks and applications. Everything else is invalid.
 */
export function isValidCloseCode(code: number): boolean {
  if (code >= 3000 && code <= 4999) return true;
  return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014);
}
