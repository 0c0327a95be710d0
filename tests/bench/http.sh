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
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
cargo build --release -q -p vigie-api
work=$(mktemp -d)
export VIGIE_ADMIN_PASSWORD=bench-password RUST_LOG=warn
./target/release/vigie serve --bind 127.0.0.1:18090 --database "$url" > "$work/server.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 1 600); do curl -sf http://127.0.0.1:18090/health >/dev/null && break; sleep 0.5; done
base=http://127.0.0.1:18090/api/v1
token=$(curl -s $base/auth/login -H 'content-type: application/json' \
  -d '{"username":"admin","password":"bench-password"}' | python3 -c 'import sys,json; print(json.load(sys.stdin)["token"])')

# Every account's id for dispatch; 500 schedules with a December shift for the changes.
curl -s $base/me -H "authorization: Bearer $token" | python3 -c '
import sys, json
for a in json.load(sys.stdin)["accounts"]: print(a["id"])' > "$work/accounts.txt"
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
# Let the inbox and call log catch up on the data set first, so that their work is not measured as load.
head_position=$(curl -s http://127.0.0.1:18090/health | python3 -c 'import sys,json; print(json.load(sys.stdin)["position"])')
first=$(head -n 1 "$work/accounts.txt")
started=$SECONDS
until curl -sf "$base/accounts/$first/messages?min_position=$head_position" -H "authorization: Bearer $token" >/dev/null \
   && curl -sf "$base/accounts/$first/calls?min_position=$head_position" -H "authorization: Bearer $token" >/dev/null; do
  sleep 2
done
echo "read models caught up with position $head_position after $((SECONDS - started)) s more"
echo "== server resident memory before the load: $(grep VmRSS /proc/$server/status)"

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
