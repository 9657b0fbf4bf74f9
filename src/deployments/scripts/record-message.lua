-- Records the Slack ts of a message its poster got into Slack under a claim, unless someone else has
-- recorded another message for the same key since (the claim went stale and was taken over, and the
-- taker posted too): then the caller's message is the second copy, and the caller deletes it.
--
-- KEYS[1] dep:<id>:slack   hash: message key -> Slack ts, or 'posting:<claimed at ms>' while claimed
-- ARGV[1] message key
-- ARGV[2] the Slack ts to record
-- Returns 1 when recorded (or already recorded with this ts), 0 when another ts is recorded.
local current = redis.call('HGET', KEYS[1], ARGV[1])
if current and current ~= ARGV[2] and string.sub(current, 1, 8) ~= 'posting:' then
  return 0
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return 1
