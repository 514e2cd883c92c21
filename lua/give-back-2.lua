--[[
  Gives an order's units back to the shard of a sale over shards that holds them, exactly
  once: only while the shard's ledger has the order (see take-2.lua). Callers give back only
  after the reservation is released at its buyer's home (release-4.lua, return-4.lua), or
  when the reconciler's sweep finds a ledger entry no live reservation names.

  Input:
    KEYS[1] shard units hash
    KEYS[2] shard ledger hash

    ARGV[1] order id
    ARGV[2] sale events channel: the shard reopens when its remaining goes from 0 to more
            (includes/sale-events.lua)
    ARGV[3] sale id, as it appears in that message
    ARGV[4] shard index, as it appears in that message

  Output: { code, remaining }
    OK        given back: remaining = the shard's units after
    NOT_HELD  the ledger does not have the order: nothing written
]]
--- @include "includes/sale-events"

local qty = tonumber(redis.call('HGET', KEYS[2], ARGV[1]))
if not qty then
  return { Code.NOT_HELD }
end
redis.call('HDEL', KEYS[2], ARGV[1])
local remaining = redis.call('HINCRBY', KEYS[1], 'remaining', qty)
publishIfReopened(KEYS[1], ARGV[2], ARGV[3], remaining - qty, remaining, ARGV[4])
return { Code.OK, remaining }
