--[[
  Gives an order's units back to the shard of a sale over shards that holds them, exactly
  once: only while the shard's ledger has the order (see take-2.lua). Callers give back only
  after the reservation is released at its buyer's home (release-4.lua, return-4.lua), or
  when the reconciler's sweep finds a ledger entry no live reservation names.

  Input:
    KEYS[1] shard units hash
    KEYS[2] shard ledger hash

    ARGV[1] order id
    ARGV[2] sale events channel: PUBLISH '<sale id> <version> <remaining> <shard>' when the
            shard goes from 0 remaining to more than 0 (it reopens)
    ARGV[3] sale id, as it appears in that message
    ARGV[4] shard index, as it appears in that message

  Output: { code, remaining }
     1 GIVEN_BACK  remaining = the shard's units after
     0 NOT_HELD    the ledger does not have the order: nothing written
]]
local qty = tonumber(redis.call('HGET', KEYS[2], ARGV[1]))
if not qty then
  return { 0, 0 }
end
redis.call('HDEL', KEYS[2], ARGV[1])
local remaining = redis.call('HINCRBY', KEYS[1], 'remaining', qty)
if remaining > 0 and remaining - qty <= 0 then
  local version = redis.call('HINCRBY', KEYS[1], 'v', 1)
  redis.call('PUBLISH', ARGV[2], ARGV[3] .. ' ' .. version .. ' ' .. remaining .. ' ' .. ARGV[4])
end
return { 1, remaining }
