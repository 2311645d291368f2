#!/usr/bin/env bash
# TLS benchmark: bankgw's TLSHandler beside `openssl s_server` + `openssl s_time` on the same certificates, in the
# same run, on loopback. Prints figures; asserts nothing. Used by `make bench`.
#   BANKGW_BIN    bankgw binary (default .build/release/bankgw, built when missing)
#   BENCH_SECONDS seconds per measurement (default 5)
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${BENCH_SECONDS:-5}"
bin="${BANKGW_BIN:-.build/release/bankgw}"
if [ ! -x "$bin" ]; then swift build -c release --product bankgw >/dev/null; fi

dir="$(mktemp -d /tmp/bankgw-bench-tls.XXXXXX)"
server_pid=""
cleanup() {
    if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
    rm -rf "$dir"
}
trap cleanup EXIT

"$bin" pki init "$dir" --quiet
pki="$dir/pki"

echo "== bankgw TLSHandler (TLS 1.3, mutual auth, ALPN h2; client and server in one process)"
"$bin" pki bench-tls "$dir" --seconds "$seconds" --concurrency 1
"$bin" pki bench-tls "$dir" --seconds "$seconds" --concurrency 4

echo "== openssl s_server + s_time on the same certificates (TLS 1.3, mutual auth; s_time is sequential)"
mkdir -p "$dir/www"
head -c 1048576 /dev/zero > "$dir/www/1mib.bin"
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
(cd "$dir/www" && exec openssl s_server -quiet -accept "127.0.0.1:$port" -cert "$pki/server.pem" \
    -key "$pki/server.key" -CAfile "$pki/ca.pem" -Verify 1 -WWW) >/dev/null 2>&1 &
server_pid=$!
for _ in $(seq 50); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then break; fi
    sleep 0.1
done
client=(-connect "127.0.0.1:$port" -cert "$pki/banks/9900.pem" -key "$pki/banks/9900.key" -CAfile "$pki/ca.pem")

new="$(openssl s_time "${client[@]}" -new -time "$seconds" 2>/dev/null | grep 'real seconds' || true)"
# "N connections in T real seconds, B bytes read per connection"
echo "$new" | awk '{ if ($4 > 0) printf "openssl s_server/s_time: %.0f full handshakes/s (concurrency 1)\n", $1 / $4 }'

www="$(openssl s_time "${client[@]}" -reuse -www /1mib.bin -time "$seconds" 2>/dev/null | grep 'real seconds' || true)"
echo "$www" | awk '{ if ($4 > 0) printf "openssl s_server/s_time: 1 MiB GET %.1f MB/s server to client (resumed sessions)\n", $1 * $7 / 1e6 / $4 }'
