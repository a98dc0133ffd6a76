/**
 * Lua of {@link RedisOccupancy}. Every key is under the `{occ}` hash tag (one
 * Cluster slot) below the prefix `P`:
 * - `P{occ}:nodes`: sorted set, node id → expiry (Redis server ms);
 * - `P{occ}:n:<node>`: set of the topics the node holds members of;
 * - `P{occ}:t:<topic>`: set of the nodes holding members of the topic.
 * A topic is occupied while its set is non-empty. Expiries use Redis's
 * clock (TIME), so node clocks need not agree.
 */

const NOW = `local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)`;

/**
 * KEYS[1] nodes; ARGV[1] key base (`P{occ}:`), ARGV[2] node id, then pairs
 * (`+` or `-`, topic). Applies each change in order and answers, per pair,
 * 1 when it changed the cluster's state of the topic (0→1 nodes, or 1→0),
 * else 0. Answers -1 without applying anything when the node is not live in
 * the registry (its entry expired: it may have been swept): the caller
 * registers again and resynchronizes.
 */
export const OCCUPANCY_APPLY_LUA = `${NOW}
local score = redis.call('ZSCORE', KEYS[1], ARGV[2])
if not score or tonumber(score) < now then return -1 end
local nodeKey = ARGV[1] .. 'n:' .. ARGV[2]
local out = {}
for i = 3, #ARGV, 2 do
  local topic = ARGV[i + 1]
  local topicKey = ARGV[1] .. 't:' .. topic
  local changed = 0
  if ARGV[i] == '+' then
    redis.call('SADD', nodeKey, topic)
    if redis.call('SADD', topicKey, ARGV[2]) == 1 and redis.call('SCARD', topicKey) == 1 then changed = 1 end
  else
    redis.call('SREM', nodeKey, topic)
    if redis.call('SREM', topicKey, ARGV[2]) == 1 and redis.call('SCARD', topicKey) == 0 then changed = 1 end
  end
  out[#out + 1] = changed
end
return out`;

/**
 * KEYS[1] nodes; ARGV[1] node id, ARGV[2] TTL ms. Pushes the node's expiry
 * forward; answers 1 when it was live before, 0 when it was absent or had
 * expired (then the caller resynchronizes its topics).
 */
export const OCCUPANCY_REGISTER_LUA = `${NOW}
local score = redis.call('ZSCORE', KEYS[1], ARGV[1])
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
if score and tonumber(score) >= now then return 1 end
return 0`;

/**
 * KEYS[1] nodes; ARGV[1] key base, ARGV[2] most topics per call, ARGV[3] a
 * node id to release now (orderly close) or '' for the expired ones.
 * Takes up to ARGV[2] topics of one such node out of their topic sets and
 * answers {more, vacated topic…}: more = 1 when there may be more to do (call
 * again). A node whose topics are all gone leaves the registry. One script
 * call is atomic, so each vacated topic is answered to exactly one caller.
 */
export const OCCUPANCY_SWEEP_LUA = `${NOW}
local node = ARGV[3]
if node == '' then
  local dead = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', '(' .. now, 'LIMIT', 0, 1)
  if #dead == 0 then return {0} end
  node = dead[1]
end
local nodeKey = ARGV[1] .. 'n:' .. node
local topics = redis.call('SPOP', nodeKey, tonumber(ARGV[2]))
local out = {1}
for _, topic in ipairs(topics) do
  local topicKey = ARGV[1] .. 't:' .. topic
  if redis.call('SREM', topicKey, node) == 1 and redis.call('SCARD', topicKey) == 0 then out[#out + 1] = topic end
end
if redis.call('SCARD', nodeKey) == 0 then
  redis.call('ZREM', KEYS[1], node)
  if ARGV[3] ~= '' then out[1] = 0 end
end
return out`;
