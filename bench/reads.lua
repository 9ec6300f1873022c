-- wrk script for the federated read (bench/run.sh, BENCH_ONLY=reads):
--   wrk -t2 -c32 -d30s -s bench/reads.lua URL
-- POSTs the read of bench/reads.graphql (the demo customer's accounts with their balances and
-- last ten transactions; BENCH_BODY, the JSON request body) with the customer's token
-- (BENCH_TOKEN) and a distinct x-request-id on every request, as real traffic has: identical
-- requests would be collapsed by the router's in-flight deduplication, which would measure
-- that instead of the bank. BENCH_TARGET names the target in the ids.
--
-- Every response is checked: a status other than 2xx, a body with "errors", or one without
-- the accounts counts as bad. done() prints one line, `reads-result {json}`, with requests/s,
-- p50, p99 (ms) and the counts, which bench/run.sh reads (and fails on any bad response).

local token = os.getenv("BENCH_TOKEN") or error("BENCH_TOKEN is not set")
local target = os.getenv("BENCH_TARGET") or "reads"
local body = os.getenv("BENCH_BODY") or error("BENCH_BODY is not set")

-- Globals on purpose: setup() gives each thread its `id`, and done() reads each thread's counts
-- with thread:get().
local threads = {}
id, counter, bad, non2xx, errors, empty = 0, 0, 0, 0, 0, 0

function setup(thread)
  thread:set("id", #threads + 1)
  table.insert(threads, thread)
end

function init(args)
  wrk.method = "POST"
  wrk.body = body
  wrk.headers["Content-Type"] = "application/json"
  wrk.headers["Authorization"] = "Bearer " .. token
end

function request()
  counter = counter + 1
  wrk.headers["x-request-id"] = string.format("%s-%d-%d", target, id, counter)
  return wrk.format()
end

function response(status, headers, resp)
  if status < 200 or status > 299 then
    non2xx = non2xx + 1
    bad = bad + 1
  elseif resp:find('"errors"', 1, true) then
    errors = errors + 1
    bad = bad + 1
  elseif not resp:find('"accounts":[{', 1, true) then
    empty = empty + 1
    bad = bad + 1
  end
end

function done(summary, latency, requests)
  local totals = { bad = 0, non2xx = 0, errors = 0, empty = 0 }
  for _, thread in ipairs(threads) do
    for name in pairs(totals) do
      totals[name] = totals[name] + (thread:get(name) or 0)
    end
  end
  local e = summary.errors
  local socket_errors = e.connect + e.read + e.write + e.timeout
  io.write(string.format(
    'reads-result {"requests":%d,"seconds":%.3f,"rps":%.1f,"p50_ms":%.2f,"p99_ms":%.2f,'
      .. '"max_ms":%.2f,"bad":%d,"non2xx":%d,"graphql_errors":%d,"no_accounts":%d,"socket_errors":%d}\n',
    summary.requests, summary.duration / 1e6, summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency.max / 1000,
    totals.bad, totals.non2xx, totals.errors, totals.empty, socket_errors))
end
