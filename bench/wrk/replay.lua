-- Replays prepared requests (one per line: METHOD<TAB>PATH<TAB>header=value;...<TAB>BODY).
-- Each thread takes every n-th line from its own offset, so no request is sent twice while
-- the file lasts. Arguments: FILE THREADS. done() prints one JSON line for bench/run.py.
local threads = {}

function setup(thread)
  thread:set("tid", #threads)
  table.insert(threads, thread)
end

function init(args)
  reqs = {}
  local f = assert(io.open(args[1], "r"))
  for line in f:lines() do
    local method, path, hdrs, body = line:match("^([^\t]*)\t([^\t]*)\t([^\t]*)\t(.*)$")
    local h = {}
    for k, v in hdrs:gmatch("([^=;]+)=([^;]*)") do h[k] = v end
    if body == "" then body = nil end
    reqs[#reqs + 1] = wrk.format(method, path, h, body)
  end
  f:close()
  step = tonumber(args[2]) or 1
  idx = tid or 0
end

function request()
  local r = reqs[(idx % #reqs) + 1]
  idx = idx + step
  return r
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests": %d, "duration_us": %d, "non2xx": %d, "socket_errors": %d, ' ..
    '"p50_us": %d, "p95_us": %d, "p99_us": %d, "max_us": %d}\n',
    summary.requests, summary.duration, e.status, e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(95), latency:percentile(99), latency.max))
end
