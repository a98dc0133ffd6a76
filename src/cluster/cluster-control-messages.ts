/**
 * The IPC messages of the `--workers` control plane (memory engine), and
 * their validators. They travel between the primary and its own workers, but
 * a message is still checked before use: one that does not parse is ignored
 * (and reported), never trusted or thrown on.
 *
 * Worker → primary:
 * - `cp`: what the worker's node reported in one event-loop turn, in order
 *   (presence adds and removes, join/leave watches and events);
 * - `cr`: the answer to a primary's request `cq`;
 * - `ca`: a question of the worker's node (presence for client ops 7/8…),
 *   answered with `cv`.
 *
 * Primary → worker: `cq` (a command, info or channels request), `jl`
 * (join/leave events of topics the worker watches), `cv`.
 */
import type { ChannelCount, ControlCommand, NodeInfo, PresenceEntry, PresenceStats } from '../control/control-plane.js';
import { parseCommand } from '../control/redis-control-messages.js';

/**
 * One report of a worker's node. Entries and events carry no node id: the
 * primary fills in the id it gave the worker, so a worker can only speak for
 * itself.
 */
export type ControlOp =
  /** presenceAdd(topic, {client, uid, connectedAt}) */
  | ['+', topic: string, client: string, uid: string, connectedAt: number]
  /** presenceRemove(topic, client) */
  | ['-', topic: string, client: string]
  /** watchJoinLeave(topic, watching) */
  | ['w', topic: string, watching: boolean]
  /** publishJoinLeave */
  | ['j', kind: 'join' | 'leave', topic: string, client: string, uid: string, connectedAt: number];

/** A join/leave event on the wire: the entry in full (node included). */
export type WireJoinLeave = [kind: 'join' | 'leave', topic: string, client: string, uid: string, node: string, connectedAt: number];

/** What the primary asks every worker's node. */
export type ControlRequestBody =
  | { kind: 'command'; command: ControlCommand }
  | { kind: 'info' }
  | { kind: 'channels'; pattern?: string; after?: string; limit: number };

/** What a worker's node asks the primary (the `ControlPlane` reads and requests). */
export type ControlQuestion =
  | ControlRequestBody
  | { kind: 'presence'; topic: string; limit: number }
  | { kind: 'presenceStats'; topic: string };

/** The answer to a {@link ControlQuestion}, by kind. */
export type ControlAnswer = number | NodeInfo[] | { channels: ChannelCount[]; cursor?: string } | PresenceEntry[] | PresenceStats;

export type ControlToPrimary =
  | { t: 'cp'; ops: ControlOp[] }
  | { t: 'cr'; id: number; affected?: number; info?: NodeInfo; channels?: ChannelCount[] }
  | { t: 'ca'; id: number; q: ControlQuestion };

export type ControlToWorker =
  | { t: 'cq'; id: number; q: ControlRequestBody }
  | { t: 'jl'; events: WireJoinLeave[] }
  | { t: 'cv'; id: number; value?: ControlAnswer; error?: string };

const isString = (value: unknown): value is string => typeof value === 'string';
const isCount = (value: unknown): value is number => typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
const isTime = (value: unknown): value is number => typeof value === 'number' && Number.isFinite(value);
const optionalString = (value: unknown): value is string | undefined => value === undefined || typeof value === 'string';

function asObject(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}

function isOp(op: unknown): op is ControlOp {
  if (!Array.isArray(op)) return false;
  switch (op[0]) {
    case '+':
      return op.length === 5 && isString(op[1]) && isString(op[2]) && isString(op[3]) && isTime(op[4]);
    case '-':
      return op.length === 3 && isString(op[1]) && isString(op[2]);
    case 'w':
      return op.length === 3 && isString(op[1]) && typeof op[2] === 'boolean';
    case 'j':
      return op.length === 6 && (op[1] === 'join' || op[1] === 'leave') && isString(op[2]) && isString(op[3]) && isString(op[4]) && isTime(op[5]);
    default:
      return false;
  }
}

export function parseNodeInfo(value: unknown): NodeInfo | undefined {
  const info = asObject(value);
  if (info === undefined) return undefined;
  const { id, address, connections, subscriptions, uptimeMs, version } = info;
  if (!isString(id) || !isString(address) || !isString(version)) return undefined;
  if (!isCount(connections) || !isCount(subscriptions) || !isTime(uptimeMs)) return undefined;
  return { id, address, connections, subscriptions, uptimeMs, version };
}

function parseChannels(value: unknown): ChannelCount[] | undefined {
  if (!Array.isArray(value)) return undefined;
  const channels: ChannelCount[] = [];
  for (const item of value) {
    const channel = asObject(item);
    if (channel === undefined || !isString(channel.topic) || !isCount(channel.subscribers)) return undefined;
    channels.push({ topic: channel.topic, subscribers: channel.subscribers });
  }
  return channels;
}

function parseRequestBody(value: unknown): ControlRequestBody | undefined {
  const q = asObject(value);
  if (q === undefined) return undefined;
  if (q.kind === 'command') {
    const command = parseCommand(q.command);
    return command === undefined ? undefined : { kind: 'command', command };
  }
  if (q.kind === 'info') return { kind: 'info' };
  if (q.kind === 'channels') {
    if (!optionalString(q.pattern) || !optionalString(q.after) || !isCount(q.limit) || q.limit < 1) return undefined;
    return { kind: 'channels', pattern: q.pattern, after: q.after, limit: q.limit };
  }
  return undefined;
}

function parseQuestion(value: unknown): ControlQuestion | undefined {
  const q = asObject(value);
  if (q === undefined) return undefined;
  if (q.kind === 'presence') return isString(q.topic) && isCount(q.limit) ? { kind: 'presence', topic: q.topic, limit: q.limit } : undefined;
  if (q.kind === 'presenceStats') return isString(q.topic) ? { kind: 'presenceStats', topic: q.topic } : undefined;
  return parseRequestBody(q);
}

/**
 * A control message from a worker; `null` when `message` is not one (another
 * kind of message), `undefined` when it claims to be one but is malformed.
 */
export function parseControlToPrimary(message: unknown): ControlToPrimary | null | undefined {
  const m = asObject(message);
  if (m === undefined || (m.t !== 'cp' && m.t !== 'cr' && m.t !== 'ca')) return null;
  if (m.t === 'cp') return Array.isArray(m.ops) && m.ops.every(isOp) ? { t: 'cp', ops: m.ops as ControlOp[] } : undefined;
  if (!isCount(m.id)) return undefined;
  if (m.t === 'ca') {
    const q = parseQuestion(m.q);
    return q === undefined ? undefined : { t: 'ca', id: m.id, q };
  }
  const reply: ControlToPrimary = { t: 'cr', id: m.id };
  if (m.affected !== undefined) {
    if (!isCount(m.affected)) return undefined;
    reply.affected = m.affected;
  }
  if (m.info !== undefined) {
    const info = parseNodeInfo(m.info);
    if (info === undefined) return undefined;
    reply.info = info;
  }
  if (m.channels !== undefined) {
    const channels = parseChannels(m.channels);
    if (channels === undefined) return undefined;
    reply.channels = channels;
  }
  return reply;
}

function isWireJoinLeave(event: unknown): event is WireJoinLeave {
  return (
    Array.isArray(event) &&
    event.length === 6 &&
    (event[0] === 'join' || event[0] === 'leave') &&
    isString(event[1]) &&
    isString(event[2]) &&
    isString(event[3]) &&
    isString(event[4]) &&
    isTime(event[5])
  );
}

/**
 * A control message from the primary; `null` when `message` is not one,
 * `undefined` when malformed. The answer of a `cv` is checked by whoever asked
 * (it knows the kind it expects).
 */
export function parseControlToWorker(message: unknown): ControlToWorker | null | undefined {
  const m = asObject(message);
  if (m === undefined || (m.t !== 'cq' && m.t !== 'jl' && m.t !== 'cv')) return null;
  if (m.t === 'jl') return Array.isArray(m.events) && m.events.every(isWireJoinLeave) ? { t: 'jl', events: m.events as WireJoinLeave[] } : undefined;
  if (!isCount(m.id)) return undefined;
  if (m.t === 'cq') {
    const q = parseRequestBody(m.q);
    return q === undefined ? undefined : { t: 'cq', id: m.id, q };
  }
  if (!optionalString(m.error)) return undefined;
  return { t: 'cv', id: m.id, value: m.value as ControlAnswer | undefined, error: m.error };
}

/** Checks that a `cv` answer has the shape its question's kind calls for. */
export function answerFits(kind: ControlQuestion['kind'], value: unknown): boolean {
  switch (kind) {
    case 'command':
      return isCount(value);
    case 'info':
      return Array.isArray(value) && value.every((info) => parseNodeInfo(info) !== undefined);
    case 'channels': {
      const page = asObject(value);
      return page !== undefined && parseChannels(page.channels) !== undefined && optionalString(page.cursor);
    }
    case 'presence':
      return (
        Array.isArray(value) &&
        value.every((item) => {
          const entry = asObject(item);
          return entry !== undefined && isString(entry.client) && isString(entry.uid) && isString(entry.node) && isTime(entry.connectedAt);
        })
      );
    case 'presenceStats': {
      const stats = asObject(value);
      return stats !== undefined && isCount(stats.clients) && isCount(stats.users);
    }
  }
}

/** A short description of a bad message for the log (never the whole of it). */
export function describeMessage(message: unknown): string {
  let text: string;
  try {
    text = JSON.stringify(message) ?? String(message);
  } catch {
    text = String(message);
  }
  return text.length > 200 ? `${text.slice(0, 200)}…` : text;
}
