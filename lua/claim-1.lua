--[[
  A worker claims a reservation before its database transaction, so that a release racing
  with it can no longer return the stock (see DESIGN.md: pending -> committing).
  Repeatable: a job run again after a crash claims the same reservation again.

  Input:
    KEYS[1] reservation hash

  Output:
     1 GO         state is now C (committing): write the order
     0 GONE       the reservation was released: write nothing
     2 CONFIRMED  already confirmed: nothing left to do
    -1 UNKNOWN    no such reservation
]]
local state = redis.call('HGET', KEYS[1], 's')
if not state then
  return -1
end
if state == 'P' or state == 'C' then
  redis.call('HSET', KEYS[1], 's', 'C')
  return 1
end
if state == 'R' then
  return 0
end
return 2
