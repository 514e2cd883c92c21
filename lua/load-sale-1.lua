--[[
  Loads a sale into the gate. Idempotent: the remaining count is set only the first time,
  so loading again (a retry, the reconciler at start) never resets stock already sold.
  A sale loaded back after Redis forgot it starts at its full stock with the field `loading`
  set: its orders are then restored from PostgreSQL (restore-3.lua takes each one's units)
  and `loading` is removed; until then the gate answers LOADING to buyers.

  Input:
    KEYS[1] sale hash

    ARGV[1] stock
    ARGV[2] per-user limit
    ARGV[3] starts at, ms
    ARGV[4] ends at, ms (0 = open-ended)
    ARGV[5] '1' when the sale has orders to restore: created with `loading` set
    ARGV[6] shards (1: the units live in this hash). A sale over shards keeps here only its
            rules and `shards`; each shard's units hash is loaded with this script too, with
            its share of the stock and ARGV[7] (docs/sharded-sales.md)
    ARGV[7] for a shard's units hash, the shard's index (absent or -1: the sale's own hash).
            The shard holds the rules too: it is the home of the buyers hashed to it, where
            their purchases run (reserve-7.lua). Created while restoring, it is `loading`
            until its buyers' orders are restored.
    ARGV[8] the sale's features, fixed at its creation: words separated by spaces ('pow': proof
            of work, 'room': a waiting room), '' for none; kept in the field `features` for the API to read
    ARGV[9] '1' while the sale is paused (the kill switch), '0' otherwise: the field `paused`,
            which reserve-7.lua refuses on. Changed later by change-sale-1.lua.

  Output: { code }
    OK       loaded
    UPDATED  loaded already: its rules written again, remaining untouched
]]
local shards = tonumber(ARGV[6] or '1')
local shard = tonumber(ARGV[7] or '-1')
local created
if shards > 1 and shard < 0 then
  created = redis.call('HSETNX', KEYS[1], 'shards', shards)
else
  created = redis.call('HSETNX', KEYS[1], 'remaining', ARGV[1])
  if shards > 1 then
    redis.call('HSET', KEYS[1], 'shards', shards, 'shard', shard)
  end
end
if created == 1 and ARGV[5] == '1' then
  redis.call('HSET', KEYS[1], 'loading', '1')
end
redis.call('HSET', KEYS[1], 'stock', ARGV[1], 'limit', ARGV[2], 'starts', ARGV[3], 'ends', ARGV[4],
  'features', ARGV[8] or '', 'paused', ARGV[9] or '0')
if created == 1 then
  return { Code.OK }
end
return { Code.UPDATED }
