/**
 * The Lua scripts of RedisControlPlane. Each runs atomically, so a presence
 * entry, its expiry and its user's count change as one step.
 *
 * Times come from the Redis server (`TIME`), not from the nodes: every
 * expiry is written and compared on one clock, so nodes whose clocks drift
 * apart cannot expire each other's entries early. (Redis ≥ 5 replicates
 * scripts by their effects, so calling TIME before a write is allowed.)
 *
 * Keys of a topic `T`, under the prefix `P` (the `{T}` hash tag puts the three
 * in one Redis Cluster slot):
 * - `P presence:{T}`       hash: client id → the PresenceEntry as JSON;
 * - `P presence-exp:{T}`   sorted set: client id, scored by its expiry (ms);
 * - `P presence-users:{T}` hash: uid → how many of its connections are listed
 *                          (anonymous connections, uid '', are not counted).
 * Every write sets all three to expire `keyTtlMs` later (a few presence TTLs),
 * so the keys of a topic every node forgot vanish on their own.
 */

/** Shared Lua: the server clock, the uid of a stored entry, one user connection fewer. */
const COMMON_LUA = `
local function nowMs()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local function uidOf(json)
  local ok, entry = pcall(cjson.decode, json)
  if ok and type(entry) == 'table' and type(entry.uid) == 'string' then return entry.uid end
  return ''
end
local function dropUser(usersKey, uid)
  if uid == '' then return end
  if redis.call('HINCRBY', usersKey, uid, -1) <= 0 then redis.call('HDEL', usersKey, uid) end
end
local function touchKeys(keyTtl)
  redis.call('PEXPIRE', KEYS[1], keyTtl)
  redis.call('PEXPIRE', KEYS[2], keyTtl)
  redis.call('PEXPIRE', KEYS[3], keyTtl)
end
`;

/**
 * Add (or re-add) entries. KEYS: presence, presence-exp, presence-users.
 * ARGV: TTL (ms), key TTL (ms), then client, entry JSON, client, JSON…
 * A client already listed is overwritten; its user is counted once (moved if
 * the uid changed). Returns nothing.
 */
export const PRESENCE_ADD_LUA = `${COMMON_LUA}
local expireAt = nowMs() + tonumber(ARGV[1])
for i = 3, #ARGV - 1, 2 do
  local client, json = ARGV[i], ARGV[i + 1]
  local old = redis.call('HGET', KEYS[1], client)
  local uid = uidOf(json)
  redis.call('HSET', KEYS[1], client, json)
  redis.call('ZADD', KEYS[2], expireAt, client)
  local oldUid = nil
  if old then oldUid = uidOf(old) end
  if oldUid ~= uid then
    if oldUid then dropUser(KEYS[3], oldUid) end
    if uid ~= '' then redis.call('HINCRBY', KEYS[3], uid, 1) end
  end
end
touchKeys(ARGV[2])
return 0
`;

/** Remove clients. KEYS as above. ARGV: client ids. Returns how many were listed. */
export const PRESENCE_REMOVE_LUA = `${COMMON_LUA}
local removed = 0
for i = 1, #ARGV do
  local old = redis.call('HGET', KEYS[1], ARGV[i])
  redis.call('ZREM', KEYS[2], ARGV[i])
  if old then
    redis.call('HDEL', KEYS[1], ARGV[i])
    dropUser(KEYS[3], uidOf(old))
    removed = removed + 1
  end
end
return removed
`;

/**
 * Push the expiry of a node's own clients forward: one ZADD XX for the whole
 * batch. KEYS as above. ARGV: TTL (ms), key TTL (ms), client ids. Returns the
 * clients that were not listed any more (a read's cleanup dropped them while
 * this node could not refresh, or Redis lost its data): the node adds those
 * again in full.
 */
export const PRESENCE_REFRESH_LUA = `${COMMON_LUA}
local expireAt = nowMs() + tonumber(ARGV[1])
local args = {}
for i = 3, #ARGV do
  args[#args + 1] = expireAt
  args[#args + 1] = ARGV[i]
end
local missing = {}
if #args > 0 then
  local changed = redis.call('ZADD', KEYS[2], 'XX', 'CH', unpack(args))
  if changed < #ARGV - 2 then
    for i = 3, #ARGV do
      if not redis.call('ZSCORE', KEYS[2], ARGV[i]) then missing[#missing + 1] = ARGV[i] end
    end
  end
end
touchKeys(ARGV[2])
return missing
`;

/**
 * Drop expired clients (at most ARGV[1] of them: the caller repeats while a
 * batch comes back full, so no single script blocks Redis for long), then
 * count. KEYS as above. Returns {expired removed, clients, users}: both
 * counts are HLENs, O(1) whatever the topic's size.
 */
export const PRESENCE_CLEANUP_LUA = `${COMMON_LUA}
local expired = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', nowMs(), 'LIMIT', 0, tonumber(ARGV[1]))
for _, client in ipairs(expired) do
  local old = redis.call('HGET', KEYS[1], client)
  redis.call('ZREM', KEYS[2], client)
  if old then
    redis.call('HDEL', KEYS[1], client)
    dropUser(KEYS[3], uidOf(old))
  end
end
return {#expired, redis.call('HLEN', KEYS[1]), redis.call('HLEN', KEYS[3])}
`;

/**
 * Register a node. KEYS: the node sorted set, the node's info key. ARGV: node
 * id, info JSON, TTL (ms). The info key expires with the TTL; the sorted set
 * scores the node by the same expiry, so a reader lists live nodes without
 * scanning keys.
 */
export const NODE_REGISTER_LUA = `${COMMON_LUA}
local ttl = tonumber(ARGV[3])
redis.call('SET', KEYS[2], ARGV[2], 'PX', ttl)
redis.call('ZADD', KEYS[1], nowMs() + ttl, ARGV[1])
redis.call('PEXPIRE', KEYS[1], 3 * ttl)
return 0
`;

/** Live node ids: prune expired members of the node sorted set, list the rest. KEYS: the node sorted set. */
export const NODES_LIVE_LUA = `${COMMON_LUA}
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', nowMs())
return redis.call('ZRANGE', KEYS[1], 0, -1)
`;
