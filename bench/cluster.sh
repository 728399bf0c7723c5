#!/bin/sh
# SPDX-License-Identifier: MIT
# The Raft cluster as three node processes on this machine
# (docs/performance.md, "Raft cluster (issue 6)"): three `gridledger node
# --cluster` processes on loopback, each with its own ledger directory and
# Raft log, loaded by `gridledger http-bench` from the same machine.
#   1. throughput: batches of 200 signed creates, to the leader, then
#      spread over the three nodes (followers forward to the leader);
#   2. commit latency at 1,000 transactions per second offered, one
#      envelope per request, to the leader, then spread over the nodes
#      (after a warm-up round at that rate, not reported);
#   3. failover: 1,000/s offered to the two followers, the leader killed
#      with SIGKILL a third of the way in: the time until a survivor logs
#      that it leads, and the longest a transaction waited (http-bench's
#      max latency, counted from when the request was due);
# each round starting once every node has caught up with the one before;
# then the old leader restarts and catches up, `gridledger status` shows
# every node at one height and state hash;
#   4. join: a fourth node, with only the orderer key, joins the running
#      cluster (`gridledger cluster add`): the time from the add until it
#      is at the cluster's height (it restores a snapshot, fetching the
#      blocks it names from its peers, then follows the log);
# then `gridledger verify` passes on every directory, and the sizes of
# the Raft snapshots each node kept are printed. Nothing here asserts a
# timing.
# Usage: sh bench/cluster.sh [GRIDLEDGER] [--quick] [--latency]
# --quick: smaller rounds. --latency: only the warm-up and the latency
# round to the leader, then what each node logged about its snapshots.
# NODE_FLAGS (environment) adds flags to every node, e.g.
# NODE_FLAGS='--snapshot-threshold 512' to put snapshots in every round;
# TRACE=FILE keeps every request of the latency round to the leader
# (http-bench --trace: when it was due, its latency, its code).
set -eu
cd "$(dirname "$0")/.."
bin=${1:-build/gridledger}
[ $# -gt 0 ] && shift
quick=""
only_latency=""
for a in "$@"; do
    case $a in
    --quick) quick=1 ;;
    --latency) only_latency=1 ;;
    *) echo "usage: sh bench/cluster.sh [GRIDLEDGER] [--quick] [--latency]" >&2
       exit 2 ;;
    esac
done
tx=40000
lat=10000
[ -n "$quick" ] && { tx=4000; lat=2000; }
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
for i in 1 2 3 4; do
    free_port
    eval "raft$i=$port"
    free_port
    eval "http$i=$port"
    eval "member$i=$i@127.0.0.1:\$raft$i/127.0.0.1:\$http$i"
done
spec="$member1,$member2,$member3"
url() { eval "echo http://127.0.0.1:\$http$1"; }

start() { # node index [more options]
    n=$1
    shift
    # shellcheck disable=SC2086 # NODE_FLAGS: several words
    "$bin" node "$tmp/n$n" --cluster "$spec" --id "$n" --no-access-log \
        ${NODE_FLAGS:-} "$@" \
        >>"$tmp/n$n.log" 2>&1 &
    eval "pid$n=$!"
    pids="$pids $!"
    until "$bin" status --node "$(url "$n")" >/dev/null 2>&1; do
        kill -0 "$(eval "echo \$pid$n")" 2>/dev/null ||
            { echo "node $n did not start:"; tail -3 "$tmp/n$n.log"; exit 1; }
        sleep 0.05
    done
}

# The leader's index, once one of the nodes says it leads.
leader() {
    while :; do
        for i in 1 2 3; do
            l=$("$bin" status --node "$(url "$i")" 2>/dev/null |
                awk '$2 == "leader" { print $1 }' | head -1)
            [ -n "$l" ] && { echo "$l"; return; }
        done
        sleep 0.05
    done
}

ms() { date +%s%3N; }
# A round's title, with the time it starts (to find which round a
# snapshot, listed at the end with its time, fell in).
round() { echo "== $* [$(date +%T)]"; }

# Wait until every node has applied everything (one height, one state
# hash): each round starts from a cluster that is not still catching up
# on the one before.
settle() { # node index [members]
    m=${2:-3}
    i=0
    until "$bin" status --node "$(url "$1")" >"$tmp/status" 2>&1 &&
        grep -q "$m of $m nodes answered; $m at height" "$tmp/status"; do
        sleep 0.2
        i=$((i + 1))
        [ $i -lt 600 ] || { cat "$tmp/status"; exit 1; }
    done
}

"$bin" init "$tmp/n1" >/dev/null
cp -r "$tmp/n1" "$tmp/n2"
cp -r "$tmp/n1" "$tmp/n3"
for i in 1 2 3; do start "$i"; done
l=$(leader)
f1=$((l % 3 + 1))
f2=$(((l + 1) % 3 + 1))
all="$(url 1),$(url 2),$(url 3)"
echo "cluster: $spec; node $l leads${NODE_FLAGS:+; nodes run with $NODE_FLAGS}"
echo "load: $(uptime)"

echo
# What each node logged about taking its snapshots (when its ledger thread
# had written it, and when libraft had stored it).
snapshots_logged() {
    cat "$tmp"/n*.log | grep '"msg":"node [0-9]*: snapshot of' |
        sed 's/.*"ts":"[^T]*T\([^"]*\)".*"msg":"\([^"]*\)".*/\1 \2/' |
        sort || true
}

if [ -n "$only_latency" ]; then
    "$bin" http-bench "$(url "$l")" --ledger "$tmp/n1" --workload create \
        --tx 3000 --rate 1000 --connections 64 >/dev/null 2>&1
    settle "$l"
    l=$(leader)
    round "latency at 1,000/s offered, one envelope per request, to node $l (the leader)"
    "$bin" http-bench "$(url "$l")" --ledger "$tmp/n1" --workload create \
        --tx "$lat" --rate 1000 --connections 64 ${TRACE:+--trace "$TRACE"}
    settle "$l"
    echo "load: $(uptime)"
    echo "== snapshots"
    snapshots_logged
    exit 0
fi

round "throughput: batches of 200, to the leader"
"$bin" http-bench "$(url "$l")" --ledger "$tmp/n1" --workload create \
    --tx "$tx" --batch 200 --connections 8
echo
settle "$l"
round "throughput: batches of 200, spread over the three nodes"
"$bin" http-bench "$all" --ledger "$tmp/n1" --workload create \
    --tx "$tx" --batch 200 --connections 9
echo
# A warm-up at the same rate, not reported: the first seconds of a fresh
# cluster pay for connections, new Raft segments and LMDB's first pages.
"$bin" http-bench "$all" --ledger "$tmp/n1" --workload create \
    --tx 3000 --rate 1000 --connections 66 >/dev/null 2>&1
settle "$l"
l=$(leader) # the leader may have changed under the load of a round
round "latency at 1,000/s offered, one envelope per request, to the leader"
"$bin" http-bench "$(url "$l")" --ledger "$tmp/n1" --workload create \
    --tx "$lat" --rate 1000 --connections 64 ${TRACE:+--trace "$TRACE"}
echo
settle "$l"
round "latency at 1,000/s offered, spread over the three nodes"
"$bin" http-bench "$all" --ledger "$tmp/n1" --workload create \
    --tx "$lat" --rate 1000 --connections 66
echo "load: $(uptime)"

echo
settle "$l"
l=$(leader)
f1=$((l % 3 + 1))
f2=$(((l + 1) % 3 + 1))
round "failover: 1,000/s to the followers $f1 and $f2; node $l killed (SIGKILL)"
"$bin" http-bench "$(url "$f1"),$(url "$f2")" --ledger "$tmp/n1" \
    --workload create --tx "$lat" --rate 1000 --connections 64 \
    >"$tmp/failover.out" 2>&1 &
hb=$!
sleep $((lat / 3000))
eval "victim=\$pid$l"
t0=$(ms)
kill -KILL "$victim"
wait "$victim" 2>/dev/null || true
wait "$hb" || true
grep -E '^\| (Name|create)|p50' "$tmp/failover.out"
# The survivors' logs say when one of them began to lead (JSON lines with
# a millisecond UTC timestamp).
t1=$(cat "$tmp/n$f1.log" "$tmp/n$f2.log" | grep '"msg":"node [0-9]* leads term' |
    sed 's/.*"ts":"\([^"]*\)".*/\1/' | while read -r ts; do
        date -d "$ts" +%s%3N
    done | awk -v t0="$t0" '$1 > t0' | sort -n | head -1)
if [ -n "$t1" ]; then
    echo "failover: a new leader $((t1 - t0)) ms after the kill; the longest" \
        "wait of a transaction is http-bench's Max Latency above"
else
    echo "failover: no survivor logged that it leads after the kill"
fi
# Every election of the run: more than the first and the failover's means
# a leader changed under load (a stall longer than the election timeout).
echo "elections: $(cat "$tmp"/n*.log | grep -c '"msg":"node [0-9]* leads term')" \
    "(2 expected: the first leader and the failover's)"

echo
round "the old leader restarts and catches up"
start "$l"
settle "$f1"
cat "$tmp/status"

echo
round "join: node 4 (only the orderer key) joins the running cluster"
mkdir -p "$tmp/n4/keys"
cp "$tmp/n1/keys/orderer.key" "$tmp/n4/keys/"
spec="$spec,$member4"
start 4 --join
t0=$(ms)
"$bin" cluster add "$tmp/n1" --node "$(url "$f1")" "$member4"
settle 4 4
t1=$(ms)
echo "join: node 4 at the cluster's height $((t1 - t0)) ms after the add"
grep -o 'restored a snapshot at height [0-9]*' "$tmp/n4.log" | tail -1 || true
cat "$tmp/status"
for p in $pids; do kill -TERM "$p" 2>/dev/null || true; done
for p in $pids; do wait "$p" 2>/dev/null || true; done
pids=""
for i in 1 2 3 4; do
    "$bin" verify "$tmp/n$i" | tail -1
done
echo
echo "== Raft snapshots kept: bytes, and when (libraft names them"
echo "   snapshot-TERM-INDEX-MS, MS on the monotonic clock: since boot)"
boot=$(awk -v now="$(date +%s.%N)" '{ printf "%.3f", now - $1 }' /proc/uptime)
for i in 1 2 3 4; do
    for f in "$tmp/n$i"/raft/snapshot-*; do
        case $f in *.meta | *"*") continue ;; esac
        at=$(basename "$f" | awk -F- -v b="$boot" '{ printf "%.3f", b + $4 / 1000 }')
        echo "node $i: $(basename "$f") $(stat -c %s "$f") bytes, at $(date -d "@$at" +%T)"
    done
done
snapshots_logged
