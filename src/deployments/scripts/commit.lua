-- Writes a transition if the revision is still the expected one (compare-and-set), with its audit events,
-- the inbox requests it carries out, the check runs it finishes and what it does with the service's lock.
--
-- KEYS[1] dep:<id>               hash: state, rev
-- KEYS[2] dep:<id>:audit         stream of audit events
-- KEYS[3] lock:<service>:<env>   the active deployment's id
-- KEYS[4] active                 set of active deployment ids
-- KEYS[5] dep:<id>:started       hash: item id -> the check run a worker started
-- KEYS[6] history:<service>      sorted set of deployment ids by start time
-- KEYS[7] watching               sorted set of completed deployments whose rollback triggers watch
-- KEYS[8] inbox                  hash of requests not carried out yet
-- ARGV[1] expected revision
-- ARGV[2] new state (JSON)
-- ARGV[3] lock: `release` (it ended), `hold` (active, or a completed deployment rolling back: taken if
--         free, refused with -1 when another deployment holds it and with -2 when a later deployment of
--         the service exists), or `keep`
-- ARGV[4] deployment id
-- ARGV[5] f: how many finished check runs follow (item id, run) after the request ids
-- ARGV[6] watch until (ms), or '' when no rollback trigger watches any more
-- ARGV[7] n: how many inbox request ids follow (they leave the inbox in this same write, so a request is
--         carried out once even if the process dies right after)
-- ARGV[8..] the n request ids, the f (item id, run) pairs, then per audit event: its field count, fields
-- Returns 1 when written, 0 when stale, -1 when locked, -2 when superseded.
if redis.call('HGET', KEYS[1], 'rev') ~= ARGV[1] then return 0 end
if ARGV[3] == 'hold' then
  local holder = redis.call('GET', KEYS[3])
  if holder and holder ~= ARGV[4] then return -1 end
  if not holder then
    if redis.call('ZREVRANGE', KEYS[6], 0, 0)[1] ~= ARGV[4] then return -2 end
    redis.call('SET', KEYS[3], ARGV[4])
    redis.call('SADD', KEYS[4], ARGV[4])
  end
end
redis.call('HSET', KEYS[1], 'state', ARGV[2])
redis.call('HINCRBY', KEYS[1], 'rev', 1)
local i = 8
for j = 1, tonumber(ARGV[7]) do
  redis.call('HDEL', KEYS[8], ARGV[i])
  i = i + 1
end
for j = 1, tonumber(ARGV[5]) do
  if redis.call('HGET', KEYS[5], ARGV[i]) == ARGV[i + 1] then redis.call('HDEL', KEYS[5], ARGV[i]) end
  i = i + 2
end
while i <= #ARGV do
  local n = tonumber(ARGV[i])
  redis.call('XADD', KEYS[2], '*', unpack(ARGV, i + 1, i + n))
  i = i + n + 1
end
if ARGV[3] == 'release' then
  if redis.call('GET', KEYS[3]) == ARGV[4] then redis.call('DEL', KEYS[3]) end
  redis.call('SREM', KEYS[4], ARGV[4])
end
if ARGV[6] == '' then
  redis.call('ZREM', KEYS[7], ARGV[4])
else
  redis.call('ZADD', KEYS[7], ARGV[6], ARGV[4])
end
return 1
