-- Takes over an inbox entry of a dead process: only if it is still there, unchanged, and its process's
-- heartbeat is still gone.
--
-- KEYS[1] inbox               hash: request id -> entry (JSON)
-- KEYS[2] process:<id>        the heartbeat of the process that recorded the entry
-- ARGV[1] request id
-- ARGV[2] the entry as the caller read it
-- ARGV[3] the entry rewritten as this process's
-- Returns 1 when taken over, 0 otherwise.
local raw = redis.call('HGET', KEYS[1], ARGV[1])
if raw ~= ARGV[2] then return 0 end
if redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
return 1
