--[[
  Releases a lock only if it is still the caller's: a lock that expired and was taken by
  another process (src/recovery/sale-loader.ts) stays theirs.

  Input:
    KEYS[1] lock key
    ARGV[1] the caller's token, as set with SET ... NX PX

  Output: { code }
    OK        the lock is released
    NOT_OURS  the lock is gone or held by another token: nothing written
]]
if redis.call('GET', KEYS[1]) ~= ARGV[1] then
  return { Code.NOT_OURS }
end
redis.call('DEL', KEYS[1])
return { Code.OK }
