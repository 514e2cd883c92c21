--[[
  The places an API process answered polls for since its last flush: each is marked seen in
  the current epoch (a place unseen for idleSeconds is dropped), and a place Redis forgot is
  put back from the buyer's ticket (never a place given up before the loss).

  Input:
    KEYS[1] room state hash
    KEYS[2] buyer -> place number hash
    KEYS[3] places seen in the current epoch (bitmap by place number)
    KEYS[4] places given up (bitmap by place number)

    ARGV[1] seconds the seen bitmap lives
    ARGV[2..] pairs: buyer id, place number

  Output: { code }
    OK       marked
    MISSING  the room's state is gone: the caller restores it first
]]
--- @include "includes/room-lost"
if redis.call('HEXISTS', KEYS[1], 'inc') == 0 then
  return { Code.MISSING }
end
local top = tonumber(redis.call('HGET', KEYS[1], 'seq') or '0')
for i = 2, #ARGV, 2 do
  local place = tonumber(ARGV[i + 1])
  redis.call('SETBIT', KEYS[3], place, 1)
  if redis.call('HSETNX', KEYS[2], ARGV[i], place) == 1 then
    bringBack(KEYS[1], KEYS[4], place)
  end
  if place > top then top = place end
end
redis.call('HSET', KEYS[1], 'seq', top)
redis.call('EXPIRE', KEYS[3], ARGV[1])
return { Code.OK }
