#!/usr/bin/env bash
# proxy: curl and ab reach the http example through the proxy.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
work="$(mktemp -d)"
start_server http
upstream="$ADDR"
start_server proxy --to "$upstream"
url="http://$ADDR"

expect_eq "GET / via the proxy" "$(curl -sS --fail --max-time 10 "$url/")" "Hello, world!"
expect_eq "GET /json via the proxy" "$(curl -sS --fail --max-time 10 "$url/json")" \
    '{"message":"Hello, world!"}'
expect_eq "GET /missing via the proxy" \
    "$(curl -sS --max-time 10 -o /dev/null -w '%{http_code}' "$url/missing")" "404"
expect_eq "connections opened for two URLs" "$(curl -sS --max-time 10 -o /dev/null -o /dev/null \
    -w '%{num_connects}' "$url/" "$url/json")" "10"
expect_eq "bad request via the proxy" "$(curl -sS --max-time 10 -o /dev/null -w '%{http_code}' \
    --request-target '/a b' "$url/")" "400"

timeout 120 ab -q -n 2000 -c 20 -k "$url/" >"$work/ab.out" 2>&1 || fail "ab failed: $(cat "$work/ab.out")"
grep -q "^Complete requests: *2000$" "$work/ab.out" || fail "ab incomplete: $(cat "$work/ab.out")"
grep -q "^Failed requests: *0$" "$work/ab.out" || fail "ab saw failures: $(cat "$work/ab.out")"
! grep -q "Non-2xx" "$work/ab.out" || fail "ab saw non-2xx responses: $(cat "$work/ab.out")"
server_alive
echo "proxy: curl and ab -n 2000 -c 20 -k through the proxy, no errors"
