import { OpCode, MAX_CONTROL_PAYLOAD, isValidCloseCode } from './constants.js';
import { applyMask } from './mask.js';

/** Header size of an unmasked frame carrying `payloadLength` bytes (RFC 6455 §5.2). */
export function frameHeaderSize(payloadLength: number): number {
  return payloadLength < 126 ? 2 : payloadLength <= 0xffff ? 4 : 10;
}

/**
 * Write an unmasked (server → client, RFC 6455 §5.1) frame header into
 * `target` at `offset`; returns the number of bytes written (2, 4 or 10).
 * Uses the minimal length encoding, as §5.2 requires.
 */
export function writeFrameHeaderInto(
  target: Uint8Array,
  offset: number,
  opcode: OpCode,
  payloadLength: number,
  fin = true,
): number {
  target[offset] = (fin ? 0x80 : 0) | opcode;
  if (payloadLength < 126) {
    target[offset + 1] = payloadLength;
    return 2;
  }
  if (payloadLength <= 0xffff) {
    target[offset + 1] = 126;
    target[offset + 2] = payloadLength >>> 8;
    target[offset + 3] = payloadLength & 0xff;
    return 4;
  }
  target[offset + 1] = 127;
  const hi = Math.floor(payloadLength / 0x1_0000_0000);
  const lo = payloadLength >>> 0;
  for (let k = 0; k < 4; k++) target[offset + 2 + k] = (hi >>> (24 - 8 * k)) & 0xff;
  for (let k = 0; k < 4; k++) target[offset + 6 + k] = (lo >>> (24 - 8 * k)) & 0xff;
  return 10;
}

/**
 * Frame `payload` once into a single buffer (header + payload) that can be
 * written to any number of sockets: the fan-out path's prepared message.
 * Strings are encoded as UTF-8 straight into the frame, with no intermediate copy.
 */
export function encodeFrame(opcode: OpCode, payload: Uint8Array | string, fin = true): Buffer {
  if (opcode >= 0x8) checkControlPayload(payload);
  if (typeof payload === 'string') {
    const length = Buffer.byteLength(payload);
    const header = frameHeaderSize(length);
    const frame = Buffer.allocUnsafe(header + length);
    writeFrameHeaderInto(frame, 0, opcode, length, fin);
    frame.write(payload, header, 'utf8');
    return frame;
  }
  const header = frameHeaderSize(payload.length);
  const frame = Buffer.allocUnsafe(header + payload.length);
  writeFrameHeaderInto(frame, 0, opcode, payload.length, fin);
  frame.set(payload, header);
  return frame;
}

/**
 * A close frame (RFC 6455 §5.5.1). Without `code` the payload is empty.
 * Throws RangeError for a code that must not be sent (§7.4.1: 1005, 1006, 1015…)
 * or a reason longer than 123 UTF-8 bytes (125 minus the 2-byte code).
 */
export function encodeCloseFrame(code?: number, reason = ''): Buffer {
  if (code === undefined) {
    if (reason !== '') throw new RangeError('a close reason needs a close code');
    return encodeFrame(OpCode.Close, EMPTY);
  }
  if (!isValidCloseCode(code)) throw new RangeError(`close code ${code} may not be sent`);
  const reasonLength = Buffer.byteLength(reason);
  if (reasonLength > MAX_CONTROL_PAYLOAD - 2) {
    throw new RangeError(`close reason is ${reasonLength} bytes; at most 123 fit a control frame`);
  }
  const payload = Buffer.allocUnsafe(2 + reasonLength);
  payload.writeUInt16BE(code, 0);
  payload.write(reason, 2, 'utf8');
  return encodeFrame(OpCode.Close, payload);
}

/**
 * Truncate `reason` so that it fits a close frame (≤ 123 UTF-8 bytes), never
 * cutting a code point in half.
 */
export function truncateCloseReason(reason: string): string {
  if (Buffer.byteLength(reason) <= MAX_CONTROL_PAYLOAD - 2) return reason;
  let out = '';
  let bytes = 0;
  for (const ch of reason) {
    const size = Buffer.byteLength(ch);
    if (bytes + size > MAX_CONTROL_PAYLOAD - 2) break;
    out += ch;
    bytes += size;
  }
  return out;
}

/**
 * A masked (client → server) frame, for clients, tests and load generators.
 * `mask` is the 32-bit masking key, big-endian packed.
 */
export function encodeClientFrame(
  opcode: OpCode,
  payload: Uint8Array | string,
  mask: number,
  fin = true,
): Buffer {
  const body = typeof payload === 'string' ? Buffer.from(payload) : payload;
  const length = body.length;
  const header = length < 126 ? 6 : length <= 0xffff ? 8 : 14;
  const frame = Buffer.allocUnsafe(header + length);
  writeFrameHeaderInto(frame, 0, opcode, length, fin);
  frame[1] |= 0x80;
  frame.writeUInt32BE(mask >>> 0, header - 4);
  frame.set(body, header);
  applyMask(frame.subarray(header), mask);
  return frame;
}

function checkControlPayload(payload: Uint8Array | string): void {
  const length = typeof payload === 'string' ? Buffer.byteLength(payload) : payload.length;
  // RFC 6455 §5.5: all control frames MUST have a payload length of 125 bytes or less.
  if (length > MAX_CONTROL_PAYLOAD) {
    throw new RangeError(`control frame payload is ${length} bytes; the limit is 125`);
  }
}

const EMPTY = Buffer.alloc(0);
