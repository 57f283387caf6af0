-- create.lua - creates tables with names never used before, spread over namespaces.
--   BENCH_PATHS   file with one table-collection path (/v1/<prefix>/namespaces/<ns>/tables)
--                 per line; requests cycle through them
--   BENCH_TAG     a word that makes this run's table names unique
--   BENCH_LUA_DIR this directory (for report.lua)
-- The body is a small five-column schema, as an engine's CREATE TABLE sends it.
dofile(os.getenv("BENCH_LUA_DIR") .. "/report.lua")

local paths = {}
local n = 0
local tag = os.getenv("BENCH_TAG") or "run"
local headers = { ["Content-Type"] = "application/json" }
local schema = '{"type":"struct","schema-id":0,"fields":[' ..
   '{"id":1,"name":"id","required":true,"type":"long"},' ..
   '{"id":2,"name":"ts","required":false,"type":"timestamptz"},' ..
   '{"id":3,"name":"name","required":false,"type":"string"},' ..
   '{"id":4,"name":"amount","required":false,"type":"decimal(12, 2)"},' ..
   '{"id":5,"name":"tags","required":false,"type":{"type":"list","element-id":6,' ..
   '"element":"string","element-required":false}}]}'

function init(args)
   for line in io.lines(os.getenv("BENCH_PATHS")) do
      if line ~= "" then
         paths[#paths + 1] = line
      end
   end
end

function request()
   n = n + 1
   local body = '{"name":"c_' .. tag .. '_' .. n .. '","schema":' .. schema .. '}'
   return wrk.format("POST", paths[(n % #paths) + 1], headers, body)
end
