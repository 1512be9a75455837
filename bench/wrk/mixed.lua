-- A mixed read/write workload for wrk against the Leads API; bench/loadrun.py runs it as
--   wrk ... -s bench/wrk/mixed.lua http://127.0.0.1:8200 -- <file of lead ids, one a line>
-- with BENCH_TOKEN (an access token) in the environment.
-- 40% list page 1, 10% filtered+sorted list, 5% search, 20% detail, 10% update, 5% create,
-- 8% by-source, 2% stats/scoring.

local token = os.getenv("BENCH_TOKEN")
local ids = {}
local counter = 0

local function headers(json)
  local h = { ["Authorization"] = "Bearer " .. token }
  if json then h["Content-Type"] = "application/json" end
  return h
end

function init(args)
  for line in io.lines(args[1]) do ids[#ids + 1] = line end
  math.randomseed(os.time() * 1000 + math.floor(os.clock() * 1000000))
end

function request()
  counter = counter + 1
  local r = math.random(100)
  local id = ids[math.random(#ids)]
  if r <= 40 then
    return wrk.format("GET", "/leads?limit=20", headers())
  elseif r <= 50 then
    return wrk.format("GET", "/leads?limit=20&status=qualified&sortField=score&sortOrder=desc", headers())
  elseif r <= 55 then
    return wrk.format("GET", "/leads?limit=20&q=okafor", headers())
  elseif r <= 75 then
    return wrk.format("GET", "/leads/" .. id, headers())
  elseif r <= 85 then
    return wrk.format("PUT", "/leads/" .. id, headers(true), '{"score": ' .. math.random(0, 100) .. '}')
  elseif r <= 90 then
    return wrk.format("POST", "/leads", headers(true), '{"name": "Load ' .. counter .. '", "source": "website"}')
  elseif r <= 98 then
    return wrk.format("GET", "/leads/by-source/referral?limit=20", headers())
  end
  return wrk.format("GET", "/leads/stats/scoring", headers())
end
