-- wrk script: POST one JSON body over and over, and check every answer.
--
-- usage: wrk ... -s bench/post.lua http://127.0.0.1:PORT/PATH -- BODY_FILE EXPECTED_BYTES [TOKEN]
--
--   BODY_FILE       file holding the request body (JSON)
--   EXPECTED_BYTES  length of the correct response body; any other length counts as a mismatch
--   TOKEN           optional bearer token, sent as `authorization: Bearer TOKEN`; or
--                   `@FILE`, a file of tokens (one per line) that requests take in turn
--                   (bench/tenants.py: requests spread over many tenants)
--
-- At the end it prints one line `BENCH_RESULT {...}` with the counts and latency percentiles
-- (microseconds) that bench/run.py reads.

local threads = {}

function setup(thread)
   table.insert(threads, thread)
end

function init(args)
   local file = assert(io.open(args[1], "rb"))
   local body = file:read("*a")
   file:close()
   expected_bytes = tonumber(args[2])
   local tokens = {}
   local token = args[3]
   if token ~= nil and token:sub(1, 1) == "@" then
      for line in io.lines(token:sub(2)) do
         if line ~= "" then table.insert(tokens, line) end
      end
   elseif token ~= nil and token ~= "" then
      tokens = { token }
   end
   prepared = {}
   for _, each in ipairs(tokens) do
      local headers = { ["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. each }
      table.insert(prepared, wrk.format("POST", nil, headers, body))
   end
   if #prepared == 0 then
      table.insert(prepared, wrk.format("POST", nil, { ["Content-Type"] = "application/json" }, body))
   end
   turn = 0
   non_2xx = 0
   mismatched = 0
end

function request()
   turn = turn % #prepared + 1
   return prepared[turn]
end

function response(status, headers, body)
   if status < 200 or status > 299 then
      non_2xx = non_2xx + 1
   elseif #body ~= expected_bytes then
      mismatched = mismatched + 1
   end
end

function done(summary, latency, requests)
   local non_2xx_total, mismatched_total = 0, 0
   for _, thread in ipairs(threads) do
      non_2xx_total = non_2xx_total + thread:get("non_2xx")
      mismatched_total = mismatched_total + thread:get("mismatched")
   end
   local errors = summary.errors
   io.write(string.format(
      'BENCH_RESULT {"requests": %d, "duration_us": %d, "bytes": %d, ' ..
      '"non_2xx": %d, "mismatched": %d, "status_errors": %d, ' ..
      '"connect_errors": %d, "read_errors": %d, "write_errors": %d, "timeouts": %d, ' ..
      '"latency_us": {"mean": %.1f, "stdev": %.1f, "max": %d, ' ..
      '"p50": %d, "p75": %d, "p90": %d, "p99": %d}}\n',
      summary.requests, summary.duration, summary.bytes,
      non_2xx_total, mismatched_total, errors.status,
      errors.connect, errors.read, errors.write, errors.timeout,
      latency.mean, latency.stdev, latency.max,
      latency:percentile(50), latency:percentile(75), latency:percentile(90),
      latency:percentile(99)))
end
