--[[
  Checks one shard of a sale over shards against its own ledger, and repairs it: the shard's
  remaining must be its stock less the units its ledger holds. Both change together in
  take-2.lua and give-back-2.lua, so a difference means Redis lost a write of one of them
  (an older AOF). Read and written in one script, so no purchase can move it in between.

  Input:
    KEYS[1] shard units hash
    KEYS[2] shard ledger hash

  Output: { code, drift, remaining }
    OK       checked: drift = remaining as found minus what the ledger says (0: nothing
             written), remaining = the shard's remaining after
    MISSING  the shard is not in Redis: nothing written
]]
local shard = redis.call('HMGET', KEYS[1], 'remaining', 'stock')
if not shard[1] or not shard[2] then
  return { Code.MISSING }
end
local held = 0
for _, units in ipairs(redis.call('HVALS', KEYS[2])) do
  held = held + tonumber(units)
end
local expected = tonumber(shard[2]) - held
local drift = tonumber(shard[1]) - expected
if drift ~= 0 then
  redis.call('HSET', KEYS[1], 'remaining', expected)
end
return { Code.OK, drift, expected }
