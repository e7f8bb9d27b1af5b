-- wrk script for `make bench` (tests/bench/run.py drives it; see README.md).
--
-- The request comes from the environment so one script serves every scenario:
--   BENCH_METHOD  GET or POST (default GET)
--   BENCH_BODY    the form body of a POST (application/x-www-form-urlencoded)
--
-- Every thread runs this file in its own Lua state, so the per-status counters below
-- live in the thread; setup() (run in the main state) keeps a handle on each thread and
-- done() collects the counters with thread:get(). done() prints one line,
-- "BENCH_RESULT {json}", that run.py parses. Anything but a 200 counts as an error.

wrk.method = os.getenv("BENCH_METHOD") or "GET"
local body = os.getenv("BENCH_BODY")
if body and body ~= "" then
  wrk.body = body
  wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
end

-- Per-thread state (each thread's Lua state has its own copies).
statuses = {}
non200 = 0

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
  if status ~= 200 then
    non200 = non200 + 1
  end
end

-- Main state only.
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function done(summary, latency, requests)
  local non200_total = 0
  local merged = {}
  for _, thread in ipairs(threads) do
    non200_total = non200_total + (thread:get("non200") or 0)
    for status, count in pairs(thread:get("statuses") or {}) do
      merged[status] = (merged[status] or 0) + count
    end
  end
  local parts = {}
  for status, count in pairs(merged) do
    table.insert(parts, string.format('"%d": %d', status, count))
  end
  local e = summary.errors
  io.write(string.format(
    'BENCH_RESULT {"requests": %d, "duration_us": %d, "bytes": %d, '
      .. '"errors": {"connect": %d, "read": %d, "write": %d, "timeout": %d, "status": %d, "non200": %d}, '
      .. '"statuses": {%s}, '
      .. '"latency_us": {"p50": %d, "p90": %d, "p99": %d, "max": %d, "mean": %.1f}}\n',
    summary.requests, summary.duration, summary.bytes,
    e.connect, e.read, e.write, e.timeout, e.status, non200_total,
    table.concat(parts, ", "),
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max, latency.mean
  ))
end
