#!/usr/bin/env bash
# Wallet core benchmark (issue 5): durable approved charges/s with group commit and with one commit per charge,
# side by side, at 1, 16 and 256 concurrent callers. For `make bench`.
#   scripts/bench-wallet.sh [extra `bankgw ledger bench` options, e.g. --seconds 5]
# Databases go under .bankgw-bench/ in the repository (a real disk: fsync is what group commit amortises) and are
# removed afterwards.
set -euo pipefail
cd "$(dirname "$0")/.."
SWIFT=${SWIFT:-swift}
$SWIFT build -c release --product bankgw >/dev/null
exec .build/release/bankgw ledger bench --state-dir .bankgw-bench "$@"
