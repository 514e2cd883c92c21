--[[
  Sets a sale's remaining units to the value the reconciler computed from PostgreSQL, only if
  the sale is still exactly as the reconciler read it, so a repair computed from a reading
  that has since moved is refused instead of applied.

  Input:
    KEYS[1] sale hash
    KEYS[2] in-flight zset

    ARGV[1] remaining as read
    ARGV[2] in-flight reservations as read (count)
    ARGV[3] corrected remaining
    ARGV[4] the stock it was computed from (PostgreSQL's), kept in the field `stock`, so that
            an admin's later change (change-sale-1.lua) moves remaining from this stock

  Output: { code }
    OK       repaired
    STALE    remaining or the in-flight set changed since the reading: nothing written
    LOADING  the sale is being loaded back (load-sale-1.lua): nothing written
]]
local remaining = redis.call('HGET', KEYS[1], 'remaining')
if remaining ~= ARGV[1] or redis.call('ZCARD', KEYS[2]) ~= tonumber(ARGV[2]) then
  return { Code.STALE }
end
if redis.call('HEXISTS', KEYS[1], 'loading') == 1 then
  return { Code.LOADING }
end
redis.call('HSET', KEYS[1], 'remaining', ARGV[3], 'stock', ARGV[4])
return { Code.OK }
