-- One wrk script for every workload of bench/compare.sh, configured through
-- the environment so that every system runs exactly the same client code.
--
--   BENCH_A_METHOD, BENCH_A_PATH, BENCH_A_BODY   the first request (body optional)
--   BENCH_A_IDS   "lo:hi"  ids drawn uniformly for {id} in request A
--   BENCH_B_*     an optional second request; when set, each wrk thread
--                 alternates A and B (its connections share one script state,
--                 so a B may go out on another connection than its A; the
--                 mix stays exactly one B per A)
--   BENCH_B_IDS   "lo:hi"  ids for {id} in request B
--   BENCH_MAP     a file of "a_id b_value" lines: {ref} in B becomes the value
--                 for the id A just used (a product's factory id, read off the
--                 product as a client would)
--   BENCH_TOKEN   when set, sent as "Authorization: Bearer ..."
--
-- {n} in a body becomes a number unique to the request (names that must not
-- collide). done() prints one JSON line the driver reads.
--
-- A request without {n} is rendered once per id (and ref) and kept: the
-- string substitutions and wrk.format() cost wrk 10-12 µs of user CPU per
-- GraphQL request (3.4-4.7 µs kept), on the cores the server under test
-- shares with it (BENCHMARKS.md, "The load generator's own CPU"). Every
-- system gets the same bytes as before, ids drawn the same way.

local function env(name, default)
  local value = os.getenv(name)
  if value == nil or value == "" then
    return default
  end
  return value
end

local function range(spec)
  local lo, hi = string.match(spec or "1:1", "^(%d+):(%d+)$")
  return tonumber(lo), tonumber(hi)
end

local function template(prefix)
  local path = env(prefix .. "_PATH")
  if path == nil then
    return nil
  end
  local lo, hi = range(env(prefix .. "_IDS", "1:1"))
  return {
    method = env(prefix .. "_METHOD", "GET"), path = path, body = env(prefix .. "_BODY"), lo = lo, hi = hi,
    rendered = {},
  }
end

local a, b
local refs = {}
local headers = {}
local counter = 0
local thread_tag = 0
local last_a_id = nil
local next_is_b = false

local threads_seen = 0
function setup(thread)
  threads_seen = threads_seen + 1
  thread:set("thread_tag", threads_seen)
end

function init(args)
  a = template("BENCH_A")
  b = template("BENCH_B")
  local map = env("BENCH_MAP")
  if map ~= nil then
    for line in io.lines(map) do
      local key, value = string.match(line, "^(%d+)%s+(%S+)$")
      if key ~= nil then
        refs[tonumber(key)] = value
      end
    end
  end
  local token = env("BENCH_TOKEN")
  if token ~= nil then
    headers["Authorization"] = "Bearer " .. token
  end
  headers["Content-Type"] = "application/json"
  headers["Accept"] = "application/json"
  math.randomseed(os.time() * 1000 + thread_tag)
end

local function render(t, id, ref)
  local key = nil
  if t.body == nil or not string.find(t.body, "{n}", 1, true) then
    key = id .. " " .. (ref or "")
    local kept = t.rendered[key]
    if kept ~= nil then
      return kept
    end
  end
  counter = counter + 1
  local unique = tostring(thread_tag * 100000000 + counter)
  local path = string.gsub(t.path, "{id}", id)
  path = string.gsub(path, "{ref}", ref or "")
  local body = t.body
  if body ~= nil then
    body = string.gsub(body, "{id}", id)
    body = string.gsub(body, "{ref}", ref or "")
    body = string.gsub(body, "{n}", unique)
  end
  local request = wrk.format(t.method, path, headers, body)
  if key ~= nil then
    t.rendered[key] = request
  end
  return request
end

function request()
  if b ~= nil and next_is_b then
    next_is_b = false
    return render(b, tostring(math.random(b.lo, b.hi)), refs[last_a_id])
  end
  local id = math.random(a.lo, a.hi)
  last_a_id = id
  next_is_b = b ~= nil
  return render(a, tostring(id), nil)
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRK {"requests":%d,"seconds":%.3f,"p50_us":%d,"p90_us":%d,"p99_us":%d,"max_us":%d,"non_2xx_3xx":%d,"socket_errors":%d}\n',
    summary.requests, summary.duration / 1e6, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.max, e.status, e.connect + e.read + e.write + e.timeout))
end
