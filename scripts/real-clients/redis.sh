#!/usr/bin/env bash
# mini_redis against the real Redis tools: redis-cli runs every command (outputs checked),
# a redis-cli subscriber receives a PUBLISH, nc sends inline and malformed requests, and
# redis-benchmark loads it with and without pipelining. Fails on any error reply or line.
# Then the graceful shutdown on SIGTERM: idle, with a command in flight (nc), under load.
set -euo pipefail
cd "$(dirname "$0")/../.."
. scripts/real-clients/lib.sh

start_server mini_redis
# --no-raw: typed output ("(integer) 1", "(nil)", quoted strings), as a terminal shows it.
cli() { timeout 10 redis-cli -h "$HOST" -p "$PORT" --no-raw "$@"; }

expect_eq "PING" "$(cli PING)" "PONG"
expect_eq "PING msg" "$(cli PING hello)" '"hello"'
expect_eq "ECHO" "$(cli ECHO 'hello world')" '"hello world"'
expect_eq "GET missing" "$(cli GET greeting)" "(nil)"
expect_eq "SET" "$(cli SET greeting hi)" "OK"
expect_eq "GET" "$(cli GET greeting)" '"hi"'
expect_eq "SET NX on a key" "$(cli SET greeting x NX)" "(nil)"
expect_eq "SET XX" "$(cli SET greeting hey XX)" "OK"
expect_eq "SET GET" "$(cli SET greeting yo GET)" '"hey"'
expect_eq "SET EX" "$(cli SET session abc EX 100)" "OK"
ttl="$(cli TTL session)"
case "$ttl" in "(integer) 99" | "(integer) 100") ;; *) fail "TTL session: got [$ttl]" ;; esac
expect_eq "TTL no deadline" "$(cli TTL greeting)" "(integer) -1"
expect_eq "TTL missing" "$(cli TTL nothing)" "(integer) -2"
expect_eq "EXPIRE" "$(cli EXPIRE greeting 50)" "(integer) 1"
expect_eq "EXPIRE missing" "$(cli EXPIRE nothing 50)" "(integer) 0"
expect_eq "PERSIST" "$(cli PERSIST greeting)" "(integer) 1"
expect_eq "SET PX" "$(cli SET flash on PX 100)" "OK"
sleep 0.3 # let its 100 ms run out
expect_eq "GET expired" "$(cli GET flash)" "(nil)"
expect_eq "TTL expired" "$(cli TTL flash)" "(integer) -2"
expect_eq "INCR new" "$(cli INCR visits)" "(integer) 1"
expect_eq "INCR" "$(cli INCR visits)" "(integer) 2"
expect_eq "DECR" "$(cli DECR visits)" "(integer) 1"
expect_eq "INCR not a number" "$(cli INCR greeting)" \
    "(error) ERR value is not an integer or out of range"
expect_eq "MGET" "$(cli MGET greeting nothing visits)" "$(printf '1) "yo"\n2) (nil)\n3) "1"')"
expect_eq "EXISTS" "$(cli EXISTS greeting visits nothing)" "(integer) 2"
expect_eq "DEL" "$(cli DEL greeting visits nothing)" "(integer) 2"
expect_eq "GET deleted" "$(cli GET greeting)" "(nil)"
expect_eq "wrong arity" "$(cli GET)" "(error) ERR wrong number of arguments for 'get' command"
expect_eq "unknown" "$(cli FROB x)" \
    "(error) ERR unknown command 'FROB', with args beginning with: 'x' "
expect_eq "CONFIG GET" "$(cli CONFIG GET appendonly)" "$(printf '1) "appendonly"\n2) "no"')"
expect_eq "INFO" "$(cli INFO | grep -c '^connected_clients:1')" "1"

# Pub/sub: a redis-cli subscriber (bounded by timeout) and PUBLISH from another.
sub_out="$(mktemp)"
timeout 10 redis-cli -h "$HOST" -p "$PORT" SUBSCRIBE news >"$sub_out" &
sub_pid=$!
received=0
for _ in $(seq 1 50); do
    # Until the subscription is registered nobody receives the message (0); no duplicates.
    received="$(cli PUBLISH news 'hello subscriber')"
    [ "$received" = "(integer) 1" ] && break
    sleep 0.1
done
expect_eq "PUBLISH to one subscriber" "$received" "(integer) 1"
for _ in $(seq 1 50); do
    grep -q 'hello subscriber' "$sub_out" && break
    sleep 0.1
done
expect_eq "the subscriber's output" "$(cat "$sub_out")" \
    "$(printf 'subscribe\nnews\n1\nmessage\nnews\nhello subscriber')"
kill "$sub_pid" 2>/dev/null || true
wait "$sub_pid" 2>/dev/null || true
expect_eq "PUBLISH after the subscriber left" "$(cli PUBLISH news again)" "(integer) 0"

# Inline requests and a malformed one, as nc sends them.
expect_eq "inline" "$(printf 'PING\r\nSET k "a b"\r\nGET k\r\n' | timeout 10 nc -N "$HOST" "$PORT")" \
    "$(printf '+PONG\r\n+OK\r\n$3\r\na b\r\n')"
expect_eq "malformed" "$(printf '*1\r\n$4\r\nPING\r\n*x\r\nPING\r\n' | timeout 10 nc -N "$HOST" "$PORT")" \
    "$(printf '+PONG\r\n-ERR Protocol error: invalid multibulk length\r\n')"
server_alive

# Load: every test redis-benchmark runs (PING_INLINE, PING_MBULK, SET, GET, INCR).
for pipeline in 1 16; do
    out="$(mktemp)"
    timeout 60 redis-benchmark -h "$HOST" -p "$PORT" -t ping,set,get,incr -n 100000 -c 50 \
        -P "$pipeline" --csv >"$out" 2>&1 || fail "redis-benchmark -P $pipeline: $(cat "$out")"
    if grep -qiE 'err|warn' "$out"; then
        fail "redis-benchmark -P $pipeline reported: $(cat "$out")"
    fi
    for t in PING_INLINE PING_MBULK SET GET INCR; do
        grep -q "^\"$t\",\"[0-9.]*\"" "$out" || fail "redis-benchmark -P $pipeline: no $t figure: $(cat "$out")"
    done
    echo "redis-benchmark -P $pipeline (requests/s):"
    cut -d, -f1,2 "$out" | tail -n +2 | tr -d '"' | sed 's/^/    /'
done
server_alive
stored="$(cli GET key:__rand_int__)" # -d 3: a 3-byte value
case "$stored" in '"'???'"') ;; *) fail "what SET stored: got [$stored]" ;; esac
expect_eq "INCR's counter" "$(cli GET counter:__rand_int__)" '"200000"'

# Every benchmark connection is gone again: only this INFO's own client remains.
for _ in $(seq 1 50); do
    clients="$(cli INFO | tr -d '\r' | grep '^connected_clients:')"
    [ "$clients" = "connected_clients:1" ] && break
    sleep 0.1
done
expect_eq "clients after the load" "$clients" "connected_clients:1"
stop_server TERM 10
echo "SIGTERM when idle: exit 0, $DRAINED"

# Graceful shutdown, with nc: half a command, SIGTERM, the rest. The command was under way
# when the signal came, so it is answered, then the connection closes.
start_server mini_redis --grace 5
work_nc="$(mktemp)"
split_by_sigterm '*2\r\n$4\r\nECHO\r\n$5\r\nhel' 'lo\r\n' "$work_nc"
expect_eq "command in flight at SIGTERM" "$(cat "$work_nc")" "$(printf '$5\r\nhello\r\n')"
await_server_exit 10
expect_eq "drain after the command in flight" "${DRAINED% in *}" "shutdown: drained 1 connection"
echo "nc: the command in flight at SIGTERM got its reply; $DRAINED"

# Graceful shutdown under load: redis-benchmark -c 50 (bounded by timeout), SIGTERM to the
# server 1 s in. The server must exit 0 within its grace period (5 s; the limit allows 2
# more) with nothing cut off. RESP has no way to say "closing", so every benchmark client's
# connection ends between two of its commands (a command in flight is answered first, as
# the nc check above shows): redis-benchmark stops with "Server closed the connection", and
# that is the only error it may report (no error reply).
start_server mini_redis --grace 5
bench_out="$(mktemp)"
timeout 30 redis-benchmark -h "$HOST" -p "$PORT" -t set,get -n 100000000 -c 50 --csv \
    >"$bench_out" 2>&1 &
bench_pid=$!
sleep 1
stop_server TERM 7
wait "$bench_pid" && fail "redis-benchmark did not notice the shutdown: $(cat "$bench_out")"
grep -q "Server closed the connection" "$bench_out" ||
    fail "redis-benchmark did not end on the close: $(cat "$bench_out")"
! grep -qi "err" <(grep -v "^Error: Server closed the connection$" "$bench_out") ||
    fail "redis-benchmark reported more: $(cat "$bench_out")"
case "$DRAINED" in *", 0 cut off") ;; *) fail "connections cut off: $DRAINED" ;; esac
echo "redis-benchmark -c 50 with SIGTERM 1 s in: exit 0, $DRAINED"
echo "redis: ok"
