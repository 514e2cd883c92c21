--[[
  A buyer leaves a sale's waiting room: their place is given up (a later join is at the back).

  Input:
    KEYS[1] room state hash
    KEYS[2] buyer -> place number hash
    KEYS[3] places given up (bitmap by place number)

    ARGV[1] buyer id
    ARGV[2] the place number the buyer's ticket names ('0': none), for a buyer Redis forgot

  Output: { code }
    OK       the place is given up (or the buyer had none)
]]
local place = tonumber(redis.call('HGET', KEYS[2], ARGV[1]) or ARGV[2])
if place and place > 0 then
  if redis.call('SETBIT', KEYS[3], place, 1) == 0 then
    redis.call('HINCRBY', KEYS[1], 'gv', 1)
  end
  redis.call('HDEL', KEYS[2], ARGV[1])
end
return { Code.OK }
