#!/bin/sh
# SPDX-License-Identifier: MIT
# Crash consistency as a benchmark (issue 15; figures in
# docs/performance.md, "Crash consistency"; what it shows in
# docs/security.md ("Crashes, full disks and proofs")). Every client logs the id of each transaction it
# was told is committed (--acked: one write(2) a line, as the answer
# arrives), and after the kills every acknowledged transaction must be in
# the ledger (`gridledger verify DIR --acked FILE`, which also re-executes
# the whole chain):
#   1. node: a solo `gridledger node` under `gridledger http-bench` load
#      (one envelope per request, or batches of 20, alternately), killed
#      with SIGKILL at a random moment after its first acknowledgement of
#      the run, then restarted on the same directory; RUNS times;
#   2. embedded: `gridledger bench` (the ledger and orderer in the writer's
#      own process) killed with SIGKILL likewise, RUNS times; one run in
#      ten is killed at a random moment from its start instead (opening
#      the store, signing);
#   3. cluster: three `gridledger node --cluster` members under load spread
#      over all three; a random member (the leader or not) is killed with
#      SIGKILL at a random moment and restarted, and the next run waits
#      until the three agree again; CLUSTER_RUNS times;
#   4. disk-full: a node on a 2 MiB tmpfs loaded until the disk is full:
#      /readyz must answer 503 with the reason, the gl_writes_refused gauge
#      must be 1, nothing more is acknowledged; then the tmpfs grows (space
#      freed) and the node takes writes again (at once, or after a
#      restart when the store refused writes for good, EPANIC).
# Then every directory is verified and checked against its client's log,
# the restarted node must be ready, and a summary is printed: runs, kills,
# acknowledged, lost, verify failures. Exit 1 on any loss or failure.
# Usage: sh bench/crash.sh [GRIDLEDGER]
# RUNS=N kills in phases 1 and 2 (default 100: runs go on until that many
# kills, a run whose client finished first has none; at most 2N runs);
# CLUSTER_RUNS=N (default
# 20, 0 skips the phase); DISK=0 skips phase 4, which needs root (mount);
# SEED=N makes the random moments repeatable.
set -eu
cd "$(dirname "$0")/.."
bin=$(realpath "${1:-build/gridledger}")
RUNS=${RUNS:-100}
CLUSTER_RUNS=${CLUSTER_RUNS:-20}
DISK=${DISK:-1}
SEED=${SEED:-$(od -An -N2 -tu2 /dev/urandom | tr -d ' ')}
if [ "$DISK" != 0 ] && [ "$(id -u)" != 0 ]; then
    echo "crash.sh: the disk-full run mounts a tmpfs and needs root;" \
        "DISK=0 skips it" >&2
    exit 2
fi
tmp=$(mktemp -d "${TMPDIR:-/tmp}/gl-crash.XXXXXX")
pids=""
mnt=""
cleanup() {
    for p in $pids; do kill -KILL "$p" 2>/dev/null || true; done
    for p in $pids; do wait "$p" 2>/dev/null || true; done
    [ -n "$mnt" ] && umount "$mnt" 2>/dev/null
    if [ "${KEEP:-}" = 1 ]; then echo "kept $tmp"; else rm -rf "$tmp"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Random numbers from a seeded generator (awk's), so SEED=N repeats a run.
rnd_state=$SEED
rnd() { # N: an integer in [0, N)
    rnd_state=$(awk -v s="$rnd_state" 'BEGIN { print (s * 1103515245 + 12345) % 2147483648 }')
    echo $((rnd_state / 65536 % $1))
}
msleep() { sleep "$(awk -v m="$1" 'BEGIN { printf "%.3f", m / 1000 }')"; }
size() { stat -c %s "$1" 2>/dev/null || echo 0; }
lines() { if [ -f "$1" ]; then wc -l <"$1" | tr -d ' '; else echo 0; fi; }
fail=0
failures=""
note_failure() { # message
    fail=1
    failures="$failures
  $*"
    echo "FAILURE: $*" >&2
}

# Waits until FILE grows past SIZE bytes or process PID ends; at most
# 60 s. Returns 1 when the file did not grow.
wait_growth() { # FILE SIZE PID
    i=0
    while [ "$(size "$1")" -le "$2" ]; do
        kill -0 "$3" 2>/dev/null || return 1
        i=$((i + 1))
        [ $i -lt 6000 ] || return 1
        sleep 0.01
    done
}

# Kills PID with SIGKILL and reaps it: sets $killed to 1 when the signal
# ended it (it had not finished on its own).
kill_now() { # PID
    kill -KILL "$1" 2>/dev/null || true
    st=0
    wait "$1" 2>/dev/null || st=$?
    killed=0
    [ "$st" = 137 ] && killed=1
    pids=$(echo "$pids" | sed "s/ $1\$//; s/ $1 / /")
    return 0
}

# Starts a solo node on DIR (any free port): $npid, $nurl.
start_node() { # DIR LOG
    rm -f "$tmp/ready"
    "$bin" node "$1" --listen 127.0.0.1:0 --no-access-log \
        --ready-file "$tmp/ready" >>"$2" 2>&1 &
    npid=$!
    pids="$pids $npid"
    i=0
    until [ -s "$tmp/ready" ]; do
        if ! kill -0 "$npid" 2>/dev/null || [ $i -ge 3000 ]; then
            return 1
        fi
        i=$((i + 1))
        sleep 0.01
    done
    nurl=$(cat "$tmp/ready")
}

stop_node() { # PID: SIGTERM, SIGKILL after 30 s
    kill -TERM "$1" 2>/dev/null || true
    i=0
    while kill -0 "$1" 2>/dev/null && [ $i -lt 300 ]; do
        sleep 0.1
        i=$((i + 1))
    done
    kill_now "$1"
}

# Verifies DIR and checks the log ACKED against it; a row of the summary.
summary="phase       runs  kills  acknowledged  lost  verify_failures  seconds"
phase_t0=$(date +%s)
t_runs=0 t_kills=0 t_acked=0 t_lost=0 t_vfail=0
check_dir() { # PHASE DIR ACKED RUNS KILLS
    acked=$(lines "$3")
    vfail=0
    lost=0
    if ! "$bin" verify "$2" --acked "$3" >"$tmp/verify.out" 2>&1; then
        lost=$(grep -c "LOST: acknowledged" "$tmp/verify.out" || true)
        [ "$lost" -eq 0 ] && vfail=1
        note_failure "$1: verify $2 failed: $(grep -v 'LOST: ack' \
            "$tmp/verify.out" | tail -2 | tr '\n' ' ')"
    fi
    echo "$1: $(head -1 "$tmp/verify.out")"
    now=$(date +%s)
    summary="$summary
$(printf '%-10s %5s %6s %13s %5s %16s %8s' "$1" "$4" "$5" "$acked" "$lost" \
        "$vfail" $((now - phase_t0)))"
    phase_t0=$now
    t_runs=$((t_runs + $4))
    t_kills=$((t_kills + $5))
    t_acked=$((t_acked + acked))
    t_lost=$((t_lost + lost))
    t_vfail=$((t_vfail + vfail))
}

echo "crash.sh: RUNS=$RUNS CLUSTER_RUNS=$CLUSTER_RUNS DISK=$DISK SEED=$SEED"
echo "load: $(uptime)"
t0=$(date +%s)

# ---- 1. a solo node under HTTP load ---------------------------------------
d=$tmp/node
"$bin" init "$d/L" >/dev/null
kills=0
restart_failed=0
run=0
while [ "$kills" -lt "$RUNS" ] && [ "$run" -lt $((2 * RUNS)) ]; do
    run=$((run + 1))
    if ! start_node "$d/L" "$d/node.log"; then
        note_failure "node: run $run: the node did not restart (see log)"
        tail -3 "$d/node.log" >&2
        restart_failed=1
        break
    fi
    if [ $((run % 2)) = 0 ]; then mode="--batch 20 --connections 8"; else
        mode="--connections 32"; fi
    s0=$(size "$d/acked")
    # shellcheck disable=SC2086 # mode: several words
    "$bin" http-bench "$nurl" --ledger "$d/L" --workload create --tx 6000 \
        $mode --acked "$d/acked" >>"$d/bench.log" 2>&1 &
    bpid=$!
    pids="$pids $bpid"
    wait_growth "$d/acked" "$s0" "$bpid" || true
    msleep "$(rnd 300)"
    kill_now "$npid"
    kills=$((kills + killed))
    st=0
    wait "$bpid" 2>/dev/null || st=$?
    pids=$(echo "$pids" | sed "s/ $bpid\$//; s/ $bpid / /")
    if [ $((run % 10)) = 0 ]; then
        echo "node: $run runs, $kills kills, $(lines "$d/acked") acknowledged"
    fi
done
# The restarted node serves and is ready.
if [ $restart_failed = 0 ]; then
    if start_node "$d/L" "$d/node.log"; then
        curl -sf "$nurl/readyz" >/dev/null ||
            note_failure "node: not ready after the last restart"
        stop_node "$npid"
    else
        note_failure "node: the node did not restart after the last kill"
    fi
fi
check_dir node "$d/L" "$d/acked" "$run" "$kills"

# ---- 2. an embedded writer ------------------------------------------------
d=$tmp/embedded
"$bin" init "$d/L" >/dev/null
kills=0
run=0
while [ "$kills" -lt "$RUNS" ] && [ "$run" -lt $((2 * RUNS)) ]; do
    run=$((run + 1))
    s0=$(size "$d/acked")
    "$bin" bench "$d/L" --workload create --tx 5000 --clients 10 \
        --acked "$d/acked" >>"$d/bench.log" 2>&1 &
    wpid=$!
    pids="$pids $wpid"
    if [ $((run % 10)) = 5 ]; then
        msleep "$(rnd 400)" # opening the store, signing
    else
        wait_growth "$d/acked" "$s0" "$wpid" || true
        msleep "$(rnd 250)"
    fi
    kill_now "$wpid"
    kills=$((kills + killed))
    if [ $((run % 10)) = 0 ]; then
        echo "embedded: $run runs, $kills kills, $(lines "$d/acked") acknowledged"
    fi
done
check_dir embedded "$d/L" "$d/acked" "$run" "$kills"

# ---- 3. a Raft cluster member ---------------------------------------------
. bench/ports.sh # free_port
if [ "$CLUSTER_RUNS" -gt 0 ]; then
    d=$tmp/cluster
    spec=""
    for i in 1 2 3; do
        free_port
        eval "raft$i=$port"
        free_port
        eval "http$i=$port"
        spec="$spec${spec:+,}$i@127.0.0.1:$(eval "echo \$raft$i")/127.0.0.1:$(eval "echo \$http$i")"
    done
    url() { eval "echo http://127.0.0.1:\$http$1"; }
    start_member() { # index
        "$bin" node "$d/n$1" --cluster "$spec" --id "$1" --no-access-log \
            >>"$d/n$1.log" 2>&1 &
        eval "mpid$1=$!"
        pids="$pids $!"
        i=0
        until curl -sf "$(url "$1")/healthz" >/dev/null 2>&1; do
            kill -0 "$(eval "echo \$mpid$1")" 2>/dev/null || return 1
            i=$((i + 1))
            [ $i -lt 600 ] || return 1
            sleep 0.05
        done
    }
    # Until the three answer at one height and state hash (at most 120 s).
    settle() {
        i=0
        until "$bin" status --node "$(url 1)" >"$tmp/status" 2>&1 &&
            grep -q "3 of 3 nodes answered; 3 at height" "$tmp/status"; do
            sleep 0.2
            i=$((i + 1))
            [ $i -lt 600 ] || return 1
        done
    }
    mkdir -p "$d"
    "$bin" init "$d/n1" >/dev/null
    cp -r "$d/n1" "$d/n2"
    cp -r "$d/n1" "$d/n3"
    for i in 1 2 3; do start_member "$i" || note_failure "cluster: member $i did not start"; done
    all="$(url 1),$(url 2),$(url 3)"
    settle || note_failure "cluster: the members did not agree at the start"
    kills=0
    for run in $(seq 1 "$CLUSTER_RUNS"); do
        [ $fail = 0 ] || break
        victim=$(($(rnd 3) + 1))
        s0=$(size "$d/acked")
        "$bin" http-bench "$all" --ledger "$d/n1" --workload create \
            --tx 4000 --connections 24 --acked "$d/acked" >>"$d/bench.log" 2>&1 &
        bpid=$!
        pids="$pids $bpid"
        wait_growth "$d/acked" "$s0" "$bpid" || true
        msleep "$(rnd 1000)"
        kill_now "$(eval "echo \$mpid$victim")"
        kills=$((kills + killed))
        # What it had in flight to the other members may wait for a new
        # leader; http-bench stops at the lost connection.
        wait "$bpid" 2>/dev/null || true
        pids=$(echo "$pids" | sed "s/ $bpid\$//; s/ $bpid / /")
        start_member "$victim" ||
            { note_failure "cluster: run $run: member $victim did not restart"; break; }
        settle || { note_failure "cluster: run $run: the members did not agree again"; cat "$tmp/status" >&2; break; }
        if [ $((run % 5)) = 0 ]; then
        echo "cluster: $run runs, $kills kills, $(lines "$d/acked") acknowledged"
    fi
    done
    for i in 1 2 3; do stop_node "$(eval "echo \$mpid$i")"; done
    for i in 1 2 3; do
        check_dir "cluster/n$i" "$d/n$i" "$d/acked" \
            "$([ "$i" = 1 ] && echo "$CLUSTER_RUNS" || echo 0)" \
            "$([ "$i" = 1 ] && echo "$kills" || echo 0)"
    done
fi

# ---- 4. a full disk -------------------------------------------------------
if [ "$DISK" != 0 ]; then
    d=$tmp/disk
    mnt=$d/mnt
    mkdir -p "$mnt"
    mount -t tmpfs -o size=2m tmpfs "$mnt"
    "$bin" init "$mnt/L" >/dev/null
    start_node "$mnt/L" "$d/node.log" || note_failure "disk: the node did not start"
    # Batches of 50 until the disk is full; the rest fail fast.
    "$bin" http-bench "$nurl" --ledger "$mnt/L" --workload create --tx 40000 \
        --batch 50 --connections 4 --acked "$d/acked" >"$d/bench.out" 2>&1 || true
    full_acked=$(lines "$d/acked")
    echo "disk: full after $full_acked acknowledged; $(df -k "$mnt" | tail -1 | awk '{ print $4 " KiB free of " $2 }')"
    ready=$(curl -s -w ' %{http_code}' "$nurl/readyz" | tr -d '\n')
    echo "disk: /readyz: $ready"
    case $ready in
    *'"refusing_writes"'*full*' 503') ;;
    *) note_failure "disk: /readyz does not say the node refuses writes: $ready" ;;
    esac
    code=$(echo "$ready" | sed -n 's/.*"error":"\([A-Z]*\)".*/\1/p')
    gauge=$(curl -s "$nurl/metrics" | grep '^gl_writes_refused')
    echo "disk: $gauge"
    [ "$gauge" = "gl_writes_refused{reason=\"$code\"} 1" ] ||
        note_failure "disk: the gauge does not say the node refuses writes"
    "$bin" http-bench "$nurl" --ledger "$mnt/L" --workload create --tx 100 \
        --connections 2 --acked "$d/acked" >/dev/null 2>&1 || true
    [ "$(lines "$d/acked")" = "$full_acked" ] ||
        note_failure "disk: a write was acknowledged on a full disk"
    # Space freed: the tmpfs grows. A store that only ran out of room
    # takes writes at once; one that refused writes for good (EPANIC)
    # takes them after a restart.
    mount -o remount,size=16m "$mnt"
    if [ "$code" = EPANIC ]; then
        stop_node "$npid"
        start_node "$mnt/L" "$d/node.log" || note_failure "disk: the node did not restart"
        how="after a restart"
    else
        how="without a restart"
    fi
    before=$(lines "$d/acked")
    "$bin" http-bench "$nurl" --ledger "$mnt/L" --workload create --tx 500 \
        --batch 50 --connections 2 --acked "$d/acked" >/dev/null 2>&1 ||
        note_failure "disk: writes did not resume $how"
    curl -sf "$nurl/readyz" >/dev/null || note_failure "disk: not ready $how"
    echo "disk: resumed $how: $(($(lines "$d/acked") - before)) of 500 acknowledged"
    stop_node "$npid"
    check_dir disk-full "$mnt/L" "$d/acked" 1 0
    umount "$mnt"
    mnt=""
fi

echo
echo "$summary"
printf '%-10s %5s %6s %13s %5s %16s %8s\n' total "$t_runs" "$t_kills" \
    "$t_acked" "$t_lost" "$t_vfail" $(($(date +%s) - t0))
echo "load: $(uptime)"
if [ $fail != 0 ]; then
    echo "crash.sh: FAILED:$failures" >&2
    exit 1
fi
echo "crash.sh: no acknowledged transaction lost, every ledger verified"
