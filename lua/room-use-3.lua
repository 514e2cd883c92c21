--[[
  A purchase with a pass went through: the pass counts as used (once, however many purchases
  it serves), so the admitter no longer counts it against the overbook bound.

  Input:
    KEYS[1] ranks whose pass was used (bitmap by rank)
    KEYS[2] passes used per batch (pass expiry ms -> count)
    KEYS[3] admission batches hash

    ARGV[1] the pass's rank
    ARGV[2] the pass's expiry ms (its batch)

  Output: { code }
    OK        counted
    EXISTS    this pass was counted already, or its batch is forgotten
]]
if redis.call('HEXISTS', KEYS[3], ARGV[2]) == 0 then
  return { Code.EXISTS }
end
if redis.call('SETBIT', KEYS[1], ARGV[1], 1) == 1 then
  return { Code.EXISTS }
end
redis.call('HINCRBY', KEYS[2], ARGV[2], 1)
return { Code.OK }
