--[[
  The admitter's step, fenced by its lease: raises the admission cursor, records the batch of
  passes it issued, forgets expired batches, and publishes the
  view every API process answers polls from.

  Input:
    KEYS[1] room state hash
    KEYS[2] lease key
    KEYS[3] admission batches hash (pass expiry ms -> "admitted to:passes")
    KEYS[4] passes used per batch (pass expiry ms -> count)
    KEYS[5] the view (JSON)
    KEYS[6] places given up (bitmap by place number)

    ARGV[1] the admitter's lease token
    ARGV[2] the incarnation it read (the state rebuilt since: nothing written)
    ARGV[3] new cursor
    ARGV[4] passes issued by this step
    ARGV[5] this batch's pass expiry ms ('' for none)
    ARGV[6] this batch's "admitted to:passes"
    ARGV[7] the view
    ARGV[8] the line's places given up, composed from its partitions' ('': a sale without
            shards, whose partition writes KEYS[6] itself)
    ARGV[9] that bitmap's version
    ARGV[10] number of expired batches to forget, then their expiries

  Output: { code }
    OK        written
    NOT_OURS  the lease is another's
    STALE     the state was rebuilt since it was read
]]
if redis.call('GET', KEYS[2]) ~= ARGV[1] then
  return { Code.NOT_OURS }
end
if redis.call('HGET', KEYS[1], 'inc') ~= ARGV[2] then
  return { Code.STALE }
end
local cursor = tonumber(redis.call('HGET', KEYS[1], 'cursor') or '0')
if tonumber(ARGV[3]) > cursor then
  redis.call('HSET', KEYS[1], 'cursor', ARGV[3])
end
redis.call('HINCRBY', KEYS[1], 'admitted', ARGV[4])
if ARGV[5] ~= '' then
  redis.call('HSET', KEYS[3], ARGV[5], ARGV[6])
end
if ARGV[8] ~= '' then
  redis.call('SET', KEYS[6], ARGV[8])
  redis.call('HSET', KEYS[1], 'gv', ARGV[9])
end
local expired = tonumber(ARGV[10])
for i = 11, 10 + expired do
  redis.call('HDEL', KEYS[3], ARGV[i])
  redis.call('HDEL', KEYS[4], ARGV[i])
end
redis.call('SET', KEYS[5], ARGV[7])
return { Code.OK }
