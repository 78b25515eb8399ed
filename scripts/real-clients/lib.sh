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
