import { CloseCode } from './constants.js';

/**
 * Machine-readable reasons a peer's bytes were rejected: by the frame parser,
 * or by permessage-deflate's inflation (compressed data, an inflated message
 * over the limit, inflated text that is not UTF-8).
 */
export const ProtocolErrorCode = {
  UnmaskedFrame: 'WS_ERR_EXPECTED_MASK',
  UnexpectedRsv: 'WS_ERR_UNEXPECTED_RSV',
  InvalidOpcode: 'WS_ERR_INVALID_OPCODE',
  ControlFrameTooLarge: 'WS_ERR_CONTROL_FRAME_TOO_LARGE',
  FragmentedControlFrame: 'WS_ERR_FRAGMENTED_CONTROL_FRAME',
  UnexpectedContinuation: 'WS_ERR_UNEXPECTED_CONTINUATION',
  ExpectedContinuation: 'WS_ERR_EXPECTED_CONTINUATION',
  InvalidCloseLength: 'WS_ERR_INVALID_CLOSE_LENGTH',
  InvalidCloseCode: 'WS_ERR_INVALID_CLOSE_CODE',
  InvalidLength: 'WS_ERR_INVALID_LENGTH',
  InvalidUtf8: 'WS_ERR_INVALID_UTF8',
  MessageTooBig: 'WS_ERR_MESSAGE_TOO_BIG',
  /** A compressed message zlib rejects (RFC 7692 §7.2.2 cannot be followed): 1007. */
  InvalidCompressedData: 'WS_ERR_INVALID_COMPRESSED_DATA',
} as const;
export type ProtocolErrorCode = (typeof ProtocolErrorCode)[keyof typeof ProtocolErrorCode];

/**
 * A violation of RFC 6455 (or RFC 7692) by the peer: the codec's one error
 * shape. It carries the close code it maps to and becomes a close frame; it
 * is reported to the parser's handler or returned by the inflater, never
 * thrown across the socket boundary.
 */
export class ProtocolError extends Error {
  override readonly name = 'ProtocolError';
  constructor(
    readonly code: ProtocolErrorCode,
    readonly closeCode: CloseCode,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/**
 * A rejected opening handshake: the HTTP status, a short reason for the body,
 * and any headers the response must carry (e.g. `Sec-WebSocket-Version: 13`
 * on 426, RFC 6455 §4.4).
 */
export class HandshakeError extends Error {
  override readonly name = 'HandshakeError';
  constructor(
    readonly status: number,
    /** Machine-readable reason, e.g. `UNSUPPORTED_VERSION`; sent in the JSON body. */
    readonly code: string,
    message: string,
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(message);
  }
}
