-- Gives up a claim to post a Slack message, only while the claim is still the caller's: a poster whose
-- claim went stale and was taken over must not free (or mark) the claim of the one who took it over.
--
-- KEYS[1] dep:<id>:slack   hash: message key -> Slack ts, or 'posting:<claimed at ms>' while claimed
-- ARGV[1] message key
-- ARGV[2] the caller's claim, 'posting:<claimed at ms>'
-- ARGV[3] '1': Slack may hold the message (its answer was lost), so the claim is left stale
--         ('posting:0') for the next poster to look in Slack first; '0': the field is freed
-- Returns 1 when the claim was the caller's, 0 when it was not (nothing changed).
if redis.call('HGET', KEYS[1], ARGV[1]) ~= ARGV[2] then
  return 0
end
if ARGV[3] == '1' then
  redis.call('HSET', KEYS[1], ARGV[1], 'posting:0')
else
  redis.call('HDEL', KEYS[1], ARGV[1])
end
return 1
