#!/usr/bin/env bash
# CI guard: the committed protoc-c output and Swift bindings must be exactly what `make protos` generates from Protos/.
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
scripts/gen-protos.sh "$tmp/c" "$tmp/swift"
status=0
# compare GENERATED COMMITTED [IGNORED...]
compare() {
    local generated=$1 committed=$2; shift 2
    while IFS= read -r f; do
        rel=${f#"$generated"/}
        if ! cmp -s "$f" "$committed/$rel"; then
            echo "check-protos: $committed/$rel is stale or missing" >&2; status=1
        fi
    done < <(find "$generated" -type f)
    while IFS= read -r f; do
        rel=${f#"$committed"/}
        for ignored in "$@"; do [ "$rel" = "$ignored" ] && continue 2; done
        [ -f "$generated/$rel" ] || { echo "check-protos: $committed/$rel is not generated from Protos/" >&2; status=1; }
    done < <(find "$committed" -type f)
}
compare "$tmp/c" Sources/CBankGatewayProtos include/module.modulemap
compare "$tmp/swift" Sources/GatewayWire/Generated
if [ $status -ne 0 ]; then
    echo "check-protos: the committed generated code differs from Protos/: run 'make protos' and commit the result" >&2
    exit 1
fi
echo "check-protos: generated code is up to date"
