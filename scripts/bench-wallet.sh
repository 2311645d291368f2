#!/usr/bin/env bash
# Wallet core benchmark (issues 5, 14): durable approved charges/s in-process at 256 concurrent callers, with a
# stand-in receipt and with real ECDSA receipts, one line per figure (`wallet NAME signer=S callers=N: VALUE`):
# charges/s, cpu_us_per_charge (process CPU ÷ approved charges), mean_batch, apply/commit µs per charge. For
# `make bench`.
#   scripts/bench-wallet.sh [extra `bankgw ledger bench` options, e.g. --seconds 5 --signer ecdsa]
# Databases go under .bankgw-bench/ in the repository (a real disk: fsync is what group commit amortises) and are
# removed afterwards.
set -euo pipefail
cd "$(dirname "$0")/.."
SWIFT=${SWIFT:-swift}
$SWIFT build -c release --product bankgw >/dev/null
exec .build/release/bankgw ledger bench --state-dir .bankgw-bench "$@"
