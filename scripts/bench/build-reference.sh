#!/usr/bin/env bash
# Builds the grpc-swift-2 reference server (Benchmarks/GRPCSwiftReference, a package of its own) in release mode
# into Benchmarks/GRPCSwiftReference/.build-reference/ (git-ignored) and prints the binary's path.
set -euo pipefail
cd "$(dirname "$0")/../../Benchmarks/GRPCSwiftReference"
${SWIFT:-swift} build -c release --scratch-path .build-reference --product grpc-swift-reference >&2
echo "$PWD/.build-reference/release/grpc-swift-reference"
