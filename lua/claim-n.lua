--[[
  A worker claims reservations before its database transaction, so that a release racing
  with it can no longer return the stock (see DESIGN.md: pending -> committing).
  Takes the reservations of the jobs a worker runs at once, so one call serves many orders;
  all of them belong to one sale, so the keys share one hash tag and one cluster slot.
  Repeatable: a job run again after a crash claims the same reservation again.

  Input:
    KEYS[1..n] reservation hashes, all of one sale

  Output: one code per key, in the order of KEYS
     1 GO         state is now C (committing): write the order
     0 GONE       the reservation was released: write nothing
     2 CONFIRMED  already confirmed: nothing left to do
    -1 UNKNOWN    no such reservation
]]
local codes = {}
for i, key in ipairs(KEYS) do
  local state = redis.call('HGET', key, 's')
  if not state then
    codes[i] = -1
  elseif state == 'P' then
    redis.call('HSET', key, 's', 'C')
    codes[i] = 1
  elseif state == 'C' then
    codes[i] = 1
  elseif state == 'R' then
    codes[i] = 0
  else
    codes[i] = 2
  end
end
return codes
