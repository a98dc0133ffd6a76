/** The pure RFC 6455 codec: no sockets, no I/O. */
export { OpCode, CloseCode, WEBSOCKET_GUID, MAX_CONTROL_PAYLOAD, isValidCloseCode } from './constants.js';
export { ProtocolError, ProtocolErrorCode, HandshakeError } from './errors.js';
export { FrameParser, type FrameParserHandler, type FrameParserOptions } from './frame-parser.js';
export {
  encodeFrame,
  encodeCloseFrame,
  encodeClientFrame,
  frameHeaderSize,
  writeFrameHeaderInto,
  truncateCloseReason,
} from './frame-encoder.js';
export {
  PERMESSAGE_DEFLATE,
  negotiatePerMessageDeflate,
  compressMessage,
  encodeCompressedFrame,
  encodeMessageFrame,
  inflateMessage,
  validateInflatedText,
  InflateContext,
  type PerMessageDeflateOptions,
  type DeflateParams,
} from './permessage-deflate.js';
export { parseExtensionHeader, formatExtension, type ExtensionOffer, type ExtensionParam } from './extension-header.js';
export { applyMask } from './mask.js';
export { Utf8Validator } from './utf8-validator.js';
export {
  findHeadEnd,
  parseRequestHead,
  validateUpgrade,
  acceptKey,
  buildUpgradeResponse,
  buildRejectionResponse,
  type RequestHead,
  type UpgradeRequest,
  type UpgradeValidationOptions,
} from './upgrade-request.js';
export { PreparedMessage } from './prepared-message.js';
