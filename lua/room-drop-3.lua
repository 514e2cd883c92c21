--[[
  The admitter gives up places left idle (unseen for idleSeconds), fenced by its lease.

  Input:
    KEYS[1] room state hash
    KEYS[2] lease key
    KEYS[3] places given up (bitmap by place number)

    ARGV[1] the admitter's lease token
    ARGV[2..] the place numbers to drop

  Output: { code, dropped }
    OK        dropped: how many were not given up already
    NOT_OURS  the lease is another's
]]
if redis.call('GET', KEYS[2]) ~= ARGV[1] then
  return { Code.NOT_OURS }
end
local dropped = 0
for i = 2, #ARGV do
  if redis.call('SETBIT', KEYS[3], ARGV[i], 1) == 0 then dropped = dropped + 1 end
end
if dropped > 0 then
  redis.call('HINCRBY', KEYS[1], 'gv', 1)
end
return { Code.OK, dropped }
