-- paths.lua - requests a random path from a list, with one method.
--   BENCH_PATHS   file with one request path (and query) per line
--   BENCH_METHOD  GET (default) or HEAD
--   BENCH_LUA_DIR this directory (for report.lua)
-- Every request is formatted once at start, so the script costs the load generator little.
dofile(os.getenv("BENCH_LUA_DIR") .. "/report.lua")

local reqs = {}

function init(args)
   local method = os.getenv("BENCH_METHOD") or "GET"
   for line in io.lines(os.getenv("BENCH_PATHS")) do
      if line ~= "" then
         reqs[#reqs + 1] = wrk.format(method, line)
      end
   end
   if #reqs == 0 then
      error("no paths in " .. os.getenv("BENCH_PATHS"))
   end
   math.randomseed(os.time() + (tonumber(tostring({}):match("0x(%x+)"), 16) or 0) % 100000)
end

function request()
   return reqs[math.random(#reqs)]
end
