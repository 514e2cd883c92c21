--[[
  Gives back the units of an order that PostgreSQL holds as expired or cancelled (API.md,
  Payment): to the sale's remaining and to the buyer's allowance, exactly once. The caller
  has committed the row first, so the units are returned only for an order that can no
  longer be paid; a second call finds the tombstone and changes nothing.

  Input:
    KEYS[1] sale hash (the buyer's home shard's units hash, over shards)
    KEYS[2] held hash
    KEYS[3] reservation hash
    KEYS[4] in-flight zset

    ARGV[1] order id
    ARGV[2] buyer
    ARGV[3] units
    ARGV[4] reserved at, ms
    ARGV[5] tombstone ttl, seconds
    ARGV[6] reason, kept on the tombstone ('expired' or 'cancelled')
    ARGV[7] sale events channel: the sale reopens when its remaining goes from 0 to more
            (includes/sale-events.lua)
    ARGV[8] sale id, as it appears in that message

  A confirmed reservation (F) is the usual case. A committing one (C: a worker died between
  its commit and its confirm) holds the units the same way and leaves the in-flight set here.

  Over shards the reservation's unit is in shard k (see release-4.lua): only the allowance
  comes back here, and the caller gives the unit back there.

  Output: { code, remaining, shard }
    OK         returned: remaining = the sale's units after (-1 over shards, where shard
               names the shard holding the unit)
    TOMBSTONE  Redis forgot the reservation, so it holds none of its units (a script takes
               units and writes the reservation together): a tombstone R is written so a
               later restore does not take them again
    RELEASED   the reservation is a tombstone (R) already: nothing written
    PENDING    state P: no order row can be final yet; nothing written
]]
--- @include "includes/release-reservation"

local state = redis.call('HGET', KEYS[3], 's')
if state == 'R' then
  return { Code.RELEASED }
end
if state == 'P' then
  return { Code.PENDING }
end
if not state then
  redis.call('HSET', KEYS[3], 's', 'R', 'u', ARGV[2], 'q', ARGV[3], 't', ARGV[4], 'r', ARGV[6])
  redis.call('EXPIRE', KEYS[3], tonumber(ARGV[5]))
  return { Code.TOMBSTONE }
end
return releaseReservation(KEYS, ARGV[1], ARGV[5], ARGV[6], ARGV[7], ARGV[8])
