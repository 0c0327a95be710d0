# Sourced by the HTTP benchmarks: starts the release server on a data set and
# waits until it is ready to be measured.
#
#   source tests/bench/serve.sh; serve DATABASE_URL PORT
#
# DATABASE_URL holds a data set made by `vigie-bench-data generate` (no users
# yet: the server creates `admin` on its first start). Afterwards: $server (its
# pid, stopped on exit), $base (the API's address), $token (admin's session),
# $work (a scratch folder, removed on exit) with accounts.txt (every account's
# id), once the inbox and call log have caught up with the whole log.
serve() {
  local url=$1 port=$2
  command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
  cargo build --release -q -p vigie-api
  work=$(mktemp -d)
  local started=$SECONDS
  VIGIE_ADMIN_PASSWORD=bench-password RUST_LOG=warn \
    ./target/release/vigie serve --bind "127.0.0.1:$port" --database "$url" > "$work/server.log" 2>&1 &
  server=$!
  trap 'kill $server 2>/dev/null; rm -rf "$work"' EXIT
  for _ in $(seq 1 600); do curl -sf "http://127.0.0.1:$port/health" >/dev/null && break; sleep 0.5; done
  base=http://127.0.0.1:$port/api/v1
  token=$(curl -s "$base/auth/login" -H 'content-type: application/json' \
    -d '{"username":"admin","password":"bench-password"}' | python3 -c 'import sys,json; print(json.load(sys.stdin)["token"])')
  curl -s "$base/me" -H "authorization: Bearer $token" | python3 -c '
import sys, json
for a in json.load(sys.stdin)["accounts"]: print(a["id"])' > "$work/accounts.txt"
  # The inbox and call log catch up on the data set first, so that their work is not measured as load.
  local head_position first
  head_position=$(curl -s "http://127.0.0.1:$port/health" | python3 -c 'import sys,json; print(json.load(sys.stdin)["position"])')
  first=$(head -n 1 "$work/accounts.txt")
  until curl -sf "$base/accounts/$first/messages?min_position=$head_position" -H "authorization: Bearer $token" >/dev/null \
     && curl -sf "$base/accounts/$first/calls?min_position=$head_position" -H "authorization: Bearer $token" >/dev/null; do
    sleep 1
  done
  echo "read models at position $head_position $((SECONDS - started)) s after the start"
}
