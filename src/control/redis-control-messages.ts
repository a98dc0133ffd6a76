/**
 * The JSON messages of RedisControlPlane's scatter-gather, and their parsers.
 * They travel only between nodes of one prefix, but a channel is open to any
 * Redis client: whatever does not parse is ignored (and reported).
 *
 * Join/leave on `P jl:<topic>`: the JoinLeaveEvent as JSON.
 *
 * Request on `P control`: `{"id","origin","kind":"command","command":{…}}`,
 * `{"id","origin","kind":"channels","pattern"?,"after"?,"limit"}` or
 * `{"id","origin","kind":"info"}`.
 * Answer on `P control:reply:<origin>`: `{"id","node","affected"}`,
 * `{"id","node","channels":[{"topic","subscribers"}…]}` or `{"id","node","info":{…}}`.
 */
import type { ChannelCount, ControlCommand, JoinLeaveEvent, NodeInfo } from './control-plane.js';

export type ControlRequest = { id: string; origin: string } & (
  | { kind: 'command'; command: ControlCommand }
  | { kind: 'channels'; pattern: string | undefined; after: string | undefined; limit: number }
  | { kind: 'info' }
);

export interface ControlReply {
  id: string;
  node: string;
  affected?: number;
  channels?: ChannelCount[];
  info?: NodeInfo;
}

function parseObject(json: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(json);
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

const optionalString = (value: unknown): value is string | undefined => value === undefined || typeof value === 'string';

export function parseCommand(value: unknown): ControlCommand | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const c = value as Record<string, unknown>;
  if (typeof c.uid !== 'string') return undefined;
  if (c.op === 'disconnect') {
    if (typeof c.code !== 'number' || typeof c.reason !== 'string' || !optionalString(c.client)) return undefined;
    const command: ControlCommand = { op: 'disconnect', uid: c.uid, code: c.code, reason: c.reason };
    if (c.client !== undefined) command.client = c.client as string;
    return command;
  }
  if (c.op === 'subscribe' || c.op === 'unsubscribe') {
    if (typeof c.topic !== 'string' || typeof c.private !== 'boolean') return undefined;
    return { op: c.op, uid: c.uid, topic: c.topic, private: c.private };
  }
  return undefined;
}

export function parseRequest(json: string): ControlRequest | undefined {
  const value = parseObject(json);
  if (value === undefined || typeof value.id !== 'string' || typeof value.origin !== 'string') return undefined;
  const { id, origin } = value;
  if (value.kind === 'command') {
    const command = parseCommand(value.command);
    return command === undefined ? undefined : { id, origin, kind: 'command', command };
  }
  if (value.kind === 'channels') {
    const { pattern, after, limit } = value;
    if (!optionalString(pattern) || !optionalString(after) || !Number.isSafeInteger(limit) || (limit as number) < 1) return undefined;
    return { id, origin, kind: 'channels', pattern, after, limit: limit as number };
  }
  if (value.kind === 'info') return { id, origin, kind: 'info' };
  return undefined;
}

export function parseReply(json: string): ControlReply | undefined {
  const value = parseObject(json);
  if (value === undefined || typeof value.id !== 'string' || typeof value.node !== 'string') return undefined;
  const reply: ControlReply = { id: value.id, node: value.node };
  if (typeof value.affected === 'number' && Number.isFinite(value.affected)) reply.affected = value.affected;
  if (Array.isArray(value.channels)) {
    const channels: ChannelCount[] = [];
    for (const item of value.channels as unknown[]) {
      if (typeof item !== 'object' || item === null) return undefined;
      const { topic, subscribers } = item as Record<string, unknown>;
      if (typeof topic !== 'string' || typeof subscribers !== 'number') return undefined;
      channels.push({ topic, subscribers });
    }
    reply.channels = channels;
  }
  if (typeof value.info === 'object' && value.info !== null) {
    const { id, address, connections, subscriptions, uptimeMs, version } = value.info as Record<string, unknown>;
    if (typeof id !== 'string' || typeof address !== 'string' || typeof version !== 'string') return undefined;
    if (typeof connections !== 'number' || typeof subscriptions !== 'number' || typeof uptimeMs !== 'number') return undefined;
    reply.info = { id, address, connections, subscriptions, uptimeMs, version };
  }
  return reply;
}

/** A join/leave event from channel `P jl:<topic>` (its topic must be the channel's). */
export function parseJoinLeave(message: string, topic: string): JoinLeaveEvent | undefined {
  let value: Record<string, unknown>;
  try {
    value = JSON.parse(message) as Record<string, unknown>;
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const { kind, entry } = value;
  if ((kind !== 'join' && kind !== 'leave') || value.topic !== topic || typeof entry !== 'object' || entry === null) return undefined;
  const { client, uid, node, connectedAt } = entry as Record<string, unknown>;
  if (typeof client !== 'string' || typeof uid !== 'string' || typeof node !== 'string' || typeof connectedAt !== 'number') return undefined;
  return { kind, topic, entry: { client, uid, node, connectedAt } };
}
