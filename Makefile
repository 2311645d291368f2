# BankGateway. `make run` and `make test` do everything on a fresh Debian machine (see README.md).
SHELL := /bin/bash
.SHELLFLAGS := -eo pipefail -c
SWIFT ?= swift
STATE_DIR ?= .bankgw-demo
VENV := .venv
PY := $(VENV)/bin/python
BIN := .build/debug/bankgw
FUZZ_SECONDS ?= 300
FUZZ_BUILD := .build-fuzz

.PHONY: all setup build build-release run test test-swift test-interop test-fuzz protos check-protos fuzz bench clean

all: build

## Install what is missing (apt packages, the Python venv of the interop tests).
setup:
	@scripts/setup.sh

build: setup
	$(SWIFT) build

build-release: setup
	$(SWIFT) build -c release

## Start the gateway with the SPEC §6 demo state.
run: build
	$(BIN) serve --demo --state-dir $(STATE_DIR)

## Regenerate the committed protoc-c output and Swift bindings from Protos/.
protos:
	scripts/gen-protos.sh

## Fail when the committed protoc-c output differs from a fresh generation.
check-protos: setup
	@scripts/check-protos.sh

## Everything: generated-code check, Swift tests, interop tests against third-party clients, 30 s of fuzzing.
test: setup check-protos build test-swift test-interop test-fuzz
	@echo "make test: all suites passed"

test-swift:
	$(SWIFT) test

test-interop:
	BANKGW_BIN=$(abspath $(BIN)) $(PY) -m pytest -q Tests/interop

## 30 s of libFuzzer over the request decoder (the seed corpus also replays in the plain build).
test-fuzz:
	@$(MAKE) --no-print-directory fuzz FUZZ_SECONDS=30

fuzz: setup
	$(SWIFT) build --product WireFuzz --scratch-path $(FUZZ_BUILD) -Xswiftc -sanitize=fuzzer,address -Xswiftc -DFUZZING
	@mkdir -p $(FUZZ_BUILD)/corpus/wire fuzz-artifacts
	$(FUZZ_BUILD)/debug/WireFuzz $(FUZZ_BUILD)/corpus/wire Tests/Fuzz/corpus/wire \
		-max_total_time=$(FUZZ_SECONDS) -rss_limit_mb=2048 -max_len=70000 -artifact_prefix=fuzz-artifacts/ \
		-print_final_stats=1 2>&1 | tail -n 12

## Printed figures (medians, ratios); never asserted. BENCH_SECONDS sets the length of each timed phase.
bench: setup
	$(SWIFT) build -c release --product WireBench
	$(SWIFT) build -c release --product bankgw
	@echo "=== codec (GatewayWire)"; .build/release/WireBench
	@echo "=== TLS (GatewayTLS)"; scripts/bench-tls.sh
	@echo "=== gRPC transport (GatewayRPC: h2load and bankgw bench against test.Echo)"; scripts/bench-rpc.sh
	@echo "=== wallet core (WalletCore)"; scripts/bench-wallet.sh --seconds $${BENCH_SECONDS:-3}
	@echo "=== gateway (health over h2c and mTLS, Charge)"; scripts/bench-gateway.sh

clean:
	rm -rf .build $(FUZZ_BUILD) $(STATE_DIR) fuzz-artifacts
