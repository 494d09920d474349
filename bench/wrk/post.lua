-- wrk script for scripts/bench: POSTs the JSON body in the file named by BENCH_BODY, with the headers listed
-- one "Name: value" a line in the file named by BENCH_HEADERS, and prints one machine-readable result line:
--   BENCH_RESULT {"requests":..,"p50_us":..,...}
-- Latency percentiles are wrk's own, measured from each request's send: fine at maximum throughput, the only
-- rounds wrk runs; the fixed-rate rounds use switchyard-loadgen, which counts from the scheduled send time.
local function slurp(path)
  local f = assert(io.open(path, "rb"), "cannot open " .. tostring(path))
  local s = f:read("*a")
  f:close()
  return s
end

wrk.method = "POST"
wrk.body = slurp(os.getenv("BENCH_BODY"))
wrk.headers["Content-Type"] = "application/json"
local headers = os.getenv("BENCH_HEADERS")
if headers and headers ~= "" then
  for line in io.lines(headers) do
    local name, value = line:match("^([^:]+):%s*(.-)%s*$")
    if name then wrk.headers[name] = value end
  end
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH_RESULT {"requests":%d,"duration_us":%d,"bytes":%d,"errors_connect":%d,"errors_read":%d,' ..
    '"errors_write":%d,"errors_status":%d,"errors_timeout":%d,"mean_us":%.1f,"p50_us":%d,"p99_us":%d,' ..
    '"p999_us":%d,"max_us":%d}\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status, e.timeout,
    latency.mean, latency:percentile(50), latency:percentile(99), latency:percentile(99.9), latency.max))
end
