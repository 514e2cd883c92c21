--[[
  Moves a pending reservation of a sale over shards from a shard that had no units for it to
  the next shard its purchase tries. The reservation always names the shard before any unit
  is taken there, so a unit taken is always in the shard its reservation names, and releasing
  the reservation knows where to give it back (docs/sharded-sales.md).

  Input:
    KEYS[1] reservation hash

    ARGV[1] shard it names now
    ARGV[2] shard to name instead

  Output: { code }
    OK     moved
    STALE  the reservation is no longer pending on ARGV[1] (the reconciler released it):
           nothing written, and the purchase must stop
]]
local reservation = redis.call('HMGET', KEYS[1], 's', 'k')
if reservation[1] ~= 'P' or reservation[2] ~= ARGV[1] then
  return { Code.STALE }
end
redis.call('HSET', KEYS[1], 'k', ARGV[2])
return { Code.OK }
