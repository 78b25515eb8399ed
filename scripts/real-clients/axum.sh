#!/usr/bin/env bash
# axum_server (an axum Router on this runtime through compat::hyper): curl checks the text,
# JSON in and out, a path parameter, axum's rejections and the 404 fallback; then a bounded
# wrk run must see no errors and no non-2xx; then the graceful shutdown on SIGTERM.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
work="$(mktemp -d)"
trap 'cleanup; rm -rf "$work"' EXIT
start_server axum_server
url="http://$ADDR"
status() { curl -sS --max-time 10 -o /dev/null -w '%{http_code}' "$@"; }

expect_eq "GET / body" "$(curl -sS --fail --max-time 10 "$url/")" "Hello from axum!"
expect_eq "GET /users/7" "$(curl -sS --fail --max-time 10 "$url/users/7")" '{"id":7,"name":"user 7"}'
expect_eq "GET /users/7 content type" \
    "$(curl -sS --max-time 10 -o /dev/null -w '%{content_type}' "$url/users/7")" "application/json"
expect_eq "POST /greet" "$(curl -sS --fail --max-time 10 -H 'content-type: application/json' \
    -d '{"name":"Ada","times":2}' "$url/greet")" '{"greeting":"Hello, Ada! Hello, Ada!","length":23}'
expect_eq "GET /users/seven status" "$(status "$url/users/seven")" "400"
expect_eq "POST /greet, bad JSON" "$(status -H 'content-type: application/json' -d '{"name":' "$url/greet")" "400"
expect_eq "POST /greet, no times" "$(status -H 'content-type: application/json' -d '{"name":"Ada"}' "$url/greet")" "422"
expect_eq "POST /greet, no content type" "$(status -d '{"name":"Ada","times":1}' "$url/greet")" "415"
expect_eq "GET /missing status" "$(status "$url/missing")" "404"
server_alive
echo "curl: text, JSON in and out, path parameter, 400/415/422 and 404 as expected"

timeout 60 wrk -t2 -c50 -d2s "$url/users/1" >"$work/wrk.out" 2>&1 || fail "wrk failed: $(cat "$work/wrk.out")"
grep -q "Requests/sec:" "$work/wrk.out" || fail "wrk printed no rate: $(cat "$work/wrk.out")"
! grep -q "Non-2xx" "$work/wrk.out" || fail "wrk saw non-2xx responses: $(cat "$work/wrk.out")"
! grep -q "Socket errors" "$work/wrk.out" || fail "wrk saw socket errors: $(cat "$work/wrk.out")"
server_alive
echo "wrk -t2 -c50 -d2s: $(grep 'Requests/sec:' "$work/wrk.out" | tr -s ' '), no errors"
stop_server TERM 10
echo "SIGTERM when idle: exit 0, $DRAINED"
