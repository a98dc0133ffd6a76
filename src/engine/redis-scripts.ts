import type { Delivery, StreamPosition } from './engine.js';
import { topicOfStream, type HistoryFor, type HistoryLimits } from '../streams.js';

/**
 * The Lua scripts of RedisEngine and the binary framing of the messages they
 * PUBLISH. Each script runs atomically in Redis, so a publication's sequence
 * number, its history entry and its PUBLISH happen as one step, in one order
 * for every node.
 *
 * Keys of a stream `<s>` (see `streamOf`), all under the engine's prefix `P`:
 * - `P seq:<s>`   string, the last seq handed out (INCR);
 * - `P epoch:<s>` string, the incarnation's epoch;
 * - `P s:<s>`     stream, entries `0-<seq>` with fields `data`, and `uid` /
 *                 `topic` when the publication has them.
 * Every publish sets all three to expire `historyTtlMs` later.
 */

/**
 * Lua shared by both scripts: the stream's incarnation. When the epoch key or
 * the seq key is missing (first use, TTL expiry, eviction, a Redis restart
 * without persistence), a new incarnation starts: seq 0, the candidate epoch
 * from ARGV[1], and no history entries left over from an older one — so a
 * position from before can never be mistaken for one after.
 */
const INCARNATION_LUA = `
local function incarnation(seqKey, epochKey, streamKey, candidate, ttlMs)
  local epoch = redis.call('GET', epochKey)
  if epoch and redis.call('EXISTS', seqKey) == 1 then return epoch end
  redis.call('DEL', streamKey)
  redis.call('SET', seqKey, 0, 'PX', ttlMs)
  redis.call('SET', epochKey, candidate, 'PX', ttlMs)
  return candidate
end
`;

/**
 * Publish. KEYS: seq, epoch, stream. ARGV: epoch candidate, history size,
 * TTL (ms), channel, has uid ('1'/'0'), uid, has topic ('1'/'0'), topic, data.
 * Returns `{seq, epoch}`.
 *
 * The payload arrives once and leaves once per subscribed node: it is stored
 * with XADD (MAXLEN ~ history size: Redis trims whole macro nodes, so it may
 * keep a few more entries than asked; `history` answers exactly the last
 * `historySize`) and published framed as described at {@link parseMessage}.
 */
export const PUBLISH_LUA = publishLua('PUBLISH', INCARNATION_LUA);

/**
 * Redis Cluster's incarnation: as above, and the epoch key also names the
 * node that wrote the stream last (`<epoch>@<node id>`). Replication is
 * asynchronous, so a replica promoted after its master failed may lack the
 * last publications — and would hand their numbers out again under the same
 * epoch, which a client that saw them could not tell. So when the writer is
 * not this node and is no healthy master any more (failed, demoted to a
 * replica, gone), a new incarnation starts: positions of before answer
 * `recovered: false`. A writer that is still a healthy master handed the slot
 * over by migration, which moves keys whole: the incarnation carries on.
 */
const CLUSTER_INCARNATION_LUA = `
local function writerLost(writer)
  for line in string.gmatch(redis.call('CLUSTER', 'NODES'), '[^\\n]+') do
    local id, flags = string.match(line, '^(%S+) %S+ (%S+)')
    if id == writer then
      return string.find(flags, 'fail', 1, true) ~= nil or string.find(flags, 'master', 1, true) == nil
    end
  end
  return true
end
local function incarnation(seqKey, epochKey, streamKey, candidate, ttlMs)
  local me = redis.call('CLUSTER', 'MYID')
  local stored = redis.call('GET', epochKey)
  if stored and redis.call('EXISTS', seqKey) == 1 then
    local at = string.find(stored, '@', 1, true)
    local epoch = at and string.sub(stored, 1, at - 1) or stored
    local writer = at and string.sub(stored, at + 1) or ''
    if writer == me then return epoch end
    if not writerLost(writer) then
      redis.call('SET', epochKey, epoch .. '@' .. me, 'PX', ttlMs)
      return epoch
    end
  end
  redis.call('DEL', streamKey)
  redis.call('SET', seqKey, 0, 'PX', ttlMs)
  redis.call('SET', epochKey, candidate .. '@' .. me, 'PX', ttlMs)
  return candidate
end
`;

/**
 * The publish script of the Redis Cluster engine: the same, with SPUBLISH
 * (sharded pub/sub, Redis ≥ 7) on a channel in the slot of the three keys, so
 * the whole publication stays on one shard, and the cluster's incarnation.
 */
export const SPUBLISH_LUA = publishLua('SPUBLISH', CLUSTER_INCARNATION_LUA);

/**
 * Several publications of one stream in one call (the cluster engine's
 * publish queue, see RedisClusterEngine.publish). KEYS and ARGV 1–8 as
 * {@link SPUBLISH_LUA}; ARGV 9… the payloads, in publish order. Each is
 * numbered, stored and SPUBLISHed on its own, exactly as one call per payload
 * would, so subscribers see no difference. Returns `{last seq, epoch}`: the
 * k payloads got the k seqs ending there.
 */
export const SPUBLISH_MANY_LUA = `${CLUSTER_INCARNATION_LUA}
local ttl = ARGV[3]
local epoch = incarnation(KEYS[1], KEYS[2], KEYS[3], ARGV[1], ttl)
local hasUid = ARGV[5] == '1'
local hasTopic = ARGV[7] == '1'
local size = tonumber(ARGV[2])
local uidLen = hasUid and string.len(ARGV[6]) or '-'
local topicLen = hasTopic and string.len(ARGV[8]) or '-'
local names = ARGV[6] .. ARGV[8]
local seq = 0
for i = 9, #ARGV do
  seq = redis.call('INCR', KEYS[1])
  local seqText = string.format('%d', seq)
  if size > 0 then
    local fields = {'data', ARGV[i]}
    if hasUid then fields[#fields + 1] = 'uid'; fields[#fields + 1] = ARGV[6] end
    if hasTopic then fields[#fields + 1] = 'topic'; fields[#fields + 1] = ARGV[8] end
    redis.call('XADD', KEYS[3], 'MAXLEN', '~', size, '0-' .. seqText, unpack(fields))
  end
  redis.call('SPUBLISH', ARGV[4], 'h1 ' .. seqText .. ' ' .. epoch .. ' ' .. uidLen .. ' ' .. topicLen .. '\\n' .. names .. ARGV[i])
end
if size > 0 then redis.call('PEXPIRE', KEYS[3], ttl) end
redis.call('PEXPIRE', KEYS[1], ttl)
redis.call('PEXPIRE', KEYS[2], ttl)
return {seq, epoch}
`;

function publishLua(command: 'PUBLISH' | 'SPUBLISH', incarnationLua: string): string {
  return `${incarnationLua}
local ttl = ARGV[3]
local epoch = incarnation(KEYS[1], KEYS[2], KEYS[3], ARGV[1], ttl)
local seq = redis.call('INCR', KEYS[1])
-- %d, not tostring: Lua prints numbers from 1e14 on in exponent form
local seqText = string.format('%d', seq)
local hasUid = ARGV[5] == '1'
local hasTopic = ARGV[7] == '1'
local size = tonumber(ARGV[2])
if size > 0 then
  local fields = {'data', ARGV[9]}
  if hasUid then fields[#fields + 1] = 'uid'; fields[#fields + 1] = ARGV[6] end
  if hasTopic then fields[#fields + 1] = 'topic'; fields[#fields + 1] = ARGV[8] end
  redis.call('XADD', KEYS[3], 'MAXLEN', '~', size, '0-' .. seqText, unpack(fields))
  redis.call('PEXPIRE', KEYS[3], ttl)
end
redis.call('PEXPIRE', KEYS[1], ttl)
redis.call('PEXPIRE', KEYS[2], ttl)
local uidLen = hasUid and string.len(ARGV[6]) or '-'
local topicLen = hasTopic and string.len(ARGV[8]) or '-'
local header = 'h1 ' .. seqText .. ' ' .. epoch .. ' ' .. uidLen .. ' ' .. topicLen .. '\\n'
redis.call('${command}', ARGV[4], header .. ARGV[6] .. ARGV[8] .. ARGV[9])
return {seq, epoch}
`;
}

/**
 * History. KEYS: seq, epoch, stream. ARGV: epoch candidate, TTL (ms), history
 * size, since seq (-1: position only; -2: from the oldest entry held), since
 * epoch, limit (0: none). Returns `{seq, epoch}`, or `{seq, epoch, entries,
 * since}` when the entries after `since` may all be held: same epoch (or
 * -2), `since <= seq`, and no more than `historySize` of them; at most `limit`
 * entries, the oldest first. The caller still checks that the entries run
 * exactly from since+1 on (the stream key may have been evicted or trimmed on
 * its own).
 *
 * Reading the position and the entries in one script is what makes them
 * agree: no publish can slip in between.
 *
 * A stream that does not exist yet gets its incarnation here (seq 0), so the
 * position handed out is resumable once publications start.
 */
export const HISTORY_LUA = historyLua(INCARNATION_LUA);

/** The history script of the Redis Cluster engine (its incarnation, see above). */
export const CLUSTER_HISTORY_LUA = historyLua(CLUSTER_INCARNATION_LUA);

function historyLua(incarnationLua: string): string {
  return `${incarnationLua}
local epoch = incarnation(KEYS[1], KEYS[2], KEYS[3], ARGV[1], ARGV[2])
local seq = tonumber(redis.call('GET', KEYS[1]))
local since = tonumber(ARGV[4])
local size = tonumber(ARGV[3])
if since == -2 then
  since = math.max(0, seq - size)
elseif since < 0 or since >= seq or ARGV[5] ~= epoch or seq - since > size then
  return {seq, epoch}
end
if since >= seq then return {seq, epoch, {}, since} end
local from = string.format('0-%d', since + 1)
local limit = tonumber(ARGV[6])
if limit > 0 then
  return {seq, epoch, redis.call('XRANGE', KEYS[3], from, '+', 'COUNT', limit), since}
end
return {seq, epoch, redis.call('XRANGE', KEYS[3], from, '+'), since}
`;
}

/** A message parsed from a routing channel. */
export interface ParsedMessage {
  seq: number;
  epoch: string;
  uid: string | undefined;
  topic: string | undefined;
  data: Buffer;
}

const NEWLINE = 0x0a;

/**
 * Parse one routing-channel message. The framing is a header line, then raw
 * bytes:
 *
 * ```
 * h1 <seq> <epoch> <uid bytes | -> <topic bytes | ->\n<uid><topic><data>
 * ```
 *
 * `-` marks an absent uid or topic (distinct from an empty one). The header is
 * ASCII (epochs are base64url); uid and topic are UTF-8 and measured in bytes,
 * so any byte may appear in them or in the data. Returns undefined for
 * anything else (e.g. a foreign PUBLISH on our channel). `data` is a view
 * into `message`, not a copy.
 */
export function parseMessage(message: Buffer): ParsedMessage | undefined {
  const nl = message.indexOf(NEWLINE);
  if (nl < 0 || nl > 128) return undefined;
  const parts = message.toString('latin1', 0, nl).split(' ');
  if (parts.length !== 5 || parts[0] !== 'h1') return undefined;
  const seq = Number(parts[1]);
  const uidLen = parts[3] === '-' ? -1 : Number(parts[3]);
  const topicLen = parts[4] === '-' ? -1 : Number(parts[4]);
  if (!Number.isSafeInteger(seq) || !isLength(uidLen) || !isLength(topicLen)) return undefined;
  const uidStart = nl + 1;
  const topicStart = uidStart + Math.max(uidLen, 0);
  const dataStart = topicStart + Math.max(topicLen, 0);
  if (dataStart > message.length) return undefined;
  return {
    seq,
    epoch: parts[2],
    uid: uidLen < 0 ? undefined : message.toString('utf8', uidStart, topicStart),
    topic: topicLen < 0 ? undefined : message.toString('utf8', topicStart, dataStart),
    data: message.subarray(dataStart),
  };
}

function isLength(n: number): boolean {
  return Number.isSafeInteger(n) && n >= -1;
}

/** The three keys of a stream (seq, epoch, entries), in the order the scripts take them. */
export function streamKeys(prefix: string, stream: string): [seq: string, epoch: string, entries: string] {
  return [`${prefix}seq:${stream}`, `${prefix}epoch:${stream}`, `${prefix}s:${stream}`];
}

/**
 * A stream's history limits for the scripts' arguments: its topic's (a
 * namespace's `historySize`/`historyTtl`, through `historyFor`) or the
 * engine's. Every node must be configured alike: the limits travel with each
 * publish and history read, not in Redis.
 */
export function streamLimits(stream: string, defaults: HistoryLimits, historyFor: HistoryFor | undefined): HistoryLimits {
  if (historyFor === undefined) return defaults;
  const topic = topicOfStream(stream);
  const limits = topic === undefined ? undefined : historyFor(topic);
  if (limits === undefined) return defaults;
  return { size: limits.historySize ?? defaults.size, ttlMs: limits.historyTtlMs ?? defaults.ttlMs };
}

/** An XRANGE entry as Buffers: id `0-<seq>`, then field, value, field, value… */
export type RawEntry = [id: Buffer, fields: Buffer[]];

/** The entries as deliveries, or undefined unless they are exactly since+1 … position.seq (or the first `limit` of those). */
export function toDeliveries(entries: RawEntry[], since: number, position: StreamPosition, limit = Infinity): Delivery[] | undefined {
  if (entries.length !== Math.min(limit, position.seq - since)) return undefined;
  const deliveries: Delivery[] = [];
  for (let i = 0; i < entries.length; i++) {
    const [id, fields] = entries[i];
    const seq = since + 1 + i;
    if (id.toString('latin1') !== `0-${seq}`) return undefined;
    const delivery: Delivery = { uid: undefined, topic: undefined, data: Buffer.alloc(0), position: { seq, epoch: position.epoch } };
    for (let f = 0; f + 1 < fields.length; f += 2) {
      const name = fields[f].toString('latin1');
      if (name === 'data') delivery.data = fields[f + 1];
      else if (name === 'uid') delivery.uid = fields[f + 1].toString('utf8');
      else if (name === 'topic') delivery.topic = fields[f + 1].toString('utf8');
    }
    deliveries.push(delivery);
  }
  return deliveries;
}

