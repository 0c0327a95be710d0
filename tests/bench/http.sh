#!/usr/bin/env bash
# The HTTP benchmark of issue 5: the dispatch endpoint, and changes from 32
# concurrent clients, against a server holding the projections data set.
#
#   bash tests/bench/http.sh DATABASE_URL [SECONDS]
#
# DATABASE_URL holds a data set made by `vigie-bench-data generate` (no users
# yet: the server creates `admin` on its first start). Installs wrk from
# Debian's packages if it is missing. Prints requests/s and latency
# percentiles, and the server's resident memory.
set -euo pipefail
cd "$(dirname "$0")/../.."
url=${1:?usage: http.sh DATABASE_URL [SECONDS]}
seconds=${2:-10}
source tests/bench/serve.sh
serve "$url" 18090
echo "== server resident memory before the load: $(grep VmRSS /proc/$server/status)"

# 500 schedules with a December shift for the changes (dispatch asks of every account).
head -n 250 "$work/accounts.txt" | while read -r account; do
  curl -s "$base/accounts/$account/schedules" -H "authorization: Bearer $token" | python3 -c '
import sys, json
for s in json.load(sys.stdin): print(s["id"])'
done > "$work/schedules.txt"
while read -r schedule; do
  curl -s "$base/schedules/$schedule/shifts?from=2026-12-08T00:00:00Z&to=2026-12-09T00:00:00Z" -H "authorization: Bearer $token" \
    | python3 -c 'import sys, json; d=json.load(sys.stdin); print(d["schedule"]["id"], d["shifts"][0]["id"])'
done < "$work/schedules.txt" > "$work/shifts.txt"
echo "accounts: $(wc -l < "$work/accounts.txt"), schedules for changes: $(wc -l < "$work/shifts.txt")"
cat > "$work/dispatch.lua" <<LUA
local ids = {}
for line in io.lines("$work/accounts.txt") do ids[#ids + 1] = line end
math.randomseed(7)
request = function()
  local id = ids[math.random(#ids)]
  return wrk.format("GET", "/api/v1/accounts/" .. id .. "/on-call", {["authorization"] = "Bearer $token"})
end
LUA
cat > "$work/changes.lua" <<LUA
local targets = {}
for line in io.lines("$work/shifts.txt") do
  local schedule, shift = line:match("(%S+) (%S+)")
  targets[#targets + 1] = {schedule, shift}
end
math.randomseed(11)
local n = 0
request = function()
  n = n + 1
  local t = targets[math.random(#targets)]
  local body = '{"text":"bench note ' .. n .. '"}'
  return wrk.format("POST", "/api/v1/schedules/" .. t[1] .. "/shifts/" .. t[2] .. "/comments",
    {["authorization"] = "Bearer $token", ["content-type"] = "application/json"}, body)
end
LUA

echo "== dispatch: GET /api/v1/accounts/{id}/on-call, random accounts, 32 connections, ${seconds}s"
wrk -t2 -c32 -d"${seconds}s" --latency -s "$work/dispatch.lua" http://127.0.0.1:18090 | grep -E "Requests/sec|Latency|50%|90%|99%|Non-2xx"
echo "== server resident memory after dispatch: $(grep VmRSS /proc/$server/status)"
echo "== changes: POST …/comments (durable), random schedules, 32 connections, ${seconds}s"
wrk -t2 -c32 -d"${seconds}s" --latency -s "$work/changes.lua" http://127.0.0.1:18090 | grep -E "Requests/sec|Latency|50%|90%|99%|Non-2xx"
echo "== server resident memory: $(grep VmRSS /proc/$server/status)"
