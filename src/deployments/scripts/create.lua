-- Creates a deployment and takes its service+environment lock, or names the deployment holding it.
--
-- KEYS[1] lock:<service>:<env>   the active deployment's id
-- KEYS[2] dep:<id>               hash: state, rev, checklist, values
-- KEYS[3] dep:<id>:audit         stream of audit events
-- KEYS[4] active                 set of active deployment ids
-- KEYS[5] history:<service>      sorted set of deployment ids by start time
-- KEYS[6] checklist:<sha>        the checklist as loaded (shared by content hash)
-- KEYS[7] inbox                  hash of requests not carried out yet
-- ARGV[1] deployment id
-- ARGV[2] state (JSON)
-- ARGV[3] checklist content hash
-- ARGV[4] template values (JSON)
-- ARGV[5] checklist (JSON)
-- ARGV[6] start time (history score)
-- ARGV[7] how many deployments history keeps
-- ARGV[8] n: how many inbox request ids follow (they leave the inbox in this write)
-- ARGV[9..8+n] the request ids, then per audit event: its field count, then its fields
-- Returns {1, id} when created, {0, holder} when another deployment holds the lock.
local existing = redis.call('GET', KEYS[1])
if existing then return {0, existing} end
redis.call('SET', KEYS[1], ARGV[1])
redis.call('SET', KEYS[6], ARGV[5], 'NX')
redis.call('HSET', KEYS[2], 'state', ARGV[2], 'rev', '1', 'checklist', ARGV[3], 'values', ARGV[4])
local i = 9
for j = 1, tonumber(ARGV[8]) do
  redis.call('HDEL', KEYS[7], ARGV[i])
  i = i + 1
end
while i <= #ARGV do
  local n = tonumber(ARGV[i])
  redis.call('XADD', KEYS[3], '*', unpack(ARGV, i + 1, i + n))
  i = i + n + 1
end
redis.call('SADD', KEYS[4], ARGV[1])
redis.call('ZADD', KEYS[5], ARGV[6], ARGV[1])
redis.call('ZREMRANGEBYRANK', KEYS[5], 0, -(tonumber(ARGV[7]) + 1))
return {1, ARGV[1]}
