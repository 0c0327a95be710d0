#!/usr/bin/env bash
# One client at a time: the latency of a lone change and of a lone inbox read,
# on the demo data, as a portal user clicking through would see it.
#
#   bash tests/bench/lone.sh [sqlite|postgres] [SECONDS] [VIGIE_BINARY]
#
# Starts `vigie serve --demo` on a fresh database (SQLite in a temporary
# directory, or the PostgreSQL database vigie_lone on 127.0.0.1:5432), then
# runs wrk with one connection: comments on one shift, then the inbox of the
# client's account. Prints requests/s and the median and 90th percentile.
# Installs wrk from Debian's packages if it is missing. Give a binary to
# compare builds; the default is this checkout's release build.
set -euo pipefail
cd "$(dirname "$0")/../.."
backend=${1:-sqlite}
seconds=${2:-5}
binary=${3:-}
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
if [ -z "$binary" ]; then cargo build --release -q -p vigie-api; binary=./target/release/vigie; fi
work=$(mktemp -d)
if [ "$backend" = postgres ]; then
  psql -q -h 127.0.0.1 -U postgres -d postgres -c "DROP DATABASE IF EXISTS vigie_lone WITH (FORCE)" -c "CREATE DATABASE vigie_lone"
  url=postgres://postgres@127.0.0.1:5432/vigie_lone
else
  url=sqlite://$work/vigie.db
fi
RUST_LOG=warn "$binary" serve --demo --bind 127.0.0.1:18091 --database "$url" > "$work/server.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 1 600); do curl -sf http://127.0.0.1:18091/health >/dev/null && break; sleep 0.5; done
base=http://127.0.0.1:18091/api/v1
json() { python3 -c "import sys, json; d = json.load(sys.stdin); print($1)"; }
token=$(curl -s $base/auth/login -H 'content-type: application/json' \
  -d '{"username":"4000-TEST","password":"vigie-demo"}' | json 'd["token"]')
auth="authorization: Bearer $token"
account=$(curl -s $base/me -H "$auth" | json 'd["accounts"][0]["id"]')
schedule=$(curl -s "$base/accounts/$account/schedules" -H "$auth" | json 'd[0]["id"]')
shift=$(curl -s "$base/schedules/$schedule/shifts?from=$(date -u -d '+8 days' +%FT%TZ)&to=$(date -u -d '+36 days' +%FT%TZ)" \
  -H "$auth" | json 'd["shifts"][0]["id"]')
cat > "$work/change.lua" <<LUA
wrk.method = "POST"
wrk.body = '{"text":"Luc Lambert will cover"}'
wrk.headers["content-type"] = "application/json"
wrk.headers["authorization"] = "Bearer $token"
LUA
echo "wrk.headers[\"authorization\"] = \"Bearer $token\"" > "$work/read.lua"
summary='/Requests\/sec/ {rate = $2} / 50%/ {p50 = $2} / 90%/ {p90 = $2} END {printf "%s/s, p50 %s, p90 %s\n", rate, p50, p90}'
echo -n "lone change:     "
wrk -t1 -c1 -d"${seconds}s" --latency -s "$work/change.lua" "$base/schedules/$schedule/shifts/$shift/comments" | awk "$summary"
echo -n "lone inbox read: "
wrk -t1 -c1 -d"${seconds}s" --latency -s "$work/read.lua" "$base/accounts/$account/messages" | awk "$summary"
