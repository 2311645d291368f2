#!/usr/bin/env bash
# libFuzzer over every parser of outside bytes (issue 16 item 12). Each target starts from its committed seed
# corpus (Tests/Fuzz/corpus/NAME) and keeps what it finds in .build-fuzz/corpus/NAME; crashes land in
# fuzz-artifacts/.
#   FUZZ_RUNS=N      executions in total, split evenly over the targets (`make fuzz`: 10,000,000)
#   FUZZ_SECONDS=S   instead: seconds in total, split evenly (`make test`'s short run)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${FUZZ_BUILD:-.build-fuzz}
# name:corpus:max_len
targets=(WireFuzz:wire:70000 RPCFuzz:rpc:70200 ConfigFuzz:config:8192 WireJSONFuzz:wirejson:8192)
for t in "${targets[@]}"; do
    swift build --product "${t%%:*}" --scratch-path "$build" -Xswiftc -sanitize=fuzzer,address -Xswiftc -DFUZZING
done
mkdir -p fuzz-artifacts
if [ -n "${FUZZ_SECONDS:-}" ]; then
    budget=(-max_total_time=$(( (FUZZ_SECONDS + ${#targets[@]} - 1) / ${#targets[@]} )))
else
    budget=(-runs=$(( ${FUZZ_RUNS:-10000000} / ${#targets[@]} )))
fi
for t in "${targets[@]}"; do
    IFS=: read -r name corpus max_len <<< "$t"
    mkdir -p "$build/corpus/$corpus"
    echo "=== $name (${budget[*]})"
    "$build/debug/$name" "$build/corpus/$corpus" "Tests/Fuzz/corpus/$corpus" "${budget[@]}" -rss_limit_mb=2048 \
        -max_len="$max_len" -artifact_prefix="fuzz-artifacts/$name-" -print_final_stats=1 2>&1 | tail -n 12
done
