#!/usr/bin/env bash
# The inbox and call log on a busy account: searches, filters, pages and the
# CSV download, measured with wrk against a server on a data set of 20
# accounts with 20,000 messages and 20,000 calls each (60 days).
#
#   bash tests/bench/inbox.sh DATABASE_URL [SECONDS]
#
# DATABASE_URL holds a data set made by
# `vigie-bench-data generate DATABASE_URL 20 40000` (no users yet: the server
# creates `admin` on its first start). On PostgreSQL, run VACUUM ANALYZE once
# the read models have caught up (the script does it), as autovacuum would in
# a while. Prints requests/s and latency percentiles per case.
set -euo pipefail
cd "$(dirname "$0")/../.."
url=${1:?usage: inbox.sh DATABASE_URL [SECONDS]}
seconds=${2:-8}
source tests/bench/serve.sh
serve "$url" 18091
case $url in postgres*) psql "$url" -qc 'VACUUM ANALYZE' ;; esac

day=$(date -d '-2 days' +%F)
for suffix in "/messages" "/messages?q=Call%20back%2012345" "/messages?q=dupuis" \
    "/messages?window=last_week&status=open&urgent=true" "/messages?offset=19950" "/messages.csv?window=last_week" \
    "/calls" "/calls?from=$day&to=$day" "/calls?caller_id=555-0142" "/calls?offset=19500"; do
  cat > "$work/case.lua" <<LUA
local ids = {}
for line in io.lines("$work/accounts.txt") do ids[#ids + 1] = line end
math.randomseed(7)
request = function()
  local id = ids[math.random(#ids)]
  return wrk.format("GET", "/api/v1/accounts/" .. id .. "$suffix", {["authorization"] = "Bearer $token"})
end
LUA
  echo "== GET /api/v1/accounts/{id}$suffix"
  wrk -t2 -c8 -d"${seconds}s" --latency -s "$work/case.lua" http://127.0.0.1:18091 | grep -E "Requests/sec|50%|99%|Non-2xx"
done
echo "== server resident memory: $(grep VmRSS /proc/$server/status)"
