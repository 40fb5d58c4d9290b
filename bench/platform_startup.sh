#!/usr/bin/env bash
# How long the all-in-one platform takes from process start to a chat completion answered
# through its gateway with a token: starts the release build of `--example platform` on a fresh
# data folder, reads the admin credentials it prints, gets a token, and calls the sample
# workload until it answers 200.
#
#   cargo build --release --example platform && bash bench/platform_startup.sh
set -euo pipefail
cd "$(dirname "$0")/.."
binary=target/release/examples/platform
[ -x "$binary" ] || { echo "build it first: cargo build --release --example platform" >&2; exit 1; }
data=$(mktemp -d)
out="$data/platform.out"
api=127.0.0.1:18081
gateway=127.0.0.1:18001
start=$(date +%s.%N)
"$binary" --data-dir "$data/state" --api "$api" --gateway "$gateway" > "$out" 2>&1 &
pid=$!
stop() { kill -INT "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -rf "$data"; }
trap stop EXIT
for _ in $(seq 1 1200); do grep -q "client secret" "$out" && break; sleep 0.05; done
printed=$(date +%s.%N)
id=$(awk '/client id/ {print $3}' "$out")
secret=$(awk '/client secret/ {print $3}' "$out")
token=$(curl -s "http://$api/api/v1/token" -H 'content-type: application/json' \
  -d "{\"grantType\":\"client_credentials\",\"clientId\":\"$id\",\"clientSecret\":\"$secret\"}" \
  | sed 's/.*"accessToken":"\([^"]*\)".*/\1/')
code=000
for _ in $(seq 1 1200); do
  code=$(curl -s -o /dev/null -w '%{http_code}' "http://$gateway/1/chat/v1/chat/completions" \
    -H "authorization: Bearer $token" -H 'content-type: application/json' \
    -d '{"model":"sim","messages":[{"role":"user","content":"hello"}],"max_tokens":4}')
  [ "$code" = 200 ] && break
  sleep 0.05
done
done_at=$(date +%s.%N)
printf 'credentials printed after %.2f s; first chat completion (HTTP %s) after %.2f s\n' \
  "$(echo "$printed - $start" | bc)" "$code" "$(echo "$done_at - $start" | bc)"
