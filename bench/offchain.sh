#!/bin/sh
# SPDX-License-Identifier: MIT
# The off-chain store benchmark of docs/performance.md ("Off-chain store
# (issue 5)"): offchain-bench against SQLite in a temp dir and against a
# throwaway PostgreSQL server (tests/lib/pg-server.sh start --durable: the
# server's default durability, fsync on), one thread, then 8 threads on a
# pool of 1 and of 4 connections. Usage: sh bench/offchain.sh [BUILD_DIR]
set -eu
cd "$(dirname "$0")/.."
bench=${1:-build}/offchain-bench
n=${OFFCHAIN_RECORDS:-20000}
tmp=$(mktemp -d)
pgdir=
cleanup() {
    [ -n "$pgdir" ] && sh tests/lib/pg-server.sh stop "$pgdir"
    rm -rf "$tmp"
}
trap cleanup EXIT INT TERM
out=$(sh tests/lib/pg-server.sh start --durable $$)
pgdir=$(echo "$out" | sed -n 1p)
uri=$(echo "$out" | sed -n 3p)

echo "load: $(uptime)"
"$bench" "sqlite:$tmp/a.sqlite" --records "$n"
"$bench" "$uri" --records "$n"
"$bench" "sqlite:$tmp/b.sqlite" --records "$n" --threads 8
"$bench" "$uri" --records "$n" --threads 8 --conns 1
"$bench" "$uri" --records "$n" --threads 8 --conns 4
"$bench" "$uri" --records "$n" --threads 8 --conns 8
