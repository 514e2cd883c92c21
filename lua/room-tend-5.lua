--[[
  The admitter's visit to one partition of a room's line (docs/waiting-room.md, "Sharded
  sales"; a sale without shards has one partition, the room's own keys): freezes the
  partition's prequeue once the sale has started, raises its place counter to the round the
  other partitions reached (the numbers passed over are given up: nobody holds them), and
  gives up the places left idle. A place is dropped only if it is unseen in all three epochs
  at the moment of the drop, so a late or second admitter cannot drop a buyer who polled.

  Input:
    KEYS[1] partition state hash (place counter `seq`, prequeue size `n`, `gv`, `inc`)
    KEYS[2] places given up (bitmap by local place number)
    KEYS[3] places seen in the current epoch (bitmap)
    KEYS[4] places seen in the epoch before
    KEYS[5] places seen in the epoch before that

    ARGV[1] the sale's start, ms: from then on the prequeue's size is frozen
    ARGV[2] the counter to raise to ('0': none)
    ARGV[3..] local place numbers to drop when idle

  Output: { code, seq, n (-1 until frozen), gv, inc, since, dropped }
    OK       done
    MISSING  the partition's state is gone (Redis forgot it): the caller restores it
]]
if redis.call('HEXISTS', KEYS[1], 'inc') == 0 then
  return { Code.MISSING }
end
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local seq = tonumber(redis.call('HGET', KEYS[1], 'seq') or '0')
if now >= tonumber(ARGV[1]) and redis.call('HEXISTS', KEYS[1], 'n') == 0 then
  redis.call('HSET', KEYS[1], 'n', seq)
end
local moved = false
local round = tonumber(ARGV[2])
if round > seq then
  for place = seq + 1, round do
    redis.call('SETBIT', KEYS[2], place, 1)
  end
  seq = round
  redis.call('HSET', KEYS[1], 'seq', seq)
  moved = true
end
local dropped = 0
for i = 3, #ARGV do
  local place = ARGV[i]
  if redis.call('GETBIT', KEYS[3], place) == 0 and redis.call('GETBIT', KEYS[4], place) == 0
      and redis.call('GETBIT', KEYS[5], place) == 0
      and redis.call('SETBIT', KEYS[2], place, 1) == 0 then
    dropped = dropped + 1
  end
end
if moved or dropped > 0 then
  redis.call('HINCRBY', KEYS[1], 'gv', 1)
end
local state = redis.call('HMGET', KEYS[1], 'n', 'gv', 'inc', 'since')
return { Code.OK, seq, tonumber(state[1] or '-1'), tonumber(state[2] or '0'), state[3],
  tonumber(state[4] or '0'), dropped }
