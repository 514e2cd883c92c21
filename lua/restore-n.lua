--[[
  Re-establishes reservations that Redis no longer knows, from their orders (DESIGN.md, when
  Redis forgets). Redis counts an order's units in `remaining` exactly while its reservation
  hash exists in state P, C or F, so a reservation re-created here takes its units again,
  and one that exists already is left as it is: restoring twice changes nothing.
  All orders belong to one sale, so the keys share one hash tag and one cluster slot.

  Input:
    KEYS[1]      sale hash
    KEYS[2]      held hash
    KEYS[3]      in-flight zset
    KEYS[4..n]   reservation hashes

    ARGV[1]      tombstone ttl, seconds
    ARGV[2]      sale events channel (see reserve-7.lua)
    ARGV[3]      sale id, as it appears in events
    then six per reservation, in the order of KEYS[4..n]:
      order id, buyer, units, reserved at (ms), shard (-1: the sale has no shards), mode:
        confirmed  PostgreSQL holds it confirmed: a tombstone F, its units taken
        failed     PostgreSQL holds it failed: a tombstone R, nothing taken
        claim      no row yet (a worker's job): take the units if the sale has them and the
                   buyer's limit allows, as state C (claimed), else a tombstone R

  Over shards (shard >= 0) the units live in the shard's own slot, where the caller took them
  first (lua/take-2.lua): here only the allowance and the reservation naming the shard are
  written, and `claim` checks only the buyer's limit.

  Output: one code per reservation, in the order of KEYS[4..n]
     1 RESTORED     created as asked (claim: created as C, the worker writes the order)
     0 REFUSED      claim only: not enough units or over the limit; created as R
     2 EXISTS       the reservation is known: nothing written (the caller claims it as usual)
    -3 SALE_MISSING the sale is not loaded: nothing written
    -4 LOADING      claim only: the sale is being loaded back, try again shortly
]]
local saleKey, heldKey, inflightKey = KEYS[1], KEYS[2], KEYS[3]
local ttl = tonumber(ARGV[1])
local codes = {}

local sale = redis.call('HMGET', saleKey, 'remaining', 'limit', 'loading', 'shards')
if not sale[1] and not sale[4] then
  for i = 4, #KEYS do
    codes[i - 3] = -3
  end
  return codes
end
local limit = tonumber(sale[2])
local loading = sale[3]

for i = 4, #KEYS do
  local resKey = KEYS[i]
  local base = 3 + (i - 4) * 6
  local orderId, buyer = ARGV[base + 1], ARGV[base + 2]
  local qty, at, shard = tonumber(ARGV[base + 3]), ARGV[base + 4], tonumber(ARGV[base + 5])
  local mode = ARGV[base + 6]
  if redis.call('EXISTS', resKey) == 1 then
    codes[i - 3] = 2
  elseif mode == 'failed' then
    redis.call('HSET', resKey, 's', 'R', 'u', buyer, 'q', qty, 't', at, 'r', 'restored')
    if shard >= 0 then
      redis.call('HSET', resKey, 'k', shard)
    end
    redis.call('EXPIRE', resKey, ttl)
    codes[i - 3] = 1
  elseif mode == 'claim' and loading then
    codes[i - 3] = -4
  elseif shard >= 0 then
    local held = tonumber(redis.call('HGET', heldKey, buyer) or '0')
    if mode == 'claim' and held + qty > limit then
      redis.call('HSET', resKey, 's', 'R', 'u', buyer, 'q', qty, 't', at, 'k', shard,
        'r', 'limit_after_redis_loss')
      redis.call('EXPIRE', resKey, ttl)
      codes[i - 3] = 0
    else
      redis.call('HINCRBY', heldKey, buyer, qty)
      if mode == 'claim' then
        redis.call('HSET', resKey, 's', 'C', 'u', buyer, 'q', qty, 't', at, 'k', shard)
        redis.call('ZADD', inflightKey, at, orderId)
      else
        redis.call('HSET', resKey, 's', 'F', 'u', buyer, 'q', qty, 't', at, 'k', shard)
        redis.call('EXPIRE', resKey, ttl)
      end
      codes[i - 3] = 1
    end
  else
    local remaining = tonumber(redis.call('HGET', saleKey, 'remaining'))
    local held = tonumber(redis.call('HGET', heldKey, buyer) or '0')
    if mode == 'claim' and (remaining < qty or held + qty > limit) then
      local reason = remaining < qty and 'sold_out_after_redis_loss' or 'limit_after_redis_loss'
      redis.call('HSET', resKey, 's', 'R', 'u', buyer, 'q', qty, 't', at, 'r', reason)
      redis.call('EXPIRE', resKey, ttl)
      codes[i - 3] = 0
    else
      -- A confirmed order's units are sold whatever Redis thought was left: remaining may go
      -- below zero here, and the orders Redis let in meanwhile fail at PostgreSQL's guard.
      redis.call('HINCRBY', saleKey, 'remaining', -qty)
      redis.call('HINCRBY', heldKey, buyer, qty)
      if mode == 'claim' then
        redis.call('HSET', resKey, 's', 'C', 'u', buyer, 'q', qty, 't', at)
        redis.call('ZADD', inflightKey, at, orderId)
      else
        redis.call('HSET', resKey, 's', 'F', 'u', buyer, 'q', qty, 't', at)
        redis.call('EXPIRE', resKey, ttl)
      end
      if remaining > 0 and remaining - qty <= 0 then
        local version = redis.call('HINCRBY', saleKey, 'v', 1)
        redis.call('PUBLISH', ARGV[2], ARGV[3] .. ' ' .. version .. ' ' .. (remaining - qty))
      end
      codes[i - 3] = 1
    end
  end
end
return codes
