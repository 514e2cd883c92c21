--[[
  Returns a reservation's units to the sale and to the buyer's allowance, exactly once.
  A reservation a worker has claimed (C) is only released with force, which callers use
  only after PostgreSQL holds the order as failed.

  Input:
    KEYS[1] sale hash
    KEYS[2] held hash
    KEYS[3] reservation hash
    KEYS[4] in-flight zset

    ARGV[1] order id
    ARGV[2] force: '1' releases a committing reservation too
    ARGV[3] tombstone ttl, seconds
    ARGV[4] reason, kept on the tombstone
    ARGV[5] sale events channel: PUBLISH '<sale id> <version> <remaining>' when the sale
            goes from 0 remaining to more than 0 (it reopens)
    ARGV[6] sale id, as it appears in that message

  The sale hash's field v counts sold-out / reopened transitions (see reserve-7.lua).

  A reservation of a sale over shards (field k) holds its unit in shard k, not here: only the
  allowance comes back, and the caller gives the unit back there (lua/give-back-2.lua).

  Output: { code, remaining, shard }
     1 RELEASED          remaining = the sale's remaining units after the return (-1 over
                         shards, where shard names the shard holding the unit)
     0 ALREADY_RELEASED
     2 IN_PROGRESS       a worker holds it: the caller must not report failure
     3 CONFIRMED         the order was sold: nothing to return
    -1 UNKNOWN
]]
local state = redis.call('HGET', KEYS[3], 's')
if not state then
  return { -1, 0 }
end
if state == 'R' then
  return { 0, 0 }
end
if state == 'F' then
  return { 3, 0 }
end
if state == 'C' and ARGV[2] ~= '1' then
  return { 2, 0 }
end

local reservation = redis.call('HMGET', KEYS[3], 'u', 'q', 'k')
local buyer, qty, shard = reservation[1], tonumber(reservation[2]), reservation[3]
local remaining = -1
if not shard then
  remaining = redis.call('HINCRBY', KEYS[1], 'remaining', qty)
  if remaining > 0 and remaining - qty <= 0 then
    local version = redis.call('HINCRBY', KEYS[1], 'v', 1)
    redis.call('PUBLISH', ARGV[5], ARGV[6] .. ' ' .. version .. ' ' .. remaining)
  end
end
if redis.call('HINCRBY', KEYS[2], buyer, -qty) <= 0 then
  redis.call('HDEL', KEYS[2], buyer)
end
redis.call('HSET', KEYS[3], 's', 'R', 'r', ARGV[4])
redis.call('EXPIRE', KEYS[3], tonumber(ARGV[3]))
redis.call('ZREM', KEYS[4], ARGV[1])
return { 1, remaining, shard }
