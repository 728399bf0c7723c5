#!/bin/sh
# SPDX-License-Identifier: MIT
# Installs the Debian packages gridledger needs to build and test, if any are
# missing. Called by every Makefile target, so a fresh Debian 12 machine needs
# no earlier step. Quiet and fast when everything is already there.
set -eu

PKGS="build-essential cmake ninja-build pkg-config libsodium-dev liblmdb-dev \
libsqlite3-dev libsuitesparse-dev libjansson-dev libcmocka-dev chromium \
libraft-dev libuv1-dev"

# libzmq: the agents' off-chain messages (PETra's withdrawals, docs/petra.md).
PKGS="$PKGS libzmq3-dev"
# The node's HTTP gateway (issue 5): libmicrohttpd, libcurl for its tests and
# benchmark, Prometheus and wrk for the tests that scrape and load it,
# openssl to make the TLS test's certificate.
PKGS="$PKGS libmicrohttpd-dev libcurl4-openssl-dev prometheus wrk openssl"

# Node.js and npm build the web pages (web/, docs/report.md); chromium above
# runs their browser tests. NodeSource's nodejs package bundles npm and
# conflicts with Debian's, so look for the commands, not the packages.
command -v node >/dev/null 2>&1 || PKGS="$PKGS nodejs"
command -v npm >/dev/null 2>&1 || PKGS="$PKGS npm"

# The off-chain store's PostgreSQL backend: libpq to build, and the server
# its tests start on loopback (tests/lib/pg-server.sh).
PKGS="$PKGS libpq-dev postgresql"

# OpenSSL's libcrypto: SHA-256 on the CPU's SHA extensions (src/crypto).
PKGS="$PKGS libssl-dev"

# Debian 12's clang 14 and its tools (issue 15): the clang -Werror build,
# clang-tidy, clang-format (scripts/check-style.sh), and the sanitizer and
# libFuzzer runtimes of the fuzz and TSan builds (libclang-rt-14-dev).
PKGS="$PKGS clang clang-tidy clang-format libclang-rt-14-dev"

# Extra packages a caller may ask for (e.g. the test suite's servers).
[ $# -gt 0 ] && PKGS="$PKGS $*"

missing=""
for p in $PKGS; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed"; then
        missing="$missing $p"
    fi
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
    echo "gridledger: missing Debian packages:$missing" >&2
    echo "gridledger: run as root, or: sudo apt-get install$missing" >&2
    exit 1
fi
echo "gridledger: installing$missing" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
