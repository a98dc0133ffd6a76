import { OpCode } from '../protocol/constants.js';
import { encodeFrame } from '../protocol/frame-encoder.js';
import { REPLY_MESSAGES, type ReplyCode } from '../codes.js';

/**
 * A reply frame `{"code":N,"message":"…","detail"?:…,"id"?:…}` (plus
 * `extra` fields, e.g. a resume's `position`). Replies without detail or id
 * are framed once and shared by every connection.
 */
export function replyFrame(code: ReplyCode, detail?: unknown, id?: unknown, extra?: object): Buffer {
  if (id !== undefined || extra !== undefined) {
    return encodeFrame(OpCode.Text, JSON.stringify({ code, message: REPLY_MESSAGES[code], detail, id, ...extra }));
  }
  if (detail === undefined) {
    let frame = PREPARED.get(code);
    if (frame === undefined) {
      frame = encodeFrame(OpCode.Text, JSON.stringify({ code, message: REPLY_MESSAGES[code] }));
      PREPARED.set(code, frame);
    }
    return frame;
  }
  return encodeFrame(OpCode.Text, JSON.stringify({ code, message: REPLY_MESSAGES[code], detail }));
}

const PREPARED = new Map<ReplyCode, Buffer>();

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
