import { isUtf8 } from 'node:buffer';
import type * as grpc from '@grpc/grpc-js';

/**
 * Strict checks of protobuf wire data before protobufjs decodes it.
 *
 * protobufjs is lenient where it must not be for a push API: its Buffer reader
 * clamps a string field's length to the end of the buffer, so
 * `0a ff ff ff ff 0f 41` (field 1 claiming 4 GiB, one byte present) decodes as
 * uid "A" and is delivered; it does not check wire types against the schema,
 * and it turns invalid UTF-8 in a string field into U+FFFD (two distinct uids
 * then name one stream). Here every field must be well-formed and fit its
 * message, the known string/bytes/message fields must have wire type 2, and
 * strings must be valid UTF-8 (proto3 requires it). Unknown fields of the
 * other wire types are skipped, as protobuf's rules say; groups are refused.
 */

/** What a known field holds: length-delimited (wire type 2) or, for `varint` (integers, bools), wire type 0. */
export type FieldKind = 'string' | 'bytes' | 'varint' | MessageSchema;
/** The known fields of a message, by field number. */
export interface MessageSchema {
  readonly [field: number]: FieldKind;
}

/** `order.Data` and `herald.v1.PublishRequest`: uid = 1, topic = 2, data = 3. */
export const PUSH_SCHEMA: MessageSchema = { 1: 'string', 2: 'string', 3: 'bytes' };
/** `herald.v1.PublishBatchRequest`: repeated PublishRequest items = 1. */
export const BATCH_SCHEMA: MessageSchema = { 1: PUSH_SCHEMA };

/** What a strict deserializer hands the handler instead of a message it refused. */
export class MalformedMessage {
  constructor(readonly reason: string) {}
}

/** Longest varint (a 64-bit value in 7-bit groups). */
const MAX_VARINT_BYTES = 10;

/** The problem with `buf[start, end)` as a message of `schema`, or undefined when it is well-formed. */
export function checkMessage(buf: Uint8Array, schema: MessageSchema, start = 0, end = buf.length): string | undefined {
  let pos = start;
  while (pos < end) {
    const tag = readVarint(buf, pos, end);
    if (tag === undefined) return `truncated field tag at byte ${pos}`;
    pos = tag.next;
    const field = Math.floor(tag.value / 8);
    const wireType = tag.value % 8;
    if (field === 0 || field > 0x1fff_ffff) return `invalid field number ${field} at byte ${pos}`;
    const kind = schema[field];
    if (kind === 'varint') {
      if (wireType !== 0) return `field ${field} has wire type ${wireType}; it is a varint (0)`;
    } else if (kind !== undefined && wireType !== 2) {
      return `field ${field} has wire type ${wireType}; it is length-delimited (2)`;
    }
    switch (wireType) {
      case 0: {
        const value = readVarint(buf, pos, end);
        if (value === undefined) return `field ${field}: truncated or overlong varint`;
        pos = value.next;
        break;
      }
      case 1:
      case 5: {
        const size = wireType === 1 ? 8 : 4;
        if (end - pos < size) return `field ${field}: ${size}-byte value runs past the end of the message`;
        pos += size;
        break;
      }
      case 2: {
        const length = readVarint(buf, pos, end);
        if (length === undefined) return `field ${field}: truncated or overlong length`;
        pos = length.next;
        if (length.value > end - pos) {
          return `field ${field} claims ${length.value} bytes but ${end - pos} remain in the message`;
        }
        const fieldEnd = pos + length.value;
        if (kind === 'string' && !isUtf8(buf.subarray(pos, fieldEnd))) return `field ${field} is not valid UTF-8`;
        if (typeof kind === 'object') {
          const problem = checkMessage(buf, kind, pos, fieldEnd);
          if (problem !== undefined) return `field ${field}: ${problem}`;
        }
        pos = fieldEnd;
        break;
      }
      default:
        // 3/4 are proto2 groups (no proto3 message has them), 6/7 do not exist.
        return `field ${field} has unsupported wire type ${wireType}`;
    }
  }
  return undefined;
}

/** A varint at `pos` (before `end`) as a number (exact up to 2^53), or undefined when truncated or longer than 10 bytes. */
function readVarint(buf: Uint8Array, pos: number, end: number): { value: number; next: number } | undefined {
  let value = 0;
  let scale = 1;
  for (let i = 0; i < MAX_VARINT_BYTES && pos + i < end; i++) {
    const byte = buf[pos + i];
    value += (byte & 0x7f) * scale;
    if (byte < 0x80) return { value, next: pos + i + 1 };
    scale *= 128;
  }
  return undefined;
}

/**
 * `service` with each request deserializer checking the wire data first and
 * handing the handler a {@link MalformedMessage} instead of a lenient decode.
 * (A deserializer that throws would make grpc-js answer INTERNAL; the handler
 * answers INVALID_ARGUMENT instead.)
 */
export function strictService(service: grpc.ServiceDefinition, schemas: Record<string, MessageSchema>): grpc.ServiceDefinition {
  const strict: Record<string, grpc.MethodDefinition<unknown, unknown>> = {};
  for (const [name, method] of Object.entries(service)) {
    const schema = schemas[name];
    if (schema === undefined) throw new Error(`no wire schema for ${method.path}`);
    const decode = method.requestDeserialize;
    strict[name] = {
      ...method,
      requestDeserialize(bytes: Buffer): unknown {
        const problem = checkMessage(bytes, schema);
        return problem === undefined ? decode(bytes) : new MalformedMessage(problem);
      },
    };
  }
  return strict as grpc.ServiceDefinition;
}
