-- wrk script for the throughput ceilings.
--   wrk ... -s bench/wrk.lua URL                 -> GET URL's path (the bare Django endpoint)
--   wrk ... -s bench/wrk.lua URL -- pairs.txt    -> GET /verify/<id>/messages, rotating over the
--                                                   "<id> <api key>" lines of pairs.txt
-- done() prints one "WRK {json}" line that bench/run.py parses.

local items = {}
local counter = 0

function init(args)
  if args[1] then
    for line in io.lines(args[1]) do
      local id, key = line:match("^(%S+)%s+(%S+)$")
      if id then
        items[#items + 1] = { path = "/verify/" .. id .. "/messages", auth = "Api-Key " .. key }
      end
    end
    -- Threads start at different offsets so they do not poll the same verification in lockstep.
    counter = math.random(#items)
  end
end

function request()
  if #items == 0 then
    return wrk.format("GET")
  end
  counter = counter + 1
  local item = items[(counter % #items) + 1]
  return wrk.format("GET", item.path, { ["Authorization"] = item.auth })
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRK {"requests": %d, "duration_us": %d, "connect": %d, "read": %d, "write": %d, "status": %d, ' ..
    '"timeout": %d, "p50_us": %d, "p95_us": %d, "p99_us": %d, "max_us": %d}\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(95), latency:percentile(99), latency.max))
end
