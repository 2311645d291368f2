#!/usr/bin/env bash
# Gateway benchmark (issues 4 and 6), one run, one demo gateway (release build):
#   - h2load (nghttp2, a stock HTTP/2 client) against the plaintext probe port: grpc.health.v1.Health/Check over
#     h2c — our HTTP/2 + gRPC path without TLS, and the figure to compare with other gRPC servers;
#   - `bankgw bench-charge` over mutual TLS: the same health Check, then Charge on the APPROVED path, side by side,
#     so the cost of policy + durable ledger shows as a ratio.
# Prints figures; asserts nothing.
#   BANKGW_BIN    bankgw binary (default .build/release/bankgw, built when missing)
#   BENCH_SECONDS seconds per phase (default 5)
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${BENCH_SECONDS:-5}"
bin="${BANKGW_BIN:-.build/release/bankgw}"
if [ ! -x "$bin" ]; then swift build -c release --product bankgw >/dev/null; fi

dir="$(mktemp -d /tmp/bankgw-bench-gw.XXXXXX)"
server_pid=""
cleanup() {
    if [ -n "$server_pid" ]; then kill -TERM "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
    rm -rf "$dir"
}
trap cleanup EXIT

# Every SPEC §8 rule runs; the load (80 links per wallet, 1 minute of charges) would trip wallet.many_accounts and
# wallet.velocity and turn the APPROVED path into the HELD one, so those two thresholds sit above the load: the rules
# are evaluated on every charge (their cost is what this measures), they just do not fire.
printf '{"walletManyAccountsMinTokens": 1000, "walletVelocityMinYen": 1000000000}' > "$dir/monitoring.json"
"$bin" serve --demo --state-dir "$dir" --tls-port 0 --probe-port 0 --metrics-port 0 --console-port 0 \
    --monitoring "$dir/monitoring.json" --ready-file "$dir/ready.json" > "$dir/gateway.log" 2>&1 &
server_pid=$!
for _ in $(seq 1 300); do [ -s "$dir/ready.json" ] && break; sleep 0.1; done
[ -s "$dir/ready.json" ] || { echo "gateway did not start:"; cat "$dir/gateway.log"; exit 1; }
tls_port=$(python3 -c "import json; print(json.load(open('$dir/ready.json'))['tls'])")
probe_port=$(python3 -c "import json; print(json.load(open('$dir/ready.json'))['probe'])")

echo "== h2load: grpc.health.v1.Health/Check over h2c on the probe port (4 connections × 64 streams, ${seconds} s)"
printf '\x00\x00\x00\x00\x00' > "$dir/health.bin"
h2load -D "$seconds" -c 4 -m 64 -t 1 -d "$dir/health.bin" -H 'content-type: application/grpc' -H 'te: trailers' \
    "http://127.0.0.1:$probe_port/grpc.health.v1.Health/Check" | grep -E "finished in|requests:|status codes:"

echo "== bankgw bench: the same health Check over mutual TLS (bank 9900's certificate; 4 connections × 64 streams)"
"$bin" bench --state-dir "$dir" --target "127.0.0.1:$tls_port" --bank 9900 --connections 4 --streams 64 \
    --duration "$seconds" --method /grpc.health.v1.Health/Check --message-bytes 0 | grep -E "requests:|latency|statuses"

echo "== bankgw bench-charge: health Check and Charge over mutual TLS (bank 9900), every SPEC §8 rule on"
"$bin" bench-charge --state-dir "$dir" --target "127.0.0.1:$tls_port" --duration "$seconds" \
    --connections 4 --streams 32 --links 12000

echo "== ledger after the load"
kill -TERM "$server_pid"; wait "$server_pid" || true; server_pid=""
"$bin" ledger verify --state-dir "$dir" | tail -n 1

# SPEC §8 cost: the same Charge load on a fresh demo gateway with the §8 rules off (the SPEC §4 chain and the
# alerts that existed before §8), to compare with the run above (every rule on).
echo "== bankgw bench-charge with the SPEC §8 monitoring rules off (--monitoring-rules-off), for comparison"
rm -rf "$dir"; mkdir -p "$dir"
"$bin" serve --demo --state-dir "$dir" --tls-port 0 --probe-port 0 --metrics-port 0 --console-port 0 --monitoring-rules-off \
    --ready-file "$dir/ready.json" > "$dir/gateway.log" 2>&1 &
server_pid=$!
for _ in $(seq 1 300); do [ -s "$dir/ready.json" ] && break; sleep 0.1; done
[ -s "$dir/ready.json" ] || { echo "gateway did not start:"; cat "$dir/gateway.log"; exit 1; }
tls_port=$(python3 -c "import json; print(json.load(open('$dir/ready.json'))['tls'])")
"$bin" bench-charge --state-dir "$dir" --target "127.0.0.1:$tls_port" --duration "$seconds" \
    --connections 4 --streams 32 --links 12000
kill -TERM "$server_pid"; wait "$server_pid" || true; server_pid=""
