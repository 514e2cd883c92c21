--[[
  Applies an admin's change to one hash of a sale (API.md, Operating a sale): the sale's own
  hash, or one shard's units hash of a sale over shards (each is changed by its own call).
  Set-based, so a repeat after a crash changes nothing more: the new stock is the hash's total,
  and the units it adds or takes back are the difference with the stock it holds.

  Input:
    KEYS[1] sale hash or shard units hash  remaining, stock, limit, ends, paused, v

    ARGV[1] the hash's new stock ('' leaves it): remaining moves by new - old stock
    ARGV[2] per-user limit
    ARGV[3] ends at, ms (0 = open-ended)
    ARGV[4] '1' paused, '0' not
    ARGV[5] '1' forces the stock: remaining may go below 0 (PostgreSQL holds the new stock
            already: units over it are held by orders its guard will refuse); '0' refuses
            with STOCK_IN_USE when the hash has fewer unsold units than it would take back
    ARGV[6] sale events channel (includes/sale-events.lua)
    ARGV[7] sale id, as it appears in those messages
    ARGV[8] shard index, as it appears in those messages ('' for a sale without shards)

  Output: { code, remaining }
    OK            applied: remaining = the hash's units after (-1 for a hash without units)
    STOCK_IN_USE  nothing written: remaining = the units the hash could give back
    LOADING       not forced, the sale is being loaded back: its remaining is not yet true
    MISSING       no such hash: nothing written
]]
--- @include "includes/sale-events"

local key = KEYS[1]
local state = redis.call('HMGET', key, 'stock', 'remaining', 'loading', 'limit')
if not state[1] or not state[4] then
  return { Code.MISSING }
end
local forced = ARGV[5] == '1'
if state[3] and not forced then
  return { Code.LOADING }
end
local shard = ARGV[8] ~= '' and ARGV[8] or nil
local remaining = tonumber(state[2] or '-1')
if ARGV[1] ~= '' and state[2] then
  local delta = tonumber(ARGV[1]) - tonumber(state[1])
  if remaining + delta < 0 and delta < 0 and not forced then
    return { Code.STOCK_IN_USE, math.max(remaining, 0) }
  end
  if delta ~= 0 then
    local before = remaining
    remaining = redis.call('HINCRBY', key, 'remaining', delta)
    publishIfSoldOut(key, ARGV[6], ARGV[7], before, remaining, shard)
    publishIfReopened(key, ARGV[6], ARGV[7], before, remaining, shard)
  end
end
if ARGV[1] ~= '' then
  redis.call('HSET', key, 'stock', ARGV[1])
end
redis.call('HSET', key, 'limit', ARGV[2], 'ends', ARGV[3], 'paused', ARGV[4])
publishRulesChanged(ARGV[6], ARGV[7])
return { Code.OK, remaining }
