#!/bin/sh
# SPDX-License-Identifier: MIT
# `make bench`: the benchmark programs whose figures docs/performance.md
# reports, each with the command that docs/performance.md names. Figures
# vary with the machine's load; nothing here asserts a timing.
set -eu
bin=${1:-build/gridledger}
dir=$(dirname "$bin")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM

step() { printf '\n== %s\n' "$*"; }

step "ledger: durable signed creates (Caliper round)"
"$bin" init "$tmp/L" >/dev/null
"$bin" bench "$tmp/L" --workload create --tx 20000
step "ledger: commit latency at 1,000 TPS offered"
"$bin" bench "$tmp/L" --workload create --tx 5000 --rate 1000
step "ledger: in-process reads"
"$bin" bench "$tmp/L" --workload read --tx 500000

step "power flow: load, re-solve, daily series"
"$dir/pf-bench" feeders 5000

step "market day: scenarios/ieee13-der-market.json"
"$bin" run scenarios/ieee13-der-market.json --out "$tmp/md" |
    grep -E 'bid store|bid retrieval|power flows|run time'

# The node over HTTP (docs/performance.md, "Gateway (issue 5)"): a node on
# a free loopback port, loaded by http-bench from this machine.
step "gateway: node on loopback"
"$bin" init "$tmp/G" >/dev/null
"$bin" node "$tmp/G" --listen 127.0.0.1:0 --ready-file "$tmp/G.url" \
    --no-access-log --log-level warn &
node_pid=$!
i=0
while [ ! -s "$tmp/G.url" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
url=$(cat "$tmp/G.url")
step "gateway: signed creates, one envelope per request"
"$bin" http-bench "$url" --ledger "$tmp/G" --workload create --tx 50000 --connections 256
step "gateway: signed creates, batches of 100 envelopes"
"$bin" http-bench "$url" --ledger "$tmp/G" --workload create --tx 100000 --batch 100 --connections 16
step "gateway: reads"
"$bin" http-bench "$url" --ledger "$tmp/G" --workload read --tx 300000 --connections 64
step "gateway: read latency at 1,000 requests per second"
"$bin" http-bench "$url" --ledger "$tmp/G" --workload read --tx 20000 --rate 1000 --connections 16
kill -TERM "$node_pid"
wait "$node_pid"
step "market day over HTTP: run --node against a node on loopback (issue 5)"
sh bench/market-day-remote.sh "$bin" scenarios/ieee13-der-market.json 1
step "off-chain store: SQLite and PostgreSQL (issue 5)"
sh bench/offchain.sh "$dir"

step "PETra: clearing time and accepted trades per second (docs/performance.md)"
"$dir/petra-bench" --trades 20000 --latency 2000
step "PETra: the microgrid case study, scenarios/petra-microgrid.json"
"$bin" run scenarios/petra-microgrid.json --out "$tmp/petra" |
    grep -E 'clearing time|trading|run time' -A1

step "raft cluster: three nodes in one process (throughput, latency, failover)"
"$dir/raft-bench" --tx 20000
"$dir/raft-bench" --tx 5000 --rate 1000
"$dir/raft-bench" --tx 6000 --rate 1000 --failover

step "dashboard: the page following a node (headless Chromium; docs/performance.md)"
node bench/dashboard-bench.mjs "$bin" --tx 50

# The cluster as three node processes (docs/performance.md, "Raft cluster
# (issue 6)"): throughput, latency at 1,000/s, failover after kill -9.
step "raft cluster: three gridledger node processes on loopback"
sh bench/cluster.sh "$bin"
