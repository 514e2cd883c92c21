--[[
  The batch scripts' loop (claim-1.lua, confirm-1.lua): for each order id of ARGV from
  `first` on, its reservation hash (`prefix` .. order id) and state; `step(key, orderId,
  state)` answers its code, and an order with no reservation answers MISSING.
  Returns one code per order id, in their order.
]]
local function eachReservation(prefix, first, step)
  local codes = {}
  for i = first, #ARGV do
    local key = prefix .. ARGV[i]
    local state = redis.call('HGET', key, 's')
    if state then
      codes[i - first + 1] = step(key, ARGV[i], state)
    else
      codes[i - first + 1] = Code.MISSING
    end
  end
  return codes
end
