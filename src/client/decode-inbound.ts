import type { ClientEventMap, JoinLeaveInfo, Message, PresenceClient, PresenceInfo, PresenceStats, StreamPosition } from './types.js';
import { ReplyCode } from '../codes.js';
import { SERVER_SUBSCRIBED, SERVER_UNSUBSCRIBED } from './wire.js';

/** A server reply `{"code","message","detail"?,"id"?,"recovered"?,"position"?}` (PROTOCOL.md). */
export interface Reply {
  code: number;
  message?: string;
  detail?: unknown;
  /** herald.v1: the request's id, echoed. */
  id?: number | string;
  /** herald.v1 resume: whether every publication after `since` was replayed. */
  recovered?: boolean;
  /** herald.v1 resume: the stream's position when the subscription went live. */
  position?: StreamPosition;
  /** 20005/20006 (subscription changed by the server): the topic, and whether it is the private one. */
  topic?: string;
  private?: boolean;
  /** The HTTP stream's last line: the server ends the stream with `code` (a close code). */
  close?: boolean;
}

/** What one inbound frame is. `text` is the frame's text, for a reply that turns out to be a gpush push. */
export type Inbound =
  | { kind: 'pong' }
  | { kind: 'reply'; reply: Reply; text: string }
  | { kind: 'delivery'; message: Message }
  | { kind: 'join' | 'leave'; event: JoinLeaveInfo };

/**
 * Classify one frame as the WebSocket API hands it over (a string for text,
 * an ArrayBuffer or a view for binary). Pure: no socket, no state.
 *
 * - text `pong` → the heartbeat answer (so a gpush push whose payload is
 *   exactly `pong` is taken for one);
 * - a JSON object with a numeric `code` → a reply (PROTOCOL.md: "replies
 *   always have code; deliveries never do");
 * - with `enveloped` (herald.v1), `{"type":"join"|"leave","topic",…}` → a
 *   join/leave event; a JSON object with `data` or `dataBase64` → a delivery
 *   with its topic and position;
 * - anything else → a raw delivery: the text, or the bytes of a binary frame.
 *
 * Returns undefined for a frame of a type the WebSocket API never produces
 * (e.g. a Blob when `binaryType` was not honoured).
 */
export function decodeInbound(data: unknown, enveloped: boolean): Inbound | undefined {
  if (typeof data !== 'string') {
    const bytes = toBytes(data);
    return bytes === undefined ? undefined : { kind: 'delivery', message: { data: bytes } };
  }
  if (data === 'pong') return { kind: 'pong' };
  if (data.charCodeAt(0) === 0x7b /* { */) {
    const json = parseObject(data);
    if (json !== undefined) {
      if (typeof json.code === 'number') return { kind: 'reply', reply: toReply(json), text: data };
      if (enveloped) {
        const event = toJoinLeave(json);
        if (event !== undefined) return { kind: json.type as 'join' | 'leave', event };
        const message = fromEnvelope(json);
        if (message !== undefined) return { kind: 'delivery', message };
      }
    }
  }
  return { kind: 'delivery', message: { data } };
}

function parseObject(text: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

function toReply(json: Record<string, unknown>): Reply {
  const reply: Reply = { code: json.code as number };
  if (typeof json.message === 'string') reply.message = json.message;
  if (json.detail !== undefined) reply.detail = json.detail;
  if (typeof json.id === 'number' || typeof json.id === 'string') reply.id = json.id;
  if (typeof json.recovered === 'boolean') reply.recovered = json.recovered;
  const position = toPosition(json.position);
  if (position !== undefined) reply.position = position;
  if (typeof json.topic === 'string') reply.topic = json.topic;
  if (typeof json.private === 'boolean') reply.private = json.private;
  if (json.close === true) reply.close = true;
  return reply;
}

/** `{"type":"join"|"leave","topic","client","uid","node","connectedAt"}` (no `data`) → the event; undefined otherwise. */
function toJoinLeave(json: Record<string, unknown>): JoinLeaveInfo | undefined {
  const { type, topic, client, uid, node, connectedAt } = json;
  if ((type !== 'join' && type !== 'leave') || typeof topic !== 'string' || json.data !== undefined) return undefined;
  if (typeof client !== 'string' || typeof uid !== 'string' || typeof node !== 'string' || typeof connectedAt !== 'number') return undefined;
  return { topic, client, uid, node, connectedAt };
}

/** `{"topic"?,"seq"?,"epoch"?,"data"|"dataBase64","private"?,"user"?,"all"?}` → Message; undefined when not an envelope. */
function fromEnvelope(json: Record<string, unknown>): Message | undefined {
  let data: string | Uint8Array;
  if (typeof json.data === 'string') data = json.data;
  else if (typeof json.dataBase64 === 'string') {
    const bytes = decodeBase64(json.dataBase64);
    if (bytes === undefined) return undefined;
    data = bytes;
  } else return undefined;
  const message: Message = { data };
  if (typeof json.topic === 'string') message.topic = json.topic;
  if (json.private === true) message.private = true;
  if (json.user === true) message.user = true;
  if (json.all === true) message.all = true;
  if (typeof json.seq === 'number' && typeof json.epoch === 'string') {
    message.seq = json.seq;
    message.epoch = json.epoch;
  }
  return message;
}

/** An unprompted 20005/20006 (no id, a topic): the subscription the server changed, as the event it raises. */
export function serverNotice(
  reply: Reply,
): { event: 'serverSubscribe' | 'serverUnsubscribe'; info: ClientEventMap['serverSubscribe'] } | undefined {
  if ((reply.code !== SERVER_SUBSCRIBED && reply.code !== SERVER_UNSUBSCRIBED) || reply.id !== undefined || reply.topic === undefined) {
    return undefined;
  }
  const event = reply.code === SERVER_SUBSCRIBED ? 'serverSubscribe' : 'serverUnsubscribe';
  return { event, info: { topic: reply.topic, private: reply.private === true } };
}

/**
 * An unprompted 30009 (no id): the subscription to `topic` ended because its
 * subscription token (or the backend's grant) expired. `topic` and `private`
 * are read from the reply's top level, as in 20005/20006, or from `detail`.
 */
export function expiredNotice(reply: Reply): { topic: string; private: boolean } | undefined {
  if (reply.code !== ReplyCode.SubscriptionExpired || reply.id !== undefined) return undefined;
  const detail = (typeof reply.detail === 'object' && reply.detail !== null ? reply.detail : {}) as { topic?: unknown; private?: unknown };
  const topic = reply.topic ?? (typeof detail.topic === 'string' ? detail.topic : undefined);
  if (topic === undefined) return undefined;
  return { topic, private: reply.private === true || detail.private === true };
}

/** The detail of a 20007 reply. */
export function toPresenceInfo(reply: Reply): PresenceInfo {
  const { clients, truncated } = (reply.detail ?? {}) as { clients?: PresenceClient[]; truncated?: boolean };
  return { clients: Array.isArray(clients) ? clients : [], truncated: truncated === true };
}

/** The detail of a 20008 reply. */
export function toPresenceStats(reply: Reply): PresenceStats {
  const { clients, users } = (reply.detail ?? {}) as Partial<PresenceStats>;
  return { clients: typeof clients === 'number' ? clients : 0, users: typeof users === 'number' ? users : 0 };
}

function toPosition(value: unknown): StreamPosition | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const { seq, epoch } = value as { seq?: unknown; epoch?: unknown };
  return typeof seq === 'number' && typeof epoch === 'string' ? { seq, epoch } : undefined;
}

function toBytes(data: unknown): Uint8Array | undefined {
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  return undefined;
}

/** Standard base64 → bytes with `atob` (present in browsers and Node ≥ 16); undefined when malformed. */
export function decodeBase64(text: string): Uint8Array | undefined {
  let binary: string;
  try {
    binary = atob(text);
  } catch {
    return undefined;
  }
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}
