# BankGateway. `make run` and `make test` do everything on a fresh Debian machine (see README.md).
SHELL := /bin/bash
SWIFT ?= swift
STATE_DIR ?= .bankgw-demo
VENV := .venv
PY := $(VENV)/bin/python
BIN := .build/debug/bankgw

.PHONY: all setup build build-release run test test-swift test-interop protos check-protos fuzz bench clean

all: build

setup:
	@scripts/setup.sh

build: setup
	$(SWIFT) build

build-release: setup
	$(SWIFT) build -c release

run: build
	$(BIN) serve --demo --state-dir $(STATE_DIR)

## Regenerate the committed protoc-c output from Protos/.
protos:
	scripts/gen-protos.sh

## Fail when the committed protoc-c output differs from a fresh generation.
check-protos: setup
	@scripts/check-protos.sh

test: setup check-protos build test-swift test-interop
	@echo "make test: all suites passed"

test-swift:
	$(SWIFT) test

test-interop:
	@if ls Tests/interop/test_*.py >/dev/null 2>&1; then \
		BANKGW_BIN=$(abspath $(BIN)) $(PY) -m pytest -q Tests/interop; \
	else echo "test-interop: no interop tests yet"; fi

clean:
	rm -rf .build $(STATE_DIR)
