#!/usr/bin/env bash
# hyper_server (hyper 1 on this runtime): curl checks the body, the status codes, keep-alive
# reuse and a malformed request; then a bounded wrk run must see no errors and no non-2xx;
# then the graceful shutdown on SIGTERM, idle and under load.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
work="$(mktemp -d)"
trap 'cleanup; rm -rf "$work"' EXIT
start_server hyper_server
url="http://$ADDR"

expect_eq "GET / body" "$(curl -sS --fail --max-time 10 "$url/")" "Hello, world!"
expect_eq "GET / status" \
    "$(curl -sS --max-time 10 -o /dev/null -w '%{http_code}' "$url/")" "200"
expect_eq "GET /missing status" \
    "$(curl -sS --max-time 10 -o /dev/null -w '%{http_code}' "$url/missing")" "404"

# Three URLs in one invocation: one connection, reused for the second and third request.
curl -sSv --fail --max-time 10 "$url/" "$url/" "$url/" >"$work/reuse.out" 2>"$work/reuse.err" ||
    fail "curl keep-alive run failed: $(cat "$work/reuse.err")"
grep -q "Re-using existing connection" "$work/reuse.err" ||
    fail "curl did not reuse the connection: $(cat "$work/reuse.err")"
expect_eq "bodies over one connection" "$(cat "$work/reuse.out")" \
    "$(printf 'Hello, world!\nHello, world!\nHello, world!')"
expect_eq "connections opened for three URLs" "$(curl -sS --max-time 10 -o /dev/null -o /dev/null \
    -o /dev/null -w '%{num_connects}' "$url/" "$url/" "$url/")" "100"

# A malformed request head: hyper answers 400 and closes; the server keeps serving.
status="$(printf 'garbage\r\n\r\n' | timeout 10 nc -N "$HOST" "$PORT" | head -n 1 | tr -d '\r')"
expect_eq "garbage over nc" "$status" "HTTP/1.1 400 Bad Request"
expect_eq "GET / after the bad request" "$(curl -sS --fail --max-time 10 "$url/")" "Hello, world!"
server_alive
echo "curl: body, 200, 404, keep-alive reuse and 400 as expected"

# wrk: bounded in time.
timeout 60 wrk -t2 -c50 -d2s "$url/" >"$work/wrk.out" 2>&1 || fail "wrk failed: $(cat "$work/wrk.out")"
grep -q "Requests/sec:" "$work/wrk.out" || fail "wrk printed no rate: $(cat "$work/wrk.out")"
! grep -q "Non-2xx" "$work/wrk.out" || fail "wrk saw non-2xx responses: $(cat "$work/wrk.out")"
! grep -q "Socket errors" "$work/wrk.out" || fail "wrk saw socket errors: $(cat "$work/wrk.out")"
server_alive
echo "wrk -t2 -c50 -d2s: $(grep 'Requests/sec:' "$work/wrk.out" | tr -s ' '), no errors"
stop_server TERM 10
echo "SIGTERM when idle: exit 0, $DRAINED"

# Graceful shutdown under load: wrk -c50 runs 3 s, SIGTERM to the server 1 s in; it must exit
# 0 within its grace period (5 s; the limit allows 2 more), nothing cut off. The assertions
# on wrk's counts, and why, are those of http.sh: no non-2xx and no timeouts; at most one read
# error per connection (50), for connections hyper's graceful_shutdown closed while idle; a
# request under way is answered with `connection: close`; connect and write errors from
# wrk's refused reconnects are expected.
start_server hyper_server --grace 5
url="http://$ADDR"
shutdown_under_wrk "$url/" "$work/wrk-shutdown.out"
echo "wrk -c50 with SIGTERM 1 s in: exit 0, $DRAINED; no non-2xx;$WRK_ERRORS"
