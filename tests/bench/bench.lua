-- wrk script for `make bench` (tests/bench/run.py drives it; see README.md).
--
-- The scenario comes from the environment, so one script serves every row:
--   BENCH_METHOD   GET or POST (default GET)
--   BENCH_BODY     static: the form body of a POST (application/x-www-form-urlencoded);
--                  chain: the fixed part of the body, "&refresh_token=<token>" is appended
--   BENCH_HEADERS  extra request headers, one "Name: value" per line (e.g. Cookie, Origin)
--   BENCH_EXPECT   the status that counts as success (default 200; the login form answers 302)
--   BENCH_MODE     static (default), pool or chain:
--     static  the same request every time (wrk builds it once);
--     pool    BENCH_FILE holds one body per line and each is sent exactly once (single-use
--             authorization codes). A line "<path> <body>" sends the body to that path
--             instead of the URL's (make scale: token requests for many tenants in turn).
--             Thread k of BENCH_THREADS takes lines k, k+n, k+2n...
--             A connection with nothing left to send is parked (delay()); when every body
--             of a thread has been answered, the thread prints BENCH_THREAD_DONE and stops,
--             and run.py interrupts wrk once all threads have. wrk's own duration is then
--             meaningless: done() reports the span from the first request to the last
--             response (monotonic clock, through LuaJIT's ffi), which run.py divides by.
--     chain   BENCH_FILE holds seed refresh tokens, one per line, split between threads as
--             above. Each thread keeps a queue of the tokens no request is carrying: a
--             request takes one, and response() puts back the new refresh_token of a 200's
--             body (rotation: every response carries the next token). So each token is
--             sent once and each family has at most one request in flight. A connection
--             has at most one request in flight, so with as many seeds as connections the
--             queue is never empty unless requests fail; then the connection is parked and
--             counted as starved (and the failures as errors).
--
-- Every thread runs this file in its own Lua state, so the counters below live in the
-- thread; setup() (run in the main state) numbers the threads and keeps a handle on each,
-- and done() collects the counters with thread:get(). done() prints one line,
-- "BENCH_RESULT {json}", that run.py parses. Any status but BENCH_EXPECT is an error.

local ffi = require("ffi")
ffi.cdef([[
typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
int clock_gettime(int clk_id, bench_timespec *tp);
]])
local CLOCK_MONOTONIC = 1
local timespec = ffi.new("bench_timespec")

local function now_us()
  ffi.C.clock_gettime(CLOCK_MONOTONIC, timespec)
  return tonumber(timespec.tv_sec) * 1000000 + math.floor(tonumber(timespec.tv_nsec) / 1000)
end

local mode = os.getenv("BENCH_MODE") or "static"
local expected = tonumber(os.getenv("BENCH_EXPECT") or "") or 200
local thread_count = tonumber(os.getenv("BENCH_THREADS") or "") or 1
local PARK_MS = 3600 * 1000 -- longer than any run: a parked connection sends nothing more

wrk.method = os.getenv("BENCH_METHOD") or "GET"
local body = os.getenv("BENCH_BODY") or ""
if mode == "static" and body ~= "" then
  wrk.body = body
end
if wrk.method == "POST" then
  wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
end
for line in (os.getenv("BENCH_HEADERS") or ""):gmatch("[^\n]+") do
  local name, value = line:match("^([^:]+):%s*(.*)$")
  if name then
    wrk.headers[name] = value
  end
end

-- Per-thread state (each thread's Lua state has its own copies; setup() sets `id` and
-- `verify_call` before init() runs).
statuses = {}
unexpected = 0
assigned = 0 -- pool/chain: lines of BENCH_FILE this thread took
answered = 0 -- responses received (any status)
parked = 0 -- connections parked: pool, nothing left to send; chain, no token available
first_request_us = 0
last_response_us = 0

local items = {} -- pool: bodies; chain: the queue of refresh tokens not in flight
local next_item = 1 -- pool: the next body to send
local stopped = false

local function urlencode(value)
  return (value:gsub("[^%w%-%._~]", function(c)
    return string.format("%%%02X", string.byte(c))
  end))
end

function init(args)
  if mode == "static" then
    return
  end
  local path = os.getenv("BENCH_FILE")
  local handle = path and io.open(path, "r")
  if not handle then
    error("BENCH_MODE=" .. mode .. " needs BENCH_FILE, a readable file (got " .. tostring(path) .. ")")
  end
  local index = 0
  for line in handle:lines() do
    if line ~= "" then
      if index % thread_count == (id or 1) - 1 then
        table.insert(items, line)
      end
      index = index + 1
    end
  end
  handle:close()
  assigned = #items
end

local function request_for(item)
  if mode == "chain" then
    return wrk.format(nil, nil, nil, body .. "&refresh_token=" .. urlencode(item))
  end
  -- pool: a line "<path> <body>" posts the body to that path (make scale: each tenant's own
  -- token endpoint); a bare body goes to the URL's path.
  local path, path_body = item:match("^(/%S*) (.*)$")
  if path then
    return wrk.format(nil, path, nil, path_body)
  end
  return wrk.format(nil, nil, nil, item)
end

if mode ~= "static" then
  -- wrk calls delay() before every request() of a connection. It reserves what that request
  -- will send (a body, a token) or, when nothing is left, parks the connection: no body is
  -- sent twice and no token is reused, even when requests fail.
  local reserved = 0

  function delay()
    local available
    if mode == "pool" then
      available = #items - (next_item - 1) - reserved
    else
      available = #items - reserved
    end
    if available <= 0 then
      parked = parked + 1
      return PARK_MS
    end
    reserved = reserved + 1
    return 0
  end

  function request()
    if verify_call then
      -- wrk calls request() once on the first thread, before the load, to check that the
      -- request parses: peek, do not consume a code or a token.
      verify_call = false
      return request_for(items[1] or "")
    end
    reserved = reserved - 1
    if first_request_us == 0 then
      first_request_us = now_us()
    end
    local item
    if mode == "pool" then
      item = items[next_item]
      next_item = next_item + 1
    else
      item = table.remove(items, 1)
    end
    return request_for(item or "")
  end
end

function response(status, headers, response_body)
  statuses[status] = (statuses[status] or 0) + 1
  answered = answered + 1
  if status ~= expected then
    unexpected = unexpected + 1
  end
  if mode == "chain" and status == 200 then
    local token = response_body:match('"refresh_token"%s*:%s*"([^"]+)"')
    if token then
      table.insert(items, token)
    else
      unexpected = unexpected + 1 -- a 200 without the next token ends that family
    end
  end
  last_response_us = now_us()
  if mode == "pool" and answered >= assigned and not stopped then
    stopped = true
    io.write("BENCH_THREAD_DONE\n")
    io.flush()
    wrk.thread:stop()
  end
end

-- Main state only.
local threads = {}

function setup(thread)
  table.insert(threads, thread)
  thread:set("id", #threads)
  thread:set("verify_call", #threads == 1 and mode ~= "static")
end

function done(summary, latency, requests)
  local totals = { unexpected = 0, assigned = 0, answered = 0, parked = 0 }
  local merged = {}
  local first, last = nil, 0
  for _, thread in ipairs(threads) do
    for name, _ in pairs(totals) do
      totals[name] = totals[name] + (thread:get(name) or 0)
    end
    for status, count in pairs(thread:get("statuses") or {}) do
      merged[status] = (merged[status] or 0) + count
    end
    local started = thread:get("first_request_us") or 0
    if started > 0 and (first == nil or started < first) then
      first = started
    end
    last = math.max(last, thread:get("last_response_us") or 0)
  end
  local parts = {}
  for status, count in pairs(merged) do
    table.insert(parts, string.format('"%d": %d', status, count))
  end
  local e = summary.errors
  io.write(string.format(
    'BENCH_RESULT {"mode": "%s", "expected": %d, "requests": %d, "duration_us": %d, "bytes": %d, '
      .. '"errors": {"connect": %d, "read": %d, "write": %d, "timeout": %d, "status": %d, "unexpected": %d}, '
      .. '"statuses": {%s}, "assigned": %d, "answered": %d, "parked": %d, "span_us": %d, '
      .. '"latency_us": {"p50": %d, "p90": %d, "p99": %d, "max": %d, "mean": %.1f}}\n',
    mode, expected, summary.requests, summary.duration, summary.bytes,
    e.connect, e.read, e.write, e.timeout, e.status, totals.unexpected,
    table.concat(parts, ", "), totals.assigned, totals.answered, totals.parked,
    first and math.max(last - first, 0) or 0,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max, latency.mean
  ))
end
