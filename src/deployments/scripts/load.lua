-- Reads a deployment, sending its state only when its revision is not the one the caller already holds
-- (most loads, on this path).
--
-- KEYS[1] dep:<id>   hash: state, rev, checklist, values
-- ARGV[1] the revision the caller holds ('' for none)
-- Returns {} when there is no such deployment, else {rev, state or false, checklist hash, values}.
local rev = redis.call('HGET', KEYS[1], 'rev')
if not rev then return {} end
if rev == ARGV[1] then return {rev, false, redis.call('HGET', KEYS[1], 'checklist'), redis.call('HGET', KEYS[1], 'values')} end
return {rev, redis.call('HGET', KEYS[1], 'state'), redis.call('HGET', KEYS[1], 'checklist'), redis.call('HGET', KEYS[1], 'values')}
