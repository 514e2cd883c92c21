--[[
  Marks a reservation confirmed once its order row is committed. Idempotent.
  The finished reservation stays as a tombstone with a TTL so late messages find it.

  Input:
    KEYS[1] reservation hash
    KEYS[2] in-flight zset

    ARGV[1] order id
    ARGV[2] tombstone ttl, seconds

  Output:
     1 CONFIRMED
     0 ALREADY_CONFIRMED
    -2 RELEASED   the stock was already returned: the caller has a consistency problem to report
    -1 UNKNOWN
]]
local state = redis.call('HGET', KEYS[1], 's')
if not state then
  return -1
end
if state == 'F' then
  return 0
end
if state == 'R' then
  return -2
end
redis.call('HSET', KEYS[1], 's', 'F')
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[2]))
redis.call('ZREM', KEYS[2], ARGV[1])
return 1
