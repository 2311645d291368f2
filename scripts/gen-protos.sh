#!/usr/bin/env bash
# Regenerates the protoc-c output for Protos/ into Sources/CBankGatewayProtos (headers under include/).
# Usage: gen-protos.sh [OUT_DIR]   (default: the committed target; `make check-protos` passes a temp dir)
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-Sources/CBankGatewayProtos}
protos=(bankgw/v1/bankgw.proto bankgw/admin/v1/admin.proto grpc/health/v1/health.proto)
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
(cd Protos && protoc-c --c_out="$tmp" "${protos[@]}")
for p in "${protos[@]}"; do
    base=${p%.proto}
    mkdir -p "$out/$(dirname "$p")" "$out/include/$(dirname "$p")"
    cp "$tmp/$base.pb-c.c" "$out/$base.pb-c.c"
    cp "$tmp/$base.pb-c.h" "$out/include/$base.pb-c.h"
done
