#!/usr/bin/env bash
# chat: nc clients in rooms see each other's lines, and only their own room's.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
work="$(mktemp -d)"
start_server chat

# wait_for FILE TEXT: waits (bounded) until FILE contains the line TEXT.
wait_for() {
    for _ in $(seq 1 100); do
        grep -qxF "$2" "$1" 2>/dev/null && return 0
        sleep 0.1
    done
    fail "$1 never got [$2] (has: $(cat "$1"))"
}

# join NAME: an nc client fed from a fifo on fd 3, 4, 5…; its output goes to $work/NAME.out.
fd=3
clients=()
# On failure, stop the clients too (they would wait for input that never closes).
trap 'kill "${clients[@]}" 2>/dev/null || true; cleanup' EXIT
join() {
    mkfifo "$work/$1.in"
    # The client must not inherit the earlier clients' inputs, or closing those later would
    # not end them.
    (
        for ((f = 3; f < fd; f++)); do eval "exec $f>&-"; done
        exec timeout 60 nc -N "$HOST" "$PORT"
    ) <"$work/$1.in" >"$work/$1.out" &
    clients+=("$!")
    eval "exec $fd>\"$work/$1.in\""
    eval "fd_$1=$fd"
    fd=$((fd + 1))
    say "$1" "/nick $1"
    wait_for "$work/$1.out" "* you are now $1"
}
say() {
    local f
    eval "f=\$fd_$1"
    echo "$2" >&"$f"
}

join alice
join bob
join carol
say alice "hello everyone"
wait_for "$work/bob.out" "alice: hello everyone"
wait_for "$work/carol.out" "alice: hello everyone"

say bob "/join den"
wait_for "$work/bob.out" "* you are now in den"
say carol "/join den"
wait_for "$work/carol.out" "* you are now in den"
wait_for "$work/bob.out" "* carol joined den"
wait_for "$work/alice.out" "* carol left lobby"
say carol "hi bob"
wait_for "$work/bob.out" "carol: hi bob"
say bob "hi carol"
wait_for "$work/carol.out" "bob: hi carol"
# alice, alone in the lobby, then joins den and speaks there: den must see only the latter.
say alice "lobby only"
say alice "/join den"
wait_for "$work/alice.out" "* you are now in den"
say alice "den too"
wait_for "$work/bob.out" "alice: den too"
wait_for "$work/carol.out" "alice: den too"
for who in bob carol; do
    ! grep -q "lobby only" "$work/$who.out" || fail "$who saw a line from another room"
done

say bob "/quit"
wait_for "$work/bob.out" "* bye"
wait_for "$work/alice.out" "* bob left den"
# Closing their input ends the other clients; every nc must exit cleanly.
for f in 3 4 5; do eval "exec $f>&-"; done
for pid in "${clients[@]}"; do
    wait "$pid" || fail "an nc client failed"
done
server_alive
echo "chat: three nc clients, two rooms, lines delivered to their room only"
