--[[
  Re-establishes reservations that Redis no longer knows, from their orders (DESIGN.md, when
  Redis forgets). Redis counts an order's units in `remaining` exactly while its reservation
  hash exists in state P, C or F, so a reservation re-created here takes its units again,
  and one that exists already is left as it is: restoring twice changes nothing.
  All orders live at one home (the sale's slot, or one shard's), so their keys share one
  hash tag and one cluster slot.

  Input:
    KEYS[1]  sale hash (the home shard's units hash, over shards)
    KEYS[2]  held hash
    KEYS[3]  in-flight zset

    ARGV[1]  tombstone ttl, seconds
    ARGV[2]  sale events channel: the sale sells out when a restore takes its last units
             (includes/sale-events.lua)
    ARGV[3]  sale id, as it appears in that message
    ARGV[4]  the home's reservation key prefix: a reservation hash is it followed by the
             order id (src/gate/keys.ts)
    then six per reservation:
      order id, buyer, units, reserved at (ms), shard (-1: the sale has no shards), mode:
        confirmed  PostgreSQL holds it confirmed: a tombstone F, its units taken
        failed     PostgreSQL holds it failed: a tombstone R, nothing taken
        claim      no row yet (a worker's job): take the units if the sale has them and the
                   buyer's limit allows, as state C (claimed), else a tombstone R

  Over shards (shard >= 0) the units live in the shard's own slot, where the caller took them
  first (lua/take-2.lua): here only the allowance and the reservation naming the shard are
  written, and `claim` checks only the buyer's limit.

  Output: one code per reservation, in the order of ARGV
    OK         created as asked (claim: created as C, the worker writes the order)
    TOMBSTONE  claim only: not enough units or over the limit; created as R
    EXISTS     the reservation is known: nothing written (the caller claims it as usual)
    MISSING    the sale is not loaded: nothing written
    LOADING    claim only: the sale is being loaded back, try again shortly
]]
--- @include "includes/sale-events"

local saleKey, heldKey, inflightKey = KEYS[1], KEYS[2], KEYS[3]
local ttl = tonumber(ARGV[1])
local count = (#ARGV - 4) / 6
local codes = {}

local sale = redis.call('HMGET', saleKey, 'remaining', 'limit', 'loading', 'shards')
if not sale[1] and not sale[4] then
  for i = 1, count do
    codes[i] = Code.MISSING
  end
  return codes
end
local limit = tonumber(sale[2])
local loading = sale[3]

-- The reservation hash, naming its shard over shards; a tombstone R or F expires.
local function write(o, state, reason)
  redis.call('HSET', o.key, 's', state, 'u', o.buyer, 'q', o.qty, 't', o.at)
  if reason then
    redis.call('HSET', o.key, 'r', reason)
  end
  if o.shard >= 0 then
    redis.call('HSET', o.key, 'k', o.shard)
  end
  if state == 'C' then
    redis.call('ZADD', inflightKey, o.at, o.orderId)
  else
    redis.call('EXPIRE', o.key, ttl)
  end
end

-- A claimed or confirmed order: its allowance taken, and its units unless they are a shard's.
local function take(o)
  if o.shard < 0 then
    local remaining = tonumber(redis.call('HGET', saleKey, 'remaining'))
    -- A confirmed order's units are sold whatever Redis thought was left: remaining may go
    -- below zero here, and the orders Redis let in meanwhile fail at PostgreSQL's guard.
    redis.call('HINCRBY', saleKey, 'remaining', -o.qty)
    publishIfSoldOut(saleKey, ARGV[2], ARGV[3], remaining, remaining - o.qty)
  end
  redis.call('HINCRBY', heldKey, o.buyer, o.qty)
  write(o, o.mode == 'claim' and 'C' or 'F')
  return Code.OK
end

local function restore(o)
  if redis.call('EXISTS', o.key) == 1 then
    return Code.EXISTS
  end
  if o.mode == 'failed' then
    write(o, 'R', 'restored')
    return Code.OK
  end
  if o.mode == 'claim' then
    if loading then
      return Code.LOADING
    end
    if o.shard < 0 and tonumber(redis.call('HGET', saleKey, 'remaining')) < o.qty then
      write(o, 'R', 'sold_out_after_redis_loss')
      return Code.TOMBSTONE
    end
    if tonumber(redis.call('HGET', heldKey, o.buyer) or '0') + o.qty > limit then
      write(o, 'R', 'limit_after_redis_loss')
      return Code.TOMBSTONE
    end
  end
  return take(o)
end

for i = 1, count do
  local base = 4 + (i - 1) * 6
  codes[i] = restore({
    orderId = ARGV[base + 1],
    key = ARGV[4] .. ARGV[base + 1],
    buyer = ARGV[base + 2],
    qty = tonumber(ARGV[base + 3]),
    at = ARGV[base + 4],
    shard = tonumber(ARGV[base + 5]),
    mode = ARGV[base + 6],
  })
end
return codes
