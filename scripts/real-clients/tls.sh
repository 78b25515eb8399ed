#!/usr/bin/env bash
# tls_server (hyper over futures-rustls on this runtime): curl --insecure checks the body,
# the 404 and HTTP/1.1 by ALPN, and that verification rejects the self-signed certificate;
# openssl s_client checks the TLS 1.3 and 1.2 handshakes and a response over each; then the
# graceful shutdown on SIGTERM.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
work="$(mktemp -d)"
trap 'cleanup; rm -rf "$work"' EXIT
start_server tls_server
url="https://$ADDR"

expect_eq "GET / body" "$(curl -sS --fail --insecure --max-time 10 "$url/")" "Hello over TLS!"
expect_eq "GET /missing status" \
    "$(curl -sS --insecure --max-time 10 -o /dev/null -w '%{http_code}' "$url/missing")" "404"
expect_eq "HTTP version" \
    "$(curl -sS --insecure --max-time 10 -o /dev/null -w '%{http_version}' "$url/")" "1.1"
verified=0
curl -sS --max-time 10 "$url/" >/dev/null 2>&1 || verified=$?
expect_eq "curl without --insecure (60: certificate not trusted)" "$verified" "60"
echo "curl: body, 404, HTTP/1.1 and the untrusted self-signed certificate as expected"

for proto in tls1_3 tls1_2; do
    printf 'GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n' |
        timeout 20 openssl s_client -connect "$ADDR" -brief -ign_eof "-$proto" \
            >"$work/$proto.out" 2>"$work/$proto.err" ||
        fail "openssl s_client -$proto: $(cat "$work/$proto.err")"
    want="TLSv1.${proto#tls1_}"
    grep -q "Protocol version: $want" "$work/$proto.err" ||
        fail "s_client -$proto did not negotiate $want: $(cat "$work/$proto.err")"
    expect_eq "s_client -$proto status line" "$(head -n 1 "$work/$proto.out" | tr -d '\r')" "HTTP/1.1 200 OK"
    expect_eq "s_client -$proto body" "$(tail -n 1 "$work/$proto.out")" "Hello over TLS!"
done
server_alive
echo "openssl s_client: TLSv1.3 and TLSv1.2 handshakes, 200 over each"
stop_server TERM 10
echo "SIGTERM when idle: exit 0, $DRAINED"
