--[[
  Creates a room's state in Redis: at the sale's creation, or from PostgreSQL once Redis forgot
  it. Does nothing when the state exists (a restore racing another, or a creation retried).

  Input:
    KEYS[1] room state hash
    KEYS[2] places given up (bitmap)
    KEYS[3] admission batches hash (pass expiry ms -> "admitted to:passes")
    KEYS[4] drawn order (string of uint32 little-endian, rank -> place)

    ARGV[1] incarnation: a fresh random id, so API processes see the line was rebuilt
    ARGV[2] place counter to start from
    ARGV[3] prequeue size ('' until drawn)
    ARGV[4] admitted to (the cursor)
    ARGV[5] passes issued so far
    ARGV[6] now, ms: idle drops wait a full idle period from here
    ARGV[7] places given up, as a bitmap ('' for none)
    ARGV[8] drawn order ('' until drawn)
    ARGV[9] lowest place number of the lost range ('' for none): places above ARGV[9] up to
            ARGV[2] are marked given up in ARGV[7], unless a ticket brings one back
    ARGV[10..] pairs: pass expiry ms, "admitted to:passes"

  Output: { code }
    OK       created
    UPDATED  it existed: nothing written
]]
if redis.call('HEXISTS', KEYS[1], 'inc') == 1 then
  return { Code.UPDATED }
end
redis.call('HSET', KEYS[1], 'inc', ARGV[1], 'seq', ARGV[2], 'cursor', ARGV[4],
  'admitted', ARGV[5], 'since', ARGV[6], 'gv', 0)
if ARGV[3] ~= '' then
  redis.call('HSET', KEYS[1], 'n', ARGV[3])
end
if ARGV[9] ~= '' then
  redis.call('HSET', KEYS[1], 'lostlo', ARGV[9], 'losthi', ARGV[2])
end
if ARGV[7] ~= '' then
  redis.call('SET', KEYS[2], ARGV[7])
end
if ARGV[8] ~= '' then
  redis.call('SET', KEYS[4], ARGV[8])
end
for i = 10, #ARGV, 2 do
  redis.call('HSET', KEYS[3], ARGV[i], ARGV[i + 1])
end
return { Code.OK }
