import type { Publication } from '../engine/engine.js';
import { checkTopic, checkUid, type TopicRules } from '../util/topic-rules.js';
import { ApiError } from './http-errors.js';

/** Limits applied to every push, whatever API it came through. */
export interface PushLimits extends TopicRules {
  /** Largest payload after decoding, in bytes (413 / RESOURCE_EXHAUSTED beyond). */
  maxPushBytes: number;
}

// Protobuf's JSON mapping accepts standard and URL-safe base64, padded or not.
const BASE64 = /^[A-Za-z0-9+/\-_]*={0,2}$/;

/** Decode a base64 `data` field strictly: Buffer.from alone silently skips bad characters. */
export function decodeBase64(value: string, field: string): Buffer {
  if (!BASE64.test(value) || value.replace(/=+$/, '').length % 4 === 1) {
    throw new ApiError(400, 'INVALID_BASE64', `${field} is not valid base64`);
  }
  return Buffer.from(value, 'base64');
}

/**
 * Validate the target of a push. Empty strings mean "not set", as in gpush's
 * protobuf messages, where an unset string is "".
 */
export function buildPublication(uid: unknown, topic: unknown, data: Buffer, limits: PushLimits): Publication {
  if (uid !== undefined && uid !== null && typeof uid !== 'string') throw new ApiError(400, 'INVALID_UID', 'uid must be a string');
  if (topic !== undefined && topic !== null && typeof topic !== 'string') {
    throw new ApiError(400, 'INVALID_TOPIC', 'topic must be a string');
  }
  if (data.length > limits.maxPushBytes) {
    throw new ApiError(413, 'PAYLOAD_TOO_LARGE', `payload is ${data.length} bytes; the limit is ${limits.maxPushBytes}`);
  }
  const publication: Publication = { data };
  if (typeof uid === 'string' && uid !== '') {
    const problem = checkUid(uid);
    if (problem !== undefined) throw new ApiError(400, 'INVALID_UID', problem);
    publication.uid = uid;
  }
  if (typeof topic === 'string' && topic !== '') {
    const problem = checkTopic(topic, limits);
    if (problem !== undefined) throw new ApiError(400, 'INVALID_TOPIC', problem);
    publication.topic = topic;
  }
  return publication;
}

/** `POST /v1/pushData` body, exactly gpush's `{"uid","topic","data":"<base64>"}`. */
export function parsePushData(body: unknown, limits: PushLimits): Publication {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new ApiError(400, 'BAD_REQUEST', 'body must be a JSON object {"uid","topic","data"}');
  }
  const { uid, topic, data } = body as Record<string, unknown>;
  if (data !== undefined && data !== null && typeof data !== 'string') {
    throw new ApiError(400, 'INVALID_DATA', 'data must be a base64 string');
  }
  return buildPublication(uid, topic, typeof data === 'string' ? decodeBase64(data, 'data') : EMPTY, limits);
}

/**
 * One item of `POST /v1/push`: `{uid?, topic?, data}` with `data` a string
 * sent as UTF-8, or `{uid?, topic?, dataBase64}` for arbitrary bytes.
 */
export function parseBatchItem(item: unknown, limits: PushLimits): Publication {
  if (typeof item !== 'object' || item === null || Array.isArray(item)) {
    throw new ApiError(400, 'BAD_REQUEST', 'each item must be an object {uid?, topic?, data | dataBase64}');
  }
  const { uid, topic, data, dataBase64 } = item as Record<string, unknown>;
  if ((data === undefined) === (dataBase64 === undefined)) {
    throw new ApiError(400, 'INVALID_DATA', 'give exactly one of data (string) or dataBase64');
  }
  let payload: Buffer;
  if (data !== undefined) {
    if (typeof data !== 'string') throw new ApiError(400, 'INVALID_DATA', 'data must be a string');
    payload = Buffer.from(data, 'utf8');
  } else {
    if (typeof dataBase64 !== 'string') throw new ApiError(400, 'INVALID_DATA', 'dataBase64 must be a base64 string');
    payload = decodeBase64(dataBase64, 'dataBase64');
  }
  return buildPublication(uid, topic, payload, limits);
}

const EMPTY = Buffer.alloc(0);
