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
    ARGV[4] sale events channel: PUBLISH '<sale id> <version> 0 <shard>' when the shard
            reaches 0 remaining
    ARGV[5] sale id, as it appears in that message
    ARGV[6] shard index, as it appears in that message

  Output: { code, remaining, version }
     1 TAKEN      remaining = the shard's units after
     2 HELD       the ledger had this order already: nothing written
     0 EMPTY      not enough units on this shard: nothing written
    -1 MISSING    no such shard hash (Redis forgot it): nothing written
]]
local orderId, qty = ARGV[1], tonumber(ARGV[2])
if redis.call('HEXISTS', KEYS[2], orderId) == 1 then
  return { 2, tonumber(redis.call('HGET', KEYS[1], 'remaining') or '0'), 0 }
end
local shard = redis.call('HMGET', KEYS[1], 'remaining', 'v')
if not shard[1] then
  return { -1, 0, 0 }
end
local remaining, version = tonumber(shard[1]), tonumber(shard[2] or '0')
if remaining < qty and ARGV[3] ~= '1' then
  return { 0, remaining, version }
end
remaining = redis.call('HINCRBY', KEYS[1], 'remaining', -qty)
redis.call('HSET', KEYS[2], orderId, qty)
if remaining <= 0 and remaining + qty > 0 then
  version = redis.call('HINCRBY', KEYS[1], 'v', 1)
  redis.call('PUBLISH', ARGV[4], ARGV[5] .. ' ' .. version .. ' 0 ' .. ARGV[6])
end
return { 1, remaining, version }
