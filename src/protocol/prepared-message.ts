import type { OpCode } from './constants.js';
import { encodeFrame } from './frame-encoder.js';
import { encodeMessageFrame, type DeflateParams } from './permessage-deflate.js';

/**
 * One outgoing message framed once for every kind of receiver: the plain
 * frame is built up front; the permessage-deflate frame on first demand, once
 * per server window size (with `server_no_context_takeover` the compressed
 * bytes depend on nothing else), and then shared by every connection that
 * negotiated compression.
 */
export class PreparedMessage {
  readonly plain: Buffer;
  private readonly opcode: OpCode;
  private readonly payload: Uint8Array;
  /** Compressed frames by serverMaxWindowBits (8–15); usually only slot 15 is used. */
  private compressed: (Buffer | undefined)[] | null = null;

  constructor(opcode: OpCode, payload: Uint8Array) {
    this.opcode = opcode;
    this.payload = payload;
    this.plain = encodeFrame(opcode, payload);
  }

  /** Frames compressed so far, over all PreparedMessages (for metrics and tests). */
  static compressions = 0;

  /** The frame for a connection that negotiated `params`, or the plain one for `null`. */
  frameFor(params: DeflateParams | null): Buffer {
    if (params === null) return this.plain;
    const slots = (this.compressed ??= []);
    let frame = slots[params.serverMaxWindowBits];
    if (frame === undefined) {
      frame = encodeMessageFrame(this.opcode, this.payload, params);
      slots[params.serverMaxWindowBits] = frame;
      PreparedMessage.compressions++;
    }
    return frame;
  }
}
