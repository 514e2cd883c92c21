--[[
  Gives a live reservation (P, C or F) back, exactly once: its units to the sale hash's
  remaining, its units to the buyer's allowance, then a tombstone R (kept `ttl` seconds, with
  the reason) and out of the in-flight set. Used by release-4.lua and return-4.lua.

  A reservation of a sale over shards (field k) holds its unit in shard k, not in the sale
  hash: only the allowance comes back here, and the caller gives the unit back there
  (lua/give-back-2.lua).

  Returns { Code.OK, remaining, shard }: remaining = the sale's units after (-1 over shards,
  where shard names the shard holding the unit).
]]
--- @include "sale-events"

local function releaseReservation(keys, orderId, ttl, reason, channel, saleId)
  local saleKey, heldKey, resKey, inflightKey = keys[1], keys[2], keys[3], keys[4]
  local reservation = redis.call('HMGET', resKey, 'u', 'q', 'k')
  local buyer, qty, shard = reservation[1], tonumber(reservation[2]), reservation[3]
  local remaining = -1
  if not shard then
    remaining = redis.call('HINCRBY', saleKey, 'remaining', qty)
    publishIfReopened(saleKey, channel, saleId, remaining - qty, remaining)
  end
  if redis.call('HINCRBY', heldKey, buyer, -qty) <= 0 then
    redis.call('HDEL', heldKey, buyer)
  end
  redis.call('HSET', resKey, 's', 'R', 'r', reason)
  redis.call('EXPIRE', resKey, tonumber(ttl))
  redis.call('ZREM', inflightKey, orderId)
  return { Code.OK, remaining, shard }
end
