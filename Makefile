# BankGateway. `make run` and `make test` do everything on a fresh Debian machine (see README.md).
SHELL := /bin/bash
.SHELLFLAGS := -eo pipefail -c
SWIFT ?= swift
STATE_DIR ?= .bankgw-demo
VENV := .venv
PY := $(VENV)/bin/python
BIN := .build/debug/bankgw
FUZZ_RUNS ?= 10000000
export FUZZ_RUNS FUZZ_SECONDS
FUZZ_BUILD := .build-fuzz

FORMAT_FILES = find Sources Tests Package.swift -name '*.swift' -not -path '*/Generated/*'

.PHONY: format lint-format all setup build build-release run test test-swift test-interop test-fuzz protos check-protos fuzz bench clean

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

## Format every hand-written Swift file with the root .swift-format (generated bindings are the generator's).
format:
	$(FORMAT_FILES) | xargs $(SWIFT) format format -i --configuration .swift-format

## Report hand-written Swift files that `make format` would change.
lint-format:
	$(FORMAT_FILES) | xargs $(SWIFT) format lint --configuration .swift-format

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

## A short libFuzzer run (30 s over all targets); the seed corpora also replay in the plain build.
test-fuzz:
	@$(MAKE) --no-print-directory fuzz FUZZ_SECONDS=30

## libFuzzer over every parser of outside bytes: the request decoder (WireFuzz), gRPC request headers and
## deframer (RPCFuzz), the configuration file (ConfigFuzz), the JSON of `wire encode` (WireJSONFuzz).
## FUZZ_RUNS executions in total (10M), or FUZZ_SECONDS in total when set; crashes land in fuzz-artifacts/.
fuzz: setup
	FUZZ_BUILD=$(FUZZ_BUILD) scripts/fuzz.sh

## Printed figures (medians, ratios); never asserted. The codec, TLS-handler and transport-alone (test.Echo) figures,
## then issue 14's table (scripts/bench/issue14.py): medians of BENCH_RUNS alternating runs (5) of BENCH_SECONDS-long
## phases (5), server CPU per call from /proc/PID/stat, nghttpd and a grpc-swift-2 server measured in the same runs.
##   make bench BASELINE_BIN=/work/bench-baseline/bankgw      # baseline vs this tree, side by side
##   make bench BANKGW_BIN=/path/to/bankgw BENCH_RUNS=7       # another gateway binary under test
## BENCH_IDLE_CONNS (10000), BENCH_IDLE_RUNS (1), BENCH_LINKS (12000), BENCH_ONLY (h2c,mtls,charge,wallet,idle).
BANKGW_BIN ?= $(abspath .build/release/bankgw)
BENCH_LOAD_BIN ?= $(abspath .build/release/bankgw)
bench: setup
	$(SWIFT) build -c release --product WireBench
	$(SWIFT) build -c release --product bankgw
	SWIFT=$(SWIFT) scripts/bench/build-reference.sh >/dev/null
	@echo "=== codec (GatewayWire)"; .build/release/WireBench
	@echo "=== TLS (GatewayTLS)"; scripts/bench-tls.sh
	@echo "=== gRPC transport alone (GatewayRPC: h2load and bankgw bench against test.Echo)"; scripts/bench-rpc.sh
	@echo "=== issue 14 (gateway over h2c and mTLS, Charge, wallet core, idle connections; references)"
	BANKGW_BIN=$(BANKGW_BIN) BASELINE_BIN=$(BASELINE_BIN) BENCH_LOAD_BIN=$(BENCH_LOAD_BIN) \
		BENCH_RUNS=$${BENCH_RUNS:-5} BENCH_SECONDS=$${BENCH_SECONDS:-5} python3 scripts/bench/issue14.py

clean:
	rm -rf .build $(FUZZ_BUILD) $(STATE_DIR) fuzz-artifacts
