--[[
  Marks reservations confirmed once their order rows are committed. Idempotent.
  Takes the orders of one group commit at once; all of them live at one home (the sale's
  slot, or one shard's), so their keys share one hash tag and one cluster slot.
  A finished reservation stays as a tombstone with a TTL so late messages find it.

  Input:
    KEYS[1]     the home's in-flight zset

    ARGV[1]     tombstone ttl, seconds
    ARGV[2]     the home's reservation key prefix: a reservation hash is it followed by the
                order id (src/gate/keys.ts)
    ARGV[3..n]  order ids

  Output: one code per order id, in the order of ARGV[3..n]
    OK         confirmed
    CONFIRMED  confirmed already: nothing written
    RELEASED   the stock was already returned: the caller has a consistency problem to report
    MISSING    no such reservation
]]
--- @include "includes/each-reservation"

local ttl = tonumber(ARGV[1])
return eachReservation(ARGV[2], 3, function(key, orderId, state)
  if state == 'F' then
    return Code.CONFIRMED
  end
  if state == 'R' then
    return Code.RELEASED
  end
  redis.call('HSET', key, 's', 'F')
  redis.call('EXPIRE', key, ttl)
  redis.call('ZREM', KEYS[1], orderId)
  return Code.OK
end)
