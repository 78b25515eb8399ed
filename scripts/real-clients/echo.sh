#!/usr/bin/env bash
# echo: concurrent nc clients get their bytes back; with --max-conns 1 a second client is
# held (not refused) until the first disconnects, then served.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
work="$(mktemp -d)"

# wait_for FILE TEXT: waits (bounded) until FILE contains the line TEXT.
wait_for() {
    for _ in $(seq 1 100); do
        grep -qxF "$2" "$1" 2>/dev/null && return 0
        sleep 0.1
    done
    fail "$1 never got [$2] (has: $(cat "$1"))"
}

start_server echo
# 20 clients at once, each with its own lines; -N sends EOF after stdin, and nc exits when
# the server closes its side in turn.
pids=()
for i in $(seq 1 20); do
    seq "$i" 1000 | sed "s/^/client $i line /" >"$work/in.$i"
    timeout 20 nc -N "$HOST" "$PORT" <"$work/in.$i" >"$work/out.$i" &
    pids+=("$!")
done
for i in $(seq 1 20); do
    wait "${pids[$((i - 1))]}" || fail "nc client $i failed"
done
for i in $(seq 1 20); do
    cmp -s "$work/in.$i" "$work/out.$i" || fail "client $i: the echo differs"
done
server_alive
echo "20 concurrent nc clients echoed"

start_server echo --max-conns 1
mkfifo "$work/first"
timeout 20 nc -N "$HOST" "$PORT" <"$work/first" >"$work/first.out" &
first=$!
# On failure, stop this client too (it would wait for input that never closes).
trap 'kill "$first" 2>/dev/null || true; cleanup' EXIT
exec 3>"$work/first"
echo "first" >&3
wait_for "$work/first.out" "first"
# (3>&-: the first client's input must close when this shell closes it, not live on here.)
echo "second" | timeout 20 nc -N "$HOST" "$PORT" >"$work/second.out" 3>&- &
second=$!
# At the limit the server does not accept the second connection: no echo yet.
sleep 0.5
[ ! -s "$work/second.out" ] || fail "the second client was served past --max-conns 1"
exec 3>&- # the first client leaves; its slot goes to the second
wait "$first" || fail "first nc client failed"
wait "$second" || fail "second nc client failed"
expect_eq "second client's echo" "$(cat "$work/second.out")" "second"
server_alive
echo "connection limit: the second client waited for the first, then was served"
