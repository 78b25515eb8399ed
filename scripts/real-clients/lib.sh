# Shared by the scripts in scripts/real-clients/: start a server example, check clients' output.
# Sourced, not run. Each script calls `start_server NAME [ARGS…]` and then drives "$ADDR".

BIN_DIR="${BIN_DIR:-${CARGO_TARGET_DIR:-target}/release/examples}"
SERVER_PIDS=()

cleanup() {
    for pid in "${SERVER_PIDS[@]:-}"; do
        [ -n "$pid" ] && kill "$pid" 2>/dev/null || true
    done
    wait 2>/dev/null || true
}
trap cleanup EXIT

fail() {
    echo "FAIL: $*" >&2
    exit 1
}

# start_server NAME [ARGS…]: runs $BIN_DIR/NAME --addr 127.0.0.1:0 ARGS… in the background and
# sets ADDR (host:port), HOST and PORT from the `listening on ADDR` line it prints first.
start_server() {
    local name="$1"
    shift
    local out
    out="$(mktemp)"
    "$BIN_DIR/$name" --addr 127.0.0.1:0 "$@" >"$out" 2>&1 &
    SERVER_PIDS+=("$!")
    local line=""
    for _ in $(seq 1 100); do
        line="$(head -n 1 "$out")"
        case "$line" in "listening on "*) break ;; esac
        # Waiting for another process to print: a bounded poll is the tool a shell has.
        sleep 0.1
    done
    case "$line" in
        "listening on "*) ADDR="${line#listening on }" ;;
        *) fail "$name did not print 'listening on ADDR' (got: $(cat "$out"))" ;;
    esac
    HOST="${ADDR%:*}"
    PORT="${ADDR##*:}"
    SERVER_LOG="$out"
    echo "$name listening on $ADDR"
}

# server_alive: fails unless the last started server is still running.
server_alive() {
    kill -0 "${SERVER_PIDS[-1]}" 2>/dev/null || fail "server exited: $(cat "$SERVER_LOG")"
}

# expect_eq WHAT GOT WANT
expect_eq() {
    [ "$2" = "$3" ] || fail "$1: got [$2], want [$3]"
}

# wait_for_log PATTERN: waits (bounded, 10 s) until the last started server printed a line
# matching the grep pattern PATTERN.
wait_for_log() {
    for _ in $(seq 1 100); do
        grep -q "$1" "$SERVER_LOG" && return 0
        sleep 0.1
    done
    fail "the server never printed '$1': $(cat "$SERVER_LOG")"
}

# split_by_sigterm FIRST REST OUT: sends FIRST to the last started server with nc, then
# SIGTERM to the server, and REST once it says it stopped accepting; what nc receives goes
# to OUT. So a request (or command) is under way when the signal comes.
split_by_sigterm() {
    {
        trap - EXIT # this subshell must not run the script's cleanup (it would signal the server)
        printf '%b' "$1"
        sleep 0.5 # nc has sent FIRST
        kill -s TERM "${SERVER_PIDS[-1]}"
        wait_for_log "stopped accepting"
        printf '%b' "$2"
    } | timeout 10 nc -N "$HOST" "$PORT" >"$3" || fail "nc: $(cat "$3")"
}

# stop_server SIGNAL LIMIT: sends SIGNAL (TERM, INT) to the last started server, then
# await_server_exit LIMIT.
stop_server() {
    kill -s "$1" "${SERVER_PIDS[-1]}"
    await_server_exit "$2"
}

# await_server_exit LIMIT: waits for the last started server to exit, at most LIMIT seconds
# (then kills it and fails). Fails unless it exited 0 and printed its `shutdown: drained …`
# line, which it puts in DRAINED.
await_server_exit() {
    local limit="$1" pid="${SERVER_PIDS[-1]}" status=0
    # `wait` has no time limit; tail --pid returns when the process is gone (checked every
    # 0.1 s), and timeout bounds that.
    if ! timeout "$limit" tail --pid="$pid" -s 0.1 -f /dev/null; then
        kill -9 "$pid" 2>/dev/null || true
        fail "server still running ${limit}s after being told to stop: $(cat "$SERVER_LOG")"
    fi
    wait "$pid" || status=$?
    SERVER_PIDS[-1]="" # reaped: nothing left for cleanup to kill
    [ "$status" = 0 ] || fail "server exited with $status: $(cat "$SERVER_LOG")"
    DRAINED="$(grep '^shutdown: drained ' "$SERVER_LOG")" ||
        fail "no 'shutdown: drained' line: $(cat "$SERVER_LOG")"
}

# shutdown_under_wrk URL OUT: runs `wrk -t2 -c50 -d3s URL` (output in OUT), sends SIGTERM to
# the last started server 1 s in, and checks it exited 0 within 7 s (its 5 s grace and 2
# more) with nothing cut off, and the counts wrk may show (see http.sh for why): no non-2xx,
# no timeouts, at most one read error per connection; connect and write errors are
# expected. Sets WRK_ERRORS to wrk's socket-error line.
shutdown_under_wrk() {
    local url="$1" out="$2" wrk_pid reads timeouts
    timeout 30 wrk -t2 -c50 -d3s "$url" >"$out" 2>&1 &
    wrk_pid=$!
    sleep 1
    stop_server TERM 7
    wait "$wrk_pid" || fail "wrk failed: $(cat "$out")"
    ! grep -q "Non-2xx" "$out" || fail "wrk saw non-2xx: $(cat "$out")"
    WRK_ERRORS="$(grep "Socket errors" "$out" | tr -s ' ' || echo "no socket errors")"
    reads="$(echo "$WRK_ERRORS" | sed -n 's/.*read \([0-9]*\).*/\1/p')"
    timeouts="$(echo "$WRK_ERRORS" | sed -n 's/.*timeout \([0-9]*\).*/\1/p')"
    [ "${reads:-0}" -le 50 ] || fail "more read errors than connections: $WRK_ERRORS"
    [ "${timeouts:-0}" = 0 ] || fail "wrk saw timeouts: $WRK_ERRORS"
    case "$DRAINED" in *", 0 cut off") ;; *) fail "connections cut off: $DRAINED" ;; esac
}
