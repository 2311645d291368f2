#!/usr/bin/env bash
# Measures the gRPC transport alone (GatewayRPC, test.Echo over h2c, release build):
#   1. h2load (nghttp2) against `bankgw bench echo-server` — the figure to compare with other servers;
#   2. `bankgw bench` (our load generator) against the same server.
# Usage: scripts/bench-rpc.sh [SERVER_THREADS] [REQUESTS]   (defaults: 1 thread, 200000 requests)
# The server gets SERVER_THREADS event loops; on a 2-core box 1 leaves a core for the load generator.
set -euo pipefail
cd "$(dirname "$0")/.."
threads=${1:-1}
requests=${2:-200000}
swift build -c release --product bankgw >/dev/null
bin=.build/release/bankgw
out=$(mktemp); body=$(mktemp)
"$bin" bench echo-server --port 0 --threads "$threads" >"$out" 2>/dev/null &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null; rm -f "$out" "$body"' EXIT
for _ in $(seq 50); do grep -q "listening on" "$out" && break; sleep 0.1; done
port=$(sed -n 's/listening on 127.0.0.1://p' "$out")
printf '\x00\x00\x00\x00\x05hello' >"$body"   # one gRPC message: flag 0, length 5, "hello"
echo "== h2load: $requests unary calls, 4 connections x 64 streams, server $threads thread(s)"
h2load -n "$requests" -c 4 -m 64 -d "$body" -H 'content-type: application/grpc' -H 'te: trailers' \
    "http://127.0.0.1:$port/test.Echo/Echo" | grep -E "finished in|requests:|time for request"
echo "== bankgw bench: 4 connections x 64 streams, 5 s"
"$bin" bench --target "127.0.0.1:$port" --plaintext --connections 4 --streams 64 --duration 5 --warmup 1 --threads 1

echo "== bankgw bench over mutual TLS (GatewayTLS + GatewayRPC, development PKI, bank 9900): 4 x 64, 5 s"
pki=$(mktemp -d)
"$bin" pki init "$pki" >/dev/null
tls_out=$(mktemp)
"$bin" bench echo-server --port 0 --threads "$threads" --tls-state-dir "$pki" >"$tls_out" 2>/dev/null &
tls_server=$!
for _ in $(seq 50); do grep -q "listening on" "$tls_out" && break; sleep 0.1; done
tls_port=$(sed -n 's/listening on 127.0.0.1://p' "$tls_out")
"$bin" bench --target "127.0.0.1:$tls_port" --state-dir "$pki" --bank 9900 --connections 4 --streams 64 \
    --duration 5 --warmup 1 --threads 1 || true
kill $tls_server 2>/dev/null; wait $tls_server 2>/dev/null || true
rm -rf "$pki" "$tls_out"
