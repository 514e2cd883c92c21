--[[
  Takes a reservation's units from one shard of a sale over shards (docs/sharded-sales.md).
  The shard's ledger records which orders hold its units, so taking is idempotent per order
  and giving back (give-back-2.lua) happens at most once: the units a shard counts as taken
  are exactly its ledger's, whatever process died between the steps of a purchase.

  Input:
    KEYS[1] shard units hash  remaining, stock, v (sold-out / reopened transitions)
    KEYS[2] shard ledger hash order id -> units held from this shard

    ARGV[1] order id
    ARGV[2] units
    ARGV[3] '1' takes even past zero: an order PostgreSQL holds as sold (a restore)
    ARGV[4] sale events channel: the shard sells out when its remaining reaches 0
            (includes/sale-events.lua)
    ARGV[5] sale id, as it appears in that message
    ARGV[6] shard index, as it appears in that message

  Output: { code, remaining }
    OK        taken: remaining = the shard's units after
    HELD      the ledger had this order already: nothing written
    SOLD_OUT  not enough units on this shard: nothing written
    MISSING   no such shard hash (Redis forgot it): nothing written
]]
--- @include "includes/sale-events"

local orderId, qty = ARGV[1], tonumber(ARGV[2])
if redis.call('HEXISTS', KEYS[2], orderId) == 1 then
  return { Code.HELD, tonumber(redis.call('HGET', KEYS[1], 'remaining') or '0') }
end
local before = tonumber(redis.call('HGET', KEYS[1], 'remaining'))
if not before then
  return { Code.MISSING }
end
if before < qty and ARGV[3] ~= '1' then
  return { Code.SOLD_OUT, before }
end
local remaining = redis.call('HINCRBY', KEYS[1], 'remaining', -qty)
redis.call('HSET', KEYS[2], orderId, qty)
publishIfSoldOut(KEYS[1], ARGV[4], ARGV[5], before, remaining, ARGV[6])
return { Code.OK, remaining }
