--[[
  Takes or renews the admitter's lease of one room: one admitter per sale at a time. A lease
  its holder stopped renewing expires, and the next caller takes it.

  Input:
    KEYS[1] lease key
    ARGV[1] the caller's token
    ARGV[2] lease length, ms

  Output: { code }
    OK        the caller holds the lease for ARGV[2] ms from now
    NOT_OURS  another token holds it
]]
local holder = redis.call('GET', KEYS[1])
if holder and holder ~= ARGV[1] then
  return { Code.NOT_OURS }
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return { Code.OK }
