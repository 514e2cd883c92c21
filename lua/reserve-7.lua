--[[
  Reserve units of a sale for one buyer, atomically: every check happens before any write,
  so a refused request changes nothing.

  Input:
    KEYS[1] sale hash         remaining, stock, limit, starts (ms), ends (ms, 0 = open)
    KEYS[2] held hash         buyer -> units held (pending, committing or confirmed)
    KEYS[3] reservation hash  s (state P|C|F|R), u (buyer), q (units), t (reserved at, ms)
    KEYS[4] in-flight zset    order id -> reserved at (ms); read by the reconciler
    KEYS[5] idempotency key   -> order id of the first accepted request
    KEYS[6] rate bucket hash  k (tokens), t (refilled at, ms)
    KEYS[7] shard ledger hash order id -> units, for a sale over shards (see take-2.lua);
            any key of the same slot otherwise, never written

    ARGV[1] order id
    ARGV[2] buyer id
    ARGV[3] quantity
    ARGV[4] idempotency ttl, seconds (0 = the request has no Idempotency-Key)
    ARGV[5] bucket capacity (0 = no rate limit)
    ARGV[6] bucket refill, tokens per second
    ARGV[7] sale events channel: the sale (or the home shard) sells out when its remaining
            reaches 0 (includes/sale-events.lua)
    ARGV[8] sale id, as it appears in that message
    ARGV[9] shard to try next when the buyer's home shard has no units, for a sale over
            shards (-1: the script picks one)

  A sale over shards (field `shards` > 1, docs/sharded-sales.md) is called on the buyer's home
  shard: KEYS[1] is that shard's units hash, which holds a copy of the rules and the field
  `shard`, its index. The buyer's allowance is taken here, and the unit too when this shard
  has one: the order goes in this shard's ledger and the reservation names this shard, all in
  this one call. When it has none, only the allowance is taken and the reservation names
  ARGV[9], whose unit the caller takes next (lua/take-2.lua). Sold out is then the shards'
  answer, not this script's.

  The sale hash's field v counts sold-out / reopened transitions (includes/sale-events.lua),
  so a listener can order events against a state it read with HMGET.

  Output: { code, detail, extra }
    OK                   reserved: detail = remaining after, extra = reserved at (ms, Redis
                         TIME); over shards: then the shard named and the shard count, and 1
                         when the unit was taken here; detail = -1 when it was not
    SOLD_OUT
    LIMIT_REACHED
    MISSING              no such sale (or a sale over shards asked outside a shard)
    NOT_STARTED
    ENDED
    RATE_LIMITED         detail = ms until a token is back
    REPLAYED             detail = order id of the first answer, extra = its state
    QUANTITY_OVER_LIMIT  the request alone asks for more than the per-user limit
    LOADING              the sale is being loaded back from PostgreSQL (see load-sale-1.lua)
    PAUSED               an admin paused the sale (field `paused` = '1', change-sale-1.lua)
]]
--- @include "includes/sale-events"

local saleKey, heldKey, resKey, inflightKey, idemKey, bucketKey, ledgerKey =
  KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7]
local orderId, buyer = ARGV[1], ARGV[2]
local qty = tonumber(ARGV[3])
local idemTtl = tonumber(ARGV[4])
local capacity = tonumber(ARGV[5])
local refill = tonumber(ARGV[6])

local sale =
  redis.call('HMGET', saleKey, 'remaining', 'limit', 'starts', 'ends', 'loading', 'shards', 'shard',
    'paused')
local shards = tonumber(sale[6] or '1')
-- The sale's own hash of a sale over shards is no buyer's home (it holds no units): a
-- purchase is only ever asked at a shard (sale[7]).
if (not sale[1] and shards <= 1) or (shards > 1 and not sale[7]) then
  return { Code.MISSING }
end
if sale[5] then
  return { Code.LOADING }
end
local remaining, limit = tonumber(sale[1]), tonumber(sale[2])
local starts, ends = tonumber(sale[3]), tonumber(sale[4])

local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)

-- A repeat of an accepted request gets its order even after the window closed or the
-- buyer's bucket ran dry: the contract promises the first answer's order.
if idemTtl > 0 then
  local first = redis.call('GET', idemKey)
  if first then
    local state = redis.call('HGET', string.gsub(resKey, '[^:]+$', first), 's')
    return { Code.REPLAYED, first, state or 'R' }
  end
end

-- The kill switch comes first among the sale's answers: it stops every purchase, whatever else.
if sale[8] == '1' then
  return { Code.PAUSED }
end
if now < starts then
  return { Code.NOT_STARTED }
end
if ends > 0 and now >= ends then
  return { Code.ENDED }
end

if capacity > 0 then
  local bucket = redis.call('HMGET', bucketKey, 'k', 't')
  local tokens = tonumber(bucket[1]) or capacity
  local at = tonumber(bucket[2]) or now
  tokens = math.min(capacity, tokens + (now - at) * refill / 1000)
  if tokens < 1 then
    return { Code.RATE_LIMITED, math.ceil((1 - tokens) * 1000 / refill) }
  end
  redis.call('HSET', bucketKey, 'k', tokens - 1, 't', now)
  redis.call('PEXPIRE', bucketKey, math.ceil(capacity * 1000 / refill) + 1000)
end

if qty > limit then
  return { Code.QUANTITY_OVER_LIMIT }
end
-- Sold out is checked before the buyer's limit so a sold-out sale answers the same to everyone;
-- over shards the home shard may be empty while others are not, and the shards answer sold out.
local sharded = shards > 1
if not sharded and remaining < qty then
  return { Code.SOLD_OUT }
end
local held = tonumber(redis.call('HGET', heldKey, buyer) or '0')
if held + qty > limit then
  return { Code.LIMIT_REACHED }
end

redis.call('HINCRBY', heldKey, buyer, qty)
redis.call('HSET', resKey, 's', 'P', 'u', buyer, 'q', qty, 't', now)
redis.call('ZADD', inflightKey, now, orderId)
if idemTtl > 0 then
  redis.call('SET', idemKey, orderId, 'EX', idemTtl)
end
if sharded then
  local home = sale[7]
  if home and remaining >= qty then
    local after = redis.call('HINCRBY', saleKey, 'remaining', -qty)
    redis.call('HSET', ledgerKey, orderId, qty)
    redis.call('HSET', resKey, 'k', home)
    publishIfSoldOut(saleKey, ARGV[7], ARGV[8], remaining, after, home)
    return { Code.OK, after, now, tonumber(home), shards, 1 }
  end
  local shard = tonumber(ARGV[9]) or -1
  if shard < 0 or shard >= shards then
    shard = tonumber(time[2]) % shards
  end
  redis.call('HSET', resKey, 'k', shard)
  return { Code.OK, -1, now, shard, shards }
end
local after = redis.call('HINCRBY', saleKey, 'remaining', -qty)
publishIfSoldOut(saleKey, ARGV[7], ARGV[8], remaining, after)
return { Code.OK, after, now }
