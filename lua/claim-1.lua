--[[
  A worker claims reservations before its database transaction, so that a release racing
  with it can no longer return the stock (see DESIGN.md: pending -> committing).
  Takes the reservations of the jobs a worker runs at once, so one call serves many orders;
  all of them live at one home (the sale's slot, or one shard's), so their keys share one
  hash tag and one cluster slot, which KEYS[1] names: the call has one key whatever its size.
  Repeatable: a job run again after a crash claims the same reservation again.

  Input:
    KEYS[1]     the home's in-flight zset: names the slot (not read or written)

    ARGV[1]     the home's reservation key prefix: a reservation hash is it followed by the
                order id (src/gate/keys.ts)
    ARGV[2..n]  order ids

  Output: one code per order id, in the order of ARGV[2..n]
    OK          state is now C (committing): write the order
    COMMITTING  claimed already (C): write the order, as after a crash
    RELEASED    the reservation was released: write nothing
    CONFIRMED   confirmed already: nothing left to do
    MISSING     no such reservation
]]
--- @include "includes/each-reservation"

return eachReservation(ARGV[1], 2, function(key, _, state)
  if state == 'P' then
    redis.call('HSET', key, 's', 'C')
    return Code.OK
  end
  if state == 'C' then
    return Code.COMMITTING
  end
  if state == 'R' then
    return Code.RELEASED
  end
  return Code.CONFIRMED
end)
