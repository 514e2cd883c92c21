--[[
  Marks reservations confirmed once their order rows are committed. Idempotent.
  Takes the orders of one group commit at once; all of them belong to one sale, so the
  keys share one hash tag and one cluster slot.
  A finished reservation stays as a tombstone with a TTL so late messages find it.

  Input:
    KEYS[1]      in-flight zset of the sale
    KEYS[2..n]   reservation hashes

    ARGV[1]      tombstone ttl, seconds
    ARGV[2..n]   order ids, one per reservation hash, in the same order

  Output: one code per reservation, in the order of KEYS[2..n]
     1 CONFIRMED
     0 ALREADY_CONFIRMED
    -2 RELEASED   the stock was already returned: the caller has a consistency problem to report
    -1 UNKNOWN
]]
local ttl = tonumber(ARGV[1])
local codes = {}
for i = 2, #KEYS do
  local key = KEYS[i]
  local state = redis.call('HGET', key, 's')
  if not state then
    codes[i - 1] = -1
  elseif state == 'F' then
    codes[i - 1] = 0
  elseif state == 'R' then
    codes[i - 1] = -2
  else
    redis.call('HSET', key, 's', 'F')
    redis.call('EXPIRE', key, ttl)
    redis.call('ZREM', KEYS[1], ARGV[i])
    codes[i - 1] = 1
  end
end
return codes
