-- wrk script for the throughput ceilings.
--   wrk ... -s bench/wrk.lua URL                 -> GET URL's path (the bare Django endpoint)
--   wrk ... -s bench/wrk.lua URL -- pairs.txt    -> GET /verify/<id>/messages, rotating over the
--                                                   "<id> <scheme> <credential> [<etag>]" lines of
--                                                   pairs.txt (scheme Api-Key or Bearer; with an etag,
--                                                   If-None-Match: the 304 path)
-- done() prints one "WRK {json}" line that bench/run.py parses.
--
-- One request in RECONNECT_EVERY asks the server to close its connection, and wrk opens a new one.
-- gunicorn's gthread workers do not balance keep-alive connections: wrk's 32 connections, opened at
-- once, can all land on one or two of the four workers, and the "ceiling" then measures that luck
-- (seen: /system/live at 3060 req/s in one run, 1560 in the next, with one worker busy). New
-- connections go to whichever worker accepts first, usually an idle one, so the load spreads; the
-- extra TCP handshakes (2 %) cost both endpoints alike.

local RECONNECT_EVERY = 50

local items = {}
local counter = 0

function init(args)
  if args[1] then
    for line in io.lines(args[1]) do
      local id, scheme, credential, etag = line:match("^(%S+)%s+(%S+)%s+(%S+)%s*(%S*)$")
      if id then
        items[#items + 1] = { path = "/verify/" .. id .. "/messages", auth = scheme .. " " .. credential,
                              etag = etag ~= "" and etag or nil }
      end
    end
    -- Threads start at different offsets so they do not poll the same verification in lockstep.
    counter = math.random(#items)
  end
end

local sent = 0

function request()
  sent = sent + 1
  local headers = {}
  if sent % RECONNECT_EVERY == 0 then
    headers["Connection"] = "close"
  end
  if #items == 0 then
    return wrk.format("GET", nil, headers)
  end
  counter = counter + 1
  local item = items[(counter % #items) + 1]
  headers["Authorization"] = item.auth
  if item.etag then
    headers["If-None-Match"] = item.etag
  end
  return wrk.format("GET", item.path, headers)
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRK {"requests": %d, "duration_us": %d, "connect": %d, "read": %d, "write": %d, "status": %d, ' ..
    '"timeout": %d, "p50_us": %d, "p95_us": %d, "p99_us": %d, "max_us": %d}\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(95), latency:percentile(99), latency.max))
end
