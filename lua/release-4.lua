--[[
  Returns a reservation's units to the sale and to the buyer's allowance, exactly once.
  A reservation a worker has claimed (C) is only released with force, which callers use
  only after PostgreSQL holds the order as failed.

  Input:
    KEYS[1] sale hash (the buyer's home shard's units hash, over shards)
    KEYS[2] held hash
    KEYS[3] reservation hash
    KEYS[4] in-flight zset

    ARGV[1] order id
    ARGV[2] force: '1' releases a committing reservation too
    ARGV[3] tombstone ttl, seconds
    ARGV[4] reason, kept on the tombstone
    ARGV[5] sale events channel: the sale reopens when its remaining goes from 0 to more
            (includes/sale-events.lua)
    ARGV[6] sale id, as it appears in that message

  Over shards the unit is in the shard the reservation names (field k): only the allowance
  comes back, and the caller gives the unit back there (lua/give-back-2.lua).

  Output: { code, remaining, shard }
    OK          released: remaining = the sale's units after (-1 over shards, where shard
                names the shard holding the unit)
    RELEASED    released already: nothing written
    COMMITTING  a worker holds it (and no force): the caller must not report failure
    CONFIRMED   the order was sold: nothing to return
    MISSING     no such reservation
]]
--- @include "includes/release-reservation"

local state = redis.call('HGET', KEYS[3], 's')
if not state then
  return { Code.MISSING }
end
if state == 'R' then
  return { Code.RELEASED }
end
if state == 'F' then
  return { Code.CONFIRMED }
end
if state == 'C' and ARGV[2] ~= '1' then
  return { Code.COMMITTING }
end
return releaseReservation(KEYS, ARGV[1], ARGV[3], ARGV[4], ARGV[5], ARGV[6])
