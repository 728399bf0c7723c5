# SPDX-License-Identifier: MIT
# Sourced by the bench scripts that start node processes (cluster.sh,
# cluster_cpu.sh, crash.sh): free_port sets $port to a loopback port
# nothing listens on (iproute2's ss), not handed out yet in this run, and
# below the kernel's ephemeral range (32768 and up), where an outgoing
# connection's source port could take it first.
taken=""
free_port() {
    while :; do
        p=$((20000 + $(od -An -N2 -tu2 /dev/urandom) % 12000))
        case " $taken " in *" $p "*) continue ;; esac
        ss -ltn | grep -q ":$p " && continue
        taken="$taken $p"
        port=$p
        return
    done
}
