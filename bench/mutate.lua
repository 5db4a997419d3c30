-- wrk script: POST a mutation whose variables change at every request, and check every answer.
--
-- usage: wrk ... -s bench/mutate.lua http://127.0.0.1:PORT/graphql -- SPEC_FILE EXPECTED_BYTES TOKEN
--
--   SPEC_FILE       lines `tag TAG`, one or more `id ID`, and `body TEMPLATE`: a JSON body
--                   holding the placeholders __ID__ and __TITLE__. Each request takes the next
--                   id in turn and the title "bench TAG NNNNNNNN" (a counter, 8 digits), so
--                   every request really changes the row and every answer has the same length
--                   (all ids of one type have the same length).
--   EXPECTED_BYTES  length of the correct response body; any other length counts as a mismatch
--   TOKEN           bearer token, sent as `authorization: Bearer TOKEN`
--
-- Counting, checking and the closing `BENCH_RESULT {...}` line are post.lua's (loaded from
-- the same folder), so bench/run.py reads this script's output like post.lua's.

local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(here .. "post.lua")

function init(args)
   local ids = {}
   for line in io.lines(args[1]) do
      local key, value = line:match("^(%a+) (.*)$")
      if key == "tag" then
         tag = value
      elseif key == "id" then
         table.insert(ids, value)
      elseif key == "body" then
         template = value
      end
   end
   assert(tag and template and #ids > 0, "the spec file needs a tag, an id and a body")
   task_ids = ids
   expected_bytes = tonumber(args[2])
   headers = { ["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. args[3] }
   counter = 0
   non_2xx = 0
   mismatched = 0
end

function request()
   counter = counter + 1
   local id = task_ids[(counter - 1) % #task_ids + 1]
   local title = string.format("bench %s %08d", tag, counter)
   local body = template:gsub("__ID__", id):gsub("__TITLE__", title)
   return wrk.format("POST", nil, headers, body)
end
