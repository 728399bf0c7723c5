#!/bin/sh
# SPDX-License-Identifier: MIT
# `make bench-peers`: PETra on gridledger against the same contract in
# Solidity on a local Ethereum node (bench/peers: solc, Hardhat and ethers
# from the npm registry, installed by `npm ci` from bench/peers's lockfile),
# in one run; docs/performance.md, "PETra against Ethereum".
# usage: scripts/bench-peers.sh [BUILD_DIR] [--trades N] [--latency M] [--json F]
set -eu
cd "$(dirname "$0")/.."
build=build
if [ $# -gt 0 ] && [ "${1#-}" = "$1" ]; then
    build=$1
    shift
fi
for bin in gridledger petra-bench; do
    if [ ! -x "$build/$bin" ]; then
        echo "bench-peers: $build/$bin is missing: run 'make build' first" >&2
        exit 1
    fi
done
(cd bench/peers && npm ci --prefer-offline --no-audit --no-fund --loglevel=error)
exec node bench/peers/run.mjs --build "$build" "$@"
