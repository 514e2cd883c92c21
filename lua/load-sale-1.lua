--[[
  Loads a sale into the gate. Idempotent: the remaining count is set only the first time,
  so loading again (a retry, the reconciler at start) never resets stock already sold.

  Input:
    KEYS[1] sale hash

    ARGV[1] stock
    ARGV[2] per-user limit
    ARGV[3] starts at, ms
    ARGV[4] ends at, ms (0 = open-ended)

  Output:
    1 LOADED
    0 ALREADY_LOADED  metadata refreshed, remaining untouched
]]
local created = redis.call('HSETNX', KEYS[1], 'remaining', ARGV[1])
redis.call('HSET', KEYS[1], 'stock', ARGV[1], 'limit', ARGV[2], 'starts', ARGV[3], 'ends', ARGV[4])
return created
