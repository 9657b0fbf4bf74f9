-- Claims the right to post a Slack message: taken when the field is free ('new'), or when it holds a claim
-- made before ARGV[2] ('taken-over': its poster died mid-post or lost Slack's answer, so the message may be
-- in Slack already). Read and write in one script (compare-and-set), so two replicas never both take over
-- the same stale claim.
--
-- KEYS[1] dep:<id>:slack   hash: message key -> Slack ts, or 'posting:<claimed at ms>' while claimed
-- ARGV[1] message key
-- ARGV[2] stale before (ms): a claim made at or before this may be taken over
-- ARGV[3] now (ms), recorded in the claim
-- Returns 'new', 'taken-over', or false (posted already, or a fresh claim is held).
local current = redis.call('HGET', KEYS[1], ARGV[1])
if not current then
  redis.call('HSET', KEYS[1], ARGV[1], 'posting:' .. ARGV[3])
  return 'new'
end
if string.sub(current, 1, 8) == 'posting:' and tonumber(string.sub(current, 9)) <= tonumber(ARGV[2]) then
  redis.call('HSET', KEYS[1], ARGV[1], 'posting:' .. ARGV[3])
  return 'taken-over'
end
return false
