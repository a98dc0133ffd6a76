/**
 * What RFC 6455 (and RFC 7692 §6) allows in a frame's first two bytes and in
 * a close frame's payload, as pure checks returning the ProtocolError to fail
 * with. The {@link FrameParser} owns the bytes and the state; these own the
 * rules, so each can be read against the RFC on its own.
 */
import { isUtf8 } from 'node:buffer';
import { CloseCode, OpCode, isValidCloseCode } from './constants.js';
import { ProtocolError, ProtocolErrorCode } from './errors.js';

/**
 * The error the first two bytes of a frame header make (`b0`: FIN, RSV1-3,
 * opcode; `b1`: MASK, 7-bit length), or undefined when they are allowed.
 * `isServer`: the frame comes from a client (masked, §5.1); `allowRsv1`:
 * permessage-deflate was negotiated; `messageOpen`: a fragmented data message
 * waits for continuation frames.
 */
export function checkFrameHeader(b0: number, b1: number, isServer: boolean, allowRsv1: boolean, messageOpen: boolean): ProtocolError | undefined {
  const opcode = b0 & 0x0f;
  // §5.2: RSV1-3 MUST be 0 unless an extension defining them was negotiated.
  if ((b0 & 0x70) !== 0) {
    const error = checkRsv(b0 & 0x70, opcode, allowRsv1);
    if (error !== undefined) return error;
  }
  if (opcode >= 0x8) {
    // §5.2: opcodes 0xB–0xF are reserved for further control frames.
    if (opcode > OpCode.Pong) return protocolError(ProtocolErrorCode.InvalidOpcode, `reserved opcode 0x${opcode.toString(16)}`);
    // §5.5: control frames MUST NOT be fragmented and carry at most 125 bytes.
    if ((b0 & 0x80) === 0) return protocolError(ProtocolErrorCode.FragmentedControlFrame, 'fragmented control frame');
    if ((b1 & 0x7f) > 125) return protocolError(ProtocolErrorCode.ControlFrameTooLarge, 'control frame payload over 125 bytes');
  } else if (opcode > OpCode.Binary) {
    // §5.2: opcodes 0x3–0x7 are reserved for further non-control frames.
    return protocolError(ProtocolErrorCode.InvalidOpcode, `reserved opcode 0x${opcode.toString(16)}`);
  } else if (opcode === OpCode.Continuation) {
    // §5.4: a continuation frame only continues a fragmented message.
    if (!messageOpen) {
      return protocolError(ProtocolErrorCode.UnexpectedContinuation, 'continuation frame without a message to continue');
    }
  } else if (messageOpen) {
    // §5.4: fragments of one message MUST NOT be interleaved with another data message.
    return protocolError(ProtocolErrorCode.ExpectedContinuation, 'new data frame inside a fragmented message');
  }
  // §5.1: a server MUST close on an unmasked client frame; a client on a masked server frame.
  if (((b1 & 0x80) !== 0) !== isServer) {
    return protocolError(ProtocolErrorCode.UnmaskedFrame, isServer ? 'client frame is not masked' : 'server frame is masked');
  }
  return undefined;
}

/**
 * RFC 7692 §6: with permessage-deflate, RSV1 may be set on the first frame of
 * a data message; §6.1: on a control frame or a continuation frame it fails
 * the connection. RSV2 and RSV3 stay undefined.
 */
function checkRsv(rsv: number, opcode: number, allowRsv1: boolean): ProtocolError | undefined {
  if (!allowRsv1 || rsv !== 0x40) return protocolError(ProtocolErrorCode.UnexpectedRsv, 'RSV bits set without a negotiated extension');
  if (opcode === OpCode.Text || opcode === OpCode.Binary) return undefined;
  const kind = opcode === OpCode.Continuation ? 'a continuation' : opcode >= 0x8 ? 'a control' : 'a reserved-opcode';
  return protocolError(ProtocolErrorCode.UnexpectedRsv, `RSV1 set on ${kind} frame`);
}

/**
 * §5.5.1: a close payload is empty (code 1005, NoStatusReceived, §7.1.5) or
 * a valid 2-byte code followed by an optional UTF-8 reason.
 */
export function parseClosePayload(payload: Buffer): { code: number; reason: string } | ProtocolError {
  if (payload.length === 0) return { code: CloseCode.NoStatusReceived, reason: '' };
  if (payload.length === 1) return protocolError(ProtocolErrorCode.InvalidCloseLength, 'close frame payload of 1 byte');
  const code = (payload[0] << 8) | payload[1];
  if (!isValidCloseCode(code)) return protocolError(ProtocolErrorCode.InvalidCloseCode, `invalid close code ${code}`);
  const reason = payload.subarray(2);
  if (!isUtf8(reason)) {
    return new ProtocolError(ProtocolErrorCode.InvalidUtf8, CloseCode.InvalidFramePayloadData, 'close reason is not valid UTF-8');
  }
  return { code, reason: reason.toString('utf8') };
}

function protocolError(code: ProtocolErrorCode, message: string): ProtocolError {
  return new ProtocolError(code, CloseCode.ProtocolError, message);
}
