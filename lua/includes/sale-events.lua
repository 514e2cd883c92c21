--[[
  The sale events: a units hash (a sale's own, or one shard's) that sells out or reopens bumps
  its transition counter `v` and says so on the sale events channel, so every API process can
  keep a local sold-out flag and order each event against a state it read (src/api/sale-cache).

  The message, parsed by src/gate/sale-event.ts:
    '<sale id> <version> <remaining>'          a sale without shards
    '<sale id> <version> <remaining> <shard>'  one shard of a sale over shards
    '<sale id> rules'                          an admin changed the sale (change-sale-1.lua):
                                               every process reads it again
  version = the hash's `v` after the bump; remaining = 0 when it sold out, the units it has
  when it reopened.
]]
local function publishSaleEvent(hashKey, channel, saleId, remaining, shard)
  local version = redis.call('HINCRBY', hashKey, 'v', 1)
  local message = saleId .. ' ' .. version .. ' ' .. remaining
  if shard then
    message = message .. ' ' .. shard
  end
  redis.call('PUBLISH', channel, message)
end

-- Units taken: the hash had some before and has none left.
local function publishIfSoldOut(hashKey, channel, saleId, before, after, shard)
  if before > 0 and after <= 0 then
    publishSaleEvent(hashKey, channel, saleId, 0, shard)
  end
end

-- Units given back: the hash had none before and has some now.
local function publishIfReopened(hashKey, channel, saleId, before, after, shard)
  if before <= 0 and after > 0 then
    publishSaleEvent(hashKey, channel, saleId, after, shard)
  end
end

-- The sale's rules changed (paused, window, limit, stock): cached readings are stale.
local function publishRulesChanged(channel, saleId)
  redis.call('PUBLISH', channel, saleId .. ' rules')
end
