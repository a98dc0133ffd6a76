import { OpCode } from '../protocol/constants.js';
import { encodeFrame } from '../protocol/frame-encoder.js';
import { GPUSH_REPLY_TEXTS, REPLY_MESSAGES, type ReplyCode } from '../codes.js';

/** Which words replies carry: Herald's English (default) or gpush's exact texts. */
export type ReplyMessages = 'english' | 'gpush';

/**
 * Builds reply frames `{"code":N,"message":"…","detail"?:…,"id"?:…}` (plus
 * `extra` fields, e.g. a resume's `position`). Replies without detail or id
 * are framed once and shared by every connection.
 *
 * With `gpush` texts, a code gpush answered with a fixed detail (30001–30003)
 * carries gpush's detail instead of Herald's reason, so the frame is
 * byte-for-byte gpush's; 20003 keeps Herald's `detail.uid` (an added field).
 */
export class ReplyFrames {
  private readonly prepared = new Map<ReplyCode, Buffer>();
  private readonly style: ReplyMessages;

  constructor(style: ReplyMessages = 'english') {
    this.style = style;
  }

  frame(code: ReplyCode, detail?: unknown, id?: unknown, extra?: object): Buffer {
    let message = REPLY_MESSAGES[code];
    // A detail that is the same for every reply of this code (none, or gpush's fixed one) is framed once.
    let fixed = detail === undefined;
    if (this.style === 'gpush') {
      const gpush = GPUSH_REPLY_TEXTS[code];
      message = gpush.message;
      if (gpush.detail !== undefined) {
        detail = gpush.detail;
        fixed = true;
      }
    }
    if (id !== undefined || extra !== undefined) {
      return encodeFrame(OpCode.Text, JSON.stringify({ code, message, detail, id, ...extra }));
    }
    if (!fixed) return encodeFrame(OpCode.Text, JSON.stringify({ code, message, detail }));
    let frame = this.prepared.get(code);
    if (frame === undefined) {
      frame = encodeFrame(OpCode.Text, JSON.stringify({ code, message, detail }));
      this.prepared.set(code, frame);
    }
    return frame;
  }
}

/** The text heartbeat answer (gpush: `pong` as a text frame). */
export const PONG_FRAME = encodeFrame(OpCode.Text, 'pong');

/** True for a payload that spells `ping` in any case (gpush's text heartbeat). */
export function isTextPing(data: Buffer): boolean {
  return (
    data.length === 4 &&
    (data[0] | 0x20) === 0x70 &&
    (data[1] | 0x20) === 0x69 &&
    (data[2] | 0x20) === 0x6e &&
    (data[3] | 0x20) === 0x67
  );
}
