#!/bin/sh
# SPDX-License-Identifier: MIT
# The market day over HTTP (docs/performance.md, "Market day over HTTP"):
# a node in its own process on a free loopback port, its ledger made by
# `init --scenario`, and `run --node` against it; then the same scenario
# embedded, for comparison. Prints each run's figures; asserts no timing.
# usage: bench/market-day-remote.sh [BUILD_DIR/gridledger] [SCENARIO] [RUNS]
set -eu
bin=${1:-build/gridledger}
scenario=${2:-scenarios/ieee13-der-market.json}
runs=${3:-3}
tmp=$(mktemp -d)
node_pid=
cleanup() {
    [ -n "$node_pid" ] && kill -TERM "$node_pid" 2>/dev/null && wait "$node_pid" || true
    rm -rf "$tmp"
}
trap cleanup EXIT INT TERM
figures() { grep -E 'ledger transactions|bid store|bid retrieval|run time'; }

i=1
while [ "$i" -le "$runs" ]; do
    printf '\n== run %s, load %s\n' "$i" "$(cut -d' ' -f1 /proc/loadavg)"
    "$bin" init "$tmp/N$i" --scenario "$scenario" >/dev/null
    "$bin" node "$tmp/N$i" --listen 127.0.0.1:0 --ready-file "$tmp/url$i" \
        --no-access-log --log-level warn &
    node_pid=$!
    n=0
    while [ ! -s "$tmp/url$i" ] && [ $n -lt 100 ]; do sleep 0.1; n=$((n + 1)); done
    echo "-- over HTTP ($(cat "$tmp/url$i"))"
    "$bin" run "$scenario" --node "$(cat "$tmp/url$i")" --keys "$tmp/N$i" \
        --out "$tmp/remote$i" | figures
    kill -TERM "$node_pid"
    wait "$node_pid" || true
    node_pid=
    echo "-- embedded"
    "$bin" run "$scenario" --out "$tmp/local$i" | figures
    i=$((i + 1))
done
