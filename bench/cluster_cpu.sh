#!/bin/sh
# SPDX-License-Identifier: MIT
# CPU time the three node processes of a cluster spend on one workload
# (docs/performance.md, "The authenticating transport"): on a shared,
# loaded machine, wall-clock rounds swing with the other load, CPU
# seconds per transaction much less. Three `gridledger node --cluster`
# processes on loopback; batches of 200 signed creates spread over the
# nodes (followers forward to the leader, the leader replicates to both);
# once every node is at one height, each node's user+system time from
# /proc/PID/stat, before and after the round.
# Usage: sh bench/cluster_cpu.sh [GRIDLEDGER] [TX]
set -eu
cd "$(dirname "$0")/.."
bin=${1:-build/gridledger}
tx=${2:-40000}
tmp=$(mktemp -d)
pids=""
cleanup() {
    for p in $pids; do kill -TERM "$p" 2>/dev/null || true; done
    for p in $pids; do wait "$p" 2>/dev/null || true; done
    rm -rf "$tmp"
}
trap cleanup EXIT INT TERM
. bench/ports.sh # free_port
spec=""
for i in 1 2 3; do
    free_port
    eval "raft$i=$port"
    free_port
    eval "http$i=$port"
    spec="$spec${spec:+,}$i@127.0.0.1:$(eval "echo \$raft$i")/127.0.0.1:$port"
done
url() { eval "echo http://127.0.0.1:\$http$1"; }
"$bin" init "$tmp/n1" >/dev/null
cp -r "$tmp/n1" "$tmp/n2"
cp -r "$tmp/n1" "$tmp/n3"
for i in 1 2 3; do
    "$bin" node "$tmp/n$i" --cluster "$spec" --id "$i" --no-access-log \
        >>"$tmp/n$i.log" 2>&1 &
    eval "pid$i=$!"
    pids="$pids $!"
done
for i in 1 2 3; do
    until "$bin" status --node "$(url "$i")" >/dev/null 2>&1; do sleep 0.05; done
done
until "$bin" status --node "$(url 1)" 2>/dev/null | grep -q leader; do
    sleep 0.05
done
cpu() { # pid: user+system clock ticks
    awk '{ print $14 + $15 }' "/proc/$1/stat"
}
for i in 1 2 3; do eval "c0_$i=$(cpu "$(eval "echo \$pid$i")")"; done
"$bin" http-bench "$(url 1),$(url 2),$(url 3)" --ledger "$tmp/n1" \
    --workload create --tx "$tx" --batch 200 --connections 9 |
    grep -E '^\| create|p99'
until "$bin" status --node "$(url 1)" 2>&1 |
    grep -q "3 of 3 nodes answered; 3 at height"; do
    sleep 0.2
done
hz=$(getconf CLK_TCK)
total=0
for i in 1 2 3; do
    c1=$(cpu "$(eval "echo \$pid$i")")
    d=$((c1 - $(eval "echo \$c0_$i")))
    total=$((total + d))
    role=$("$bin" status --node "$(url "$i")" |
        awk -v i="$i" '$1 == i && $3 ~ /:/ { print $2 }')
    echo "node $i ($role): $(echo "$d $hz" | awk '{ printf "%.2f", $1 / $2 }') s CPU"
done
echo "$total $hz $tx" | awk '{ printf "all nodes: %.2f s CPU, %.1f us per transaction\n", $1 / $2, $1 / $2 / $3 * 1e6 }'
echo "load: $(uptime)"
