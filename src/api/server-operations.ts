import { isUtf8 } from 'node:buffer';
import { HeraldCloseCode } from '../codes.js';
import type { ChannelCount, ControlPlane, NodeInfo, PresenceEntry, PresenceStats } from '../control/control-plane.js';
import type { Engine, StreamPosition } from '../engine/engine.js';
import { checkTopic, checkUid, type TopicRules } from '../util/topic-rules.js';
import { streamOf } from '../streams.js';
import { ApiError } from './http-errors.js';

/** Most entries one presence, channels or history reply holds. */
export const MAX_LIMIT = 1000;
/** Entries when a request names no limit. */
export const DEFAULT_LIMIT = 100;
/** Longest close reason: a close frame's payload is at most 125 bytes, 2 of them the code (RFC 6455 §5.5). */
export const MAX_REASON_BYTES = 123;
/** Longest `channels` pattern, in UTF-16 code units, and most `*` in it: matching costs up to pattern × topic length per topic. */
export const MAX_PATTERN_LENGTH = 256;
export const MAX_PATTERN_STARS = 8;

/** One publication as the server API returns it: text as `data`, other bytes as `dataBase64` (as herald.v1 envelopes). */
export interface HistoryPublication {
  seq: number;
  epoch: string;
  data?: string;
  dataBase64?: string;
  /** The payload as published (gRPC returns bytes). */
  bytes: Buffer;
}

export interface HistoryReply {
  publications: HistoryPublication[];
  position: StreamPosition;
  recovered: boolean;
}

/** Fields as they arrive (JSON or protobuf, where an empty string or 0 means "not set"), validated here. */
export interface DisconnectInput {
  uid: unknown;
  code?: unknown;
  reason?: unknown;
  client?: unknown;
}
export interface SubscriptionInput {
  uid: unknown;
  topic: unknown;
  private?: unknown;
}

/**
 * The server API's operations, shared by HTTP and gRPC: every input is checked
 * before anything is touched (a bad one throws a 400 {@link ApiError}, which
 * gRPC answers INVALID_ARGUMENT), then the control plane or the engine is asked.
 */
export class ServerOperations {
  constructor(
    private readonly control: ControlPlane,
    private readonly engine: Engine,
    private readonly rules: TopicRules,
    /** Whether the nodes keep presence (`--presence`); without it the presence routes answer 409 PRESENCE_OFF. */
    private readonly presenceKept = true,
    /** False for a topic whose namespace says `"presence": false` (409 PRESENCE_NOT_ALLOWED); default: every topic. */
    private readonly presenceAllowed: (topic: string) => boolean = () => true,
  ) {}

  /** Close every connection of `uid` (or only `client`) on every node; resolves with how many. */
  async disconnect(input: DisconnectInput): Promise<number> {
    const uid = requireUid(input.uid);
    const code = input.code === undefined ? HeraldCloseCode.DisconnectedByServer : input.code;
    if (typeof code !== 'number' || !Number.isInteger(code) || code < 4000 || code > 4999) {
      throw new ApiError(400, 'INVALID_CODE', 'code must be an integer from 4000 to 4999 (4000–4499: the client reconnects, 4500–4999: it does not)');
    }
    const reason = input.reason === undefined ? 'disconnected by server' : input.reason;
    if (typeof reason !== 'string' || Buffer.byteLength(reason) > MAX_REASON_BYTES || /[\ud800-\udfff]/u.test(reason)) {
      throw new ApiError(400, 'INVALID_REASON', `reason must be a string of at most ${MAX_REASON_BYTES} UTF-8 bytes`);
    }
    let client: string | undefined;
    if (input.client !== undefined) {
      if (typeof input.client !== 'string' || input.client === '' || input.client.length > 128) {
        throw new ApiError(400, 'INVALID_CLIENT', 'client must be a client id (a non-empty string of at most 128 characters)');
      }
      client = input.client;
    }
    return this.control.command({ op: 'disconnect', uid, client, code, reason });
  }

  /** Subscribe (or unsubscribe) every connection of `uid` on every node; resolves with how many changed. */
  async subscription(op: 'subscribe' | 'unsubscribe', input: SubscriptionInput): Promise<number> {
    const uid = requireUid(input.uid);
    const topic = this.requireTopic(input.topic);
    const isPrivate = input.private === undefined ? false : input.private;
    if (typeof isPrivate !== 'boolean') throw new ApiError(400, 'BAD_REQUEST', 'private must be true or false');
    return this.control.command({ op, uid, topic, private: isPrivate });
  }

  presence(topic: unknown, limit: unknown): Promise<PresenceEntry[]> {
    const name = this.requireTopic(topic);
    const bound = parseLimit(limit);
    this.requirePresence(name);
    return this.control.presence(name, bound);
  }

  presenceStats(topic: unknown): Promise<PresenceStats> {
    const name = this.requireTopic(topic);
    this.requirePresence(name);
    return this.control.presenceStats(name);
  }

  private requirePresence(topic: string): void {
    if (!this.presenceKept) throw new ApiError(409, 'PRESENCE_OFF', 'presence is not kept on this server: start it with --presence');
    if (!this.presenceAllowed(topic)) {
      throw new ApiError(409, 'PRESENCE_NOT_ALLOWED', 'presence is not allowed in this topic\'s namespace ("presence": false)');
    }
  }

  channels(pattern: unknown, cursor: unknown, limit: unknown): Promise<{ channels: ChannelCount[]; cursor?: string }> {
    if (
      pattern !== undefined &&
      (typeof pattern !== 'string' || pattern === '' || pattern.length > MAX_PATTERN_LENGTH || countStars(pattern) > MAX_PATTERN_STARS)
    ) {
      throw new ApiError(
        400,
        'INVALID_PATTERN',
        `pattern must be a non-empty glob ('*' matches any run of characters) of at most ${MAX_PATTERN_LENGTH} characters and ${MAX_PATTERN_STARS} '*'`,
      );
    }
    if (cursor !== undefined && (typeof cursor !== 'string' || cursor === '' || cursor.length > 4 * 1024)) {
      throw new ApiError(400, 'INVALID_CURSOR', 'cursor must be the cursor of the previous page');
    }
    // A pattern of only '*' is every topic: skip the matching.
    return this.control.channels(pattern === '*' ? undefined : (pattern as string | undefined), cursor as string | undefined, parseLimit(limit));
  }

  /** Publications of a public topic, or of `uid`'s private `topic`, after `since` (or from the oldest held). */
  async history(input: { topic: unknown; uid?: unknown; since?: StreamPosition; limit?: unknown }): Promise<HistoryReply> {
    const stream = this.streamOf(input.topic, input.uid);
    const result = await this.engine.history(stream, input.since, parseLimit(input.limit));
    const publications = result.recovered
      ? result.publications.map((delivery): HistoryPublication => {
          const position = delivery.position as StreamPosition;
          const text = isUtf8(delivery.data);
          return {
            seq: position.seq,
            epoch: position.epoch,
            ...(text ? { data: delivery.data.toString('utf8') } : { dataBase64: delivery.data.toString('base64') }),
            bytes: delivery.data,
          };
        })
      : [];
    return { publications, position: result.position, recovered: result.recovered };
  }

  async removeHistory(input: { topic: unknown; uid?: unknown }): Promise<void> {
    await this.engine.removeHistory(this.streamOf(input.topic, input.uid));
  }

  info(): Promise<NodeInfo[]> {
    return this.control.info();
  }

  private streamOf(topic: unknown, uid: unknown): string {
    const name = this.requireTopic(topic);
    if (uid === undefined) return streamOf({ topic: name });
    return streamOf({ uid: requireUid(uid), topic: name });
  }

  private requireTopic(topic: unknown): string {
    if (topic === undefined) throw new ApiError(400, 'BAD_REQUEST', 'topic is required');
    const problem = checkTopic(topic, this.rules);
    if (problem !== undefined) throw new ApiError(400, 'INVALID_TOPIC', problem);
    return topic as string;
  }
}

function requireUid(uid: unknown): string {
  if (uid === undefined) throw new ApiError(400, 'BAD_REQUEST', 'uid is required');
  const problem = checkUid(uid);
  if (problem !== undefined) throw new ApiError(400, 'INVALID_UID', problem);
  return uid as string;
}

/** `limit`: an integer from 1 to {@link MAX_LIMIT}; undefined → {@link DEFAULT_LIMIT}. */
export function parseLimit(limit: unknown): number {
  if (limit === undefined) return DEFAULT_LIMIT;
  if (typeof limit !== 'number' || !Number.isInteger(limit) || limit < 1 || limit > MAX_LIMIT) {
    throw new ApiError(400, 'INVALID_LIMIT', `limit must be an integer from 1 to ${MAX_LIMIT}`);
  }
  return limit;
}

function countStars(pattern: string): number {
  let stars = 0;
  for (let i = 0; i < pattern.length; i++) if (pattern.charCodeAt(i) === 42 /* * */) stars++;
  return stars;
}
