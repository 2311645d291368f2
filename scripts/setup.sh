#!/usr/bin/env bash
# Installs what BankGateway needs on a fresh Debian (bookworm) machine, idempotently:
# system packages through apt-get (as root, or through sudo), and the Python packages of the
# interop tests into a project-local venv (.venv). Swift itself is expected on PATH.
set -euo pipefail
cd "$(dirname "$0")/.."

# nghttp2-client + nghttp2-server: h2load and nghttpd, the load tool and the static-file reference of `make bench`.
# systemd: `systemd-analyze verify` on deploy/systemd/bankgw.service (Tests/interop/test_deploy.py).
# chromium + fonts-noto-cjk: the console's browser test (Playwright drives Debian's chromium; never
# `playwright install`, which downloads browsers), with Japanese glyphs in its screenshots.
apt_packages=(libprotobuf-c-dev protobuf-c-compiler libssl-dev openssl pkg-config nghttp2-client nghttp2-server libsqlite3-dev python3-venv
    systemd chromium fonts-noto-cjk)

missing=()
for p in "${apt_packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    # python3-venv is only needed when the python3 on PATH has no venv module (a pyenv build has one).
    if python3 -c 'import venv, ensurepip' 2>/dev/null; then
        filtered=(); for p in "${missing[@]}"; do [ "$p" = python3-venv ] || filtered+=("$p"); done
        missing=("${filtered[@]+"${filtered[@]}"}")
    fi
fi
if [ ${#missing[@]} -gt 0 ]; then
    echo "setup: installing ${missing[*]}"
    if [ "$(id -u)" -eq 0 ]; then sudo=(); else sudo=(sudo); fi
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

command -v swift >/dev/null || { echo "setup: swift is not on PATH (Swift 6 toolchain required)" >&2; exit 1; }

# Python packages for the interop tests: third-party gRPC/protobuf/HTTP-2/crypto implementations.
venv=.venv
stamp=$venv/.requirements-installed
if [ ! -f "$stamp" ] || ! cmp -s requirements-test.txt "$stamp"; then
    [ -x "$venv/bin/python" ] || python3 -m venv "$venv"
    "$venv/bin/python" -m pip install -q --disable-pip-version-check -r requirements-test.txt
    cp requirements-test.txt "$stamp"
fi
