--[[
  Gives back the units of an order that PostgreSQL holds as expired or cancelled (API.md,
  Payment): to the sale's remaining and to the buyer's allowance, exactly once. The caller
  has committed the row first, so the units are returned only for an order that can no
  longer be paid; a second call finds the tombstone and changes nothing.

  Input:
    KEYS[1] sale hash
    KEYS[2] held hash
    KEYS[3] reservation hash
    KEYS[4] in-flight zset

    ARGV[1] order id
    ARGV[2] buyer
    ARGV[3] units
    ARGV[4] reserved at, ms
    ARGV[5] tombstone ttl, seconds
    ARGV[6] reason, kept on the tombstone ('expired' or 'cancelled')
    ARGV[7] sale events channel: PUBLISH '<sale id> <version> <remaining>' when the sale
            goes from 0 remaining to more than 0 (it reopens; see release-4.lua)
    ARGV[8] sale id, as it appears in that message

  A confirmed reservation (F) is the usual case. A committing one (C: a worker died between
  its commit and its confirm) holds the units the same way and leaves the in-flight set here.

  Over shards the reservation's unit is in shard k (see release-4.lua): only the allowance
  comes back here, and the caller gives the unit back there.

  Output: { code, remaining, shard }
     1 RETURNED          remaining = the sale's remaining units after the return (-1 over
                         shards, where shard names the shard holding the unit)
     0 ALREADY_RETURNED  the reservation is a tombstone (R): nothing written
     2 ABSENT            Redis forgot the reservation, so it holds none of its units (a script
                         takes units and writes the reservation together): a tombstone R is
                         written so a later restore does not take them again
    -2 PENDING           state P: no order row can be final yet; nothing written
]]
local state = redis.call('HGET', KEYS[3], 's')
if state == 'R' then
  return { 0, 0 }
end
if state == 'P' then
  return { -2, 0 }
end
if not state then
  redis.call('HSET', KEYS[3], 's', 'R', 'u', ARGV[2], 'q', ARGV[3], 't', ARGV[4], 'r', ARGV[6])
  redis.call('EXPIRE', KEYS[3], tonumber(ARGV[5]))
  return { 2, 0 }
end

local reservation = redis.call('HMGET', KEYS[3], 'u', 'q', 'k')
local buyer, qty, shard = reservation[1], tonumber(reservation[2]), reservation[3]
local remaining = -1
if not shard then
  remaining = redis.call('HINCRBY', KEYS[1], 'remaining', qty)
  if remaining > 0 and remaining - qty <= 0 then
    local version = redis.call('HINCRBY', KEYS[1], 'v', 1)
    redis.call('PUBLISH', ARGV[7], ARGV[8] .. ' ' .. version .. ' ' .. remaining)
  end
end
if redis.call('HINCRBY', KEYS[2], buyer, -qty) <= 0 then
  redis.call('HDEL', KEYS[2], buyer)
end
redis.call('HSET', KEYS[3], 's', 'R', 'r', ARGV[6])
redis.call('EXPIRE', KEYS[3], tonumber(ARGV[5]))
redis.call('ZREM', KEYS[4], ARGV[1])
return { 1, remaining, shard }
