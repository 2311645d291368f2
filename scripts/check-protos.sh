#!/usr/bin/env bash
# CI guard: the committed protoc-c output must be exactly what `make protos` generates from Protos/.
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
scripts/gen-protos.sh "$tmp"
status=0
while IFS= read -r f; do
    rel=${f#"$tmp"/}
    if ! cmp -s "$f" "Sources/CBankGatewayProtos/$rel"; then
        echo "check-protos: Sources/CBankGatewayProtos/$rel is stale or missing" >&2; status=1
    fi
done < <(find "$tmp" -type f)
while IFS= read -r f; do
    rel=${f#Sources/CBankGatewayProtos/}
    [ "$rel" = include/module.modulemap ] && continue
    [ -f "$tmp/$rel" ] || { echo "check-protos: Sources/CBankGatewayProtos/$rel is not generated from Protos/" >&2; status=1; }
done < <(find Sources/CBankGatewayProtos -type f)
if [ $status -ne 0 ]; then
    echo "check-protos: the committed protoc-c output differs from Protos/: run 'make protos' and commit the result" >&2
    exit 1
fi
echo "check-protos: generated code is up to date"
