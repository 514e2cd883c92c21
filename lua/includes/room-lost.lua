--[[
  A place numbered in the range Redis lost (lua/room-restore-4.lua marks it given up) that a
  buyer's ticket brings back: it is theirs again. `state` is the room's state hash, `gone` the
  places-given-up bitmap. Returns whether the place was brought back.
]]
local function bringBack(state, gone, place)
  local lo = tonumber(redis.call('HGET', state, 'lostlo') or '-1')
  local hi = tonumber(redis.call('HGET', state, 'losthi') or '-1')
  if place > lo and place <= hi and redis.call('SETBIT', gone, place, 0) == 1 then
    redis.call('HINCRBY', state, 'gv', 1)
    return true
  end
  return false
end
