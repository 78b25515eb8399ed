#!/usr/bin/env bash
# http: curl checks the routes, keep-alive reuse, 404, 400 and Connection: close; then
# bounded wrk and ab runs must see no errors and no non-2xx responses; then the graceful
# shutdown on SIGTERM: idle, with a request in flight (nc) and under wrk's load.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
work="$(mktemp -d)"
start_server http
url="http://$ADDR"

expect_eq "GET /" "$(curl -sS --fail --max-time 10 "$url/")" "Hello, world!"
expect_eq "GET /json" "$(curl -sS --fail --max-time 10 "$url/json")" '{"message":"Hello, world!"}'
expect_eq "GET /json content type" \
    "$(curl -sS --max-time 10 -o /dev/null -w '%{content_type}' "$url/json")" "application/json"
expect_eq "GET /missing" \
    "$(curl -sS --max-time 10 -o /dev/null -w '%{http_code}' "$url/missing")" "404"

# Two URLs in one invocation: the second request reuses the first connection.
curl -sSv --fail --max-time 10 "$url/" "$url/json" >"$work/reuse.out" 2>"$work/reuse.err" ||
    fail "curl keep-alive run failed: $(cat "$work/reuse.err")"
grep -q "Re-using existing connection" "$work/reuse.err" ||
    fail "curl did not reuse the connection: $(cat "$work/reuse.err")"
expect_eq "connections opened for two URLs" "$(curl -sS --max-time 10 -o /dev/null -o /dev/null \
    -w '%{num_connects}' "$url/" "$url/json")" "10"

# Bad requests: 400, then the server closes.
expect_eq "request target with a space" "$(curl -sS --max-time 10 -o /dev/null -w '%{http_code}' \
    --request-target '/a b' "$url/")" "400"
status="$(printf 'garbage\r\n\r\n' | timeout 10 nc -N "$HOST" "$PORT" | head -n 1 | tr -d '\r')"
expect_eq "garbage over nc" "$status" "HTTP/1.1 400 Bad Request"

# Connection: close is honoured.
curl -sSv --fail --max-time 10 -H 'Connection: close' "$url/" >/dev/null 2>"$work/close.err" ||
    fail "curl with Connection: close failed"
grep -qi "< Connection: close" "$work/close.err" || fail "no Connection: close in the response"
server_alive
echo "curl: routes, keep-alive reuse, 404, 400 and Connection: close as expected"

# wrk: bounded in time.
timeout 60 wrk -t2 -c50 -d2s "$url/" >"$work/wrk.out" 2>&1 || fail "wrk failed: $(cat "$work/wrk.out")"
grep -q "Requests/sec:" "$work/wrk.out" || fail "wrk printed no rate: $(cat "$work/wrk.out")"
! grep -q "Non-2xx" "$work/wrk.out" || fail "wrk saw non-2xx responses: $(cat "$work/wrk.out")"
! grep -q "Socket errors" "$work/wrk.out" || fail "wrk saw socket errors: $(cat "$work/wrk.out")"
echo "wrk -t2 -c50 -d2s: $(grep 'Requests/sec:' "$work/wrk.out" | tr -s ' '), no errors"

# ab (HTTP/1.0 with keep-alive): bounded in count.
timeout 120 ab -q -n 5000 -c 50 -k "$url/" >"$work/ab.out" 2>&1 || fail "ab failed: $(cat "$work/ab.out")"
grep -q "^Complete requests: *5000$" "$work/ab.out" || fail "ab incomplete: $(cat "$work/ab.out")"
grep -q "^Failed requests: *0$" "$work/ab.out" || fail "ab saw failures: $(cat "$work/ab.out")"
! grep -q "Non-2xx" "$work/ab.out" || fail "ab saw non-2xx responses: $(cat "$work/ab.out")"
grep -q "^Keep-Alive requests: *5000$" "$work/ab.out" ||
    fail "ab did not keep connections alive: $(cat "$work/ab.out")"
server_alive
echo "ab -n 5000 -c 50 -k: $(grep 'Requests per second:' "$work/ab.out" | tr -s ' '), 0 failed"
stop_server TERM 10
echo "SIGTERM when idle: exit 0, $DRAINED"

# Graceful shutdown, with nc: half a request head, SIGTERM, the rest of the head. The request
# was under way when the signal came, so it is answered (with Connection: close), then closed.
start_server http --grace 5
split_by_sigterm 'GET /json HTTP/1.1\r\nHo' 'st: nc\r\n\r\n' "$work/inflight.out"
expect_eq "request in flight at SIGTERM" "$(head -n 1 "$work/inflight.out" | tr -d '\r')" "HTTP/1.1 200 OK"
grep -q "^Connection: close" "$work/inflight.out" || fail "no Connection: close: $(cat "$work/inflight.out")"
grep -q '{"message":"Hello, world!"}$' "$work/inflight.out" || fail "no body: $(cat "$work/inflight.out")"
await_server_exit 10
expect_eq "drain after the request in flight" "${DRAINED% in *}" "shutdown: drained 1 connection"
echo "nc: the request in flight at SIGTERM got its 200 with Connection: close; $DRAINED"

# Graceful shutdown under load: wrk -c50 runs 3 s, SIGTERM goes to the server 1 s in; the
# server must exit 0 within its grace period (5 s; the limit allows 2 more), nothing cut off.
# What wrk may count, and why:
# - non-2xx or timeouts: never. Every request the server read is answered.
# - read errors: at most one per connection (50). A connection waiting for wrk's next request
#   when the signal comes is closed at once, and wrk counts a read error for the request it
#   then sends on it: keep-alive's own race, as with any server that closes idle
#   connections (HTTP/1.1 clients retry such requests; wrk doesn't). wrk can't tell that
#   from a reset request, so this bound only says no connection failed twice; a request
#   the server was reading or handling is answered with Connection: close (wrk then
#   reconnects instead), which the nc check above and tests/examples_servers.rs pin exactly.
# - connect and write errors: expected. wrk reconnects after the listener closed, and the
#   reconnect is refused (loopback reports it at the first write).
start_server http --grace 5
url="http://$ADDR"
shutdown_under_wrk "$url/" "$work/wrk-shutdown.out"
echo "wrk -c50 with SIGTERM 1 s in: exit 0, $DRAINED; no non-2xx;$WRK_ERRORS"
