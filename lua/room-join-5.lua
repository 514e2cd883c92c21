--[[
  Buyers join a sale's waiting room: one place per buyer. A buyer already in line (their
  place not given up) gets the same place back; otherwise a new place number at the back.
  The first join at or after the sale's start freezes the prequeue's size (the places drawn
  at the start are those numbered up to it), so a place numbered later is never shuffled.
  A paused sale (the kill switch) refuses the join here, as reserve-7.lua refuses a purchase:
  on every API process at once, and without a read of its own before the script. So does an
  ended sale: the API refuses it first, from settings it may hold for a moment after an admin
  moved the end (change-sale-1.lua writes it here at once), and a place taken after the end
  would wait in a line that admits no one.
  One call takes every join an API process had for the partition in the same moment
  (src/room/join-batch.ts), in the order given: a crowd's joins cost one script call each
  batch, not each buyer.

  Input:
    KEYS[1] room state hash (src/gate/keys.ts, roomKeys)
    KEYS[2] buyer -> place number hash
    KEYS[3] places given up (bitmap by place number)
    KEYS[4] places seen in the current epoch (bitmap by place number)
    KEYS[5] the gate's hash under the partition's tag: the sale hash, or the shard's units
            hash of a sale over shards (its fields `paused` and `ends`, change-sale-1.lua)

    ARGV[1] the sale's start, ms
    ARGV[2] seconds the seen bitmap lives
    ARGV[3], ARGV[4], ... per buyer, two: the buyer id, and a place number the buyer's ticket
            names ('0': none), used when KEYS[2] lost the buyer (Redis forgot them), unless
            that place was given up

  Output: { code, now ms, then per buyer in input order: place, 1 when the place existed }
    OK       the buyers' places
    MISSING  the room's state is gone (Redis forgot it): the caller restores it and retries
    PAUSED   an admin paused the sale: nothing written
    ENDED    the sale's end has passed: nothing written
]]
--- @include "includes/room-lost"
local gate = redis.call('HMGET', KEYS[5], 'paused', 'ends')
if gate[1] == '1' then
  return { Code.PAUSED }
end
if redis.call('HEXISTS', KEYS[1], 'inc') == 0 then
  return { Code.MISSING }
end
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local ends = tonumber(gate[2] or '0')
if ends > 0 and now >= ends then
  return { Code.ENDED }
end
local started = now >= tonumber(ARGV[1])
local out = { Code.OK, now }

local function join(buyer, ticketPlace)
  local known = tonumber(redis.call('HGET', KEYS[2], buyer) or '0')
  if known == 0 then
    known = tonumber(ticketPlace)
    if known > 0 then bringBack(KEYS[1], KEYS[3], known) end
  end
  if known and known > 0 and redis.call('GETBIT', KEYS[3], known) == 0 then
    redis.call('HSET', KEYS[2], buyer, known)
    if known > tonumber(redis.call('HGET', KEYS[1], 'seq') or '0') then
      redis.call('HSET', KEYS[1], 'seq', known)
    end
    return known, 1
  end
  if started and redis.call('HEXISTS', KEYS[1], 'n') == 0 then
    redis.call('HSET', KEYS[1], 'n', redis.call('HGET', KEYS[1], 'seq') or '0')
  end
  local place = redis.call('HINCRBY', KEYS[1], 'seq', 1)
  redis.call('HSET', KEYS[2], buyer, place)
  return place, 0
end

for i = 3, #ARGV, 2 do
  local place, existed = join(ARGV[i], ARGV[i + 1])
  redis.call('SETBIT', KEYS[4], place, 1)
  out[#out + 1] = place
  out[#out + 1] = existed
end
redis.call('EXPIRE', KEYS[4], ARGV[2])
return out
