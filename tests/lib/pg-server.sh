#!/bin/sh
# SPDX-License-Identifier: MIT
# A throwaway PostgreSQL server for the tests and the off-chain benchmark:
# initdb into a fresh temp dir, postgres on 127.0.0.1 on a free port (and a
# unix socket in the temp dir), a login role and a database for gridledger.
#
#   pg-server.sh start [--durable] [OWNER_PID]
#                                   print DIR, PORT and the URI, one a line
#   pg-server.sh stop DIR           stop the server and remove DIR
#   pg-server.sh halt DIR           stop the server, keep its data
#   pg-server.sh resume DIR         start it again on the same port
#   pg-server.sh createdb DIR NAME  a new database owned by the role; its URI
#   pg-server.sh sql DIR DB SQL     run SQL as the superuser (psql output)
#
# Test servers run with fsync=off (the tests check behaviour, not what
# survives a power cut, and the machine is shared); --durable keeps the
# server's defaults, for benchmarks. With OWNER_PID, a watchdog stops the server and removes DIR once that
# process is gone, so a crashed or killed test leaves nothing running.
# initdb and postgres refuse to run as root: as root they run as the
# `postgres` user of Debian's package (or `nobody`), which owns DIR.
set -eu

PGBIN=${PGBIN:-}
if [ -z "$PGBIN" ]; then
    for d in /usr/lib/postgresql/*/bin; do
        [ -x "$d/initdb" ] && PGBIN=$d
    done
fi
if [ -z "$PGBIN" ] || [ ! -x "$PGBIN/initdb" ]; then
    echo "pg-server.sh: no PostgreSQL server binaries (Debian package" \
        "postgresql; scripts/deps.sh installs it)" >&2
    exit 1
fi

ROLE=gridledger
DBNAME=gridledger

if [ "$(id -u)" -eq 0 ]; then
    RUNAS=postgres
    id -u "$RUNAS" >/dev/null 2>&1 || RUNAS=nobody
else
    RUNAS=
fi

# Run a server binary as the unprivileged user (as is when not root).
as_pg() {
    if [ -n "$RUNAS" ]; then
        runuser -u "$RUNAS" -- "$@"
    else
        "$@"
    fi
}

psql_super() { # DIR DB SQL...
    d=$1 db=$2
    shift 2
    "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$d" -p "$(cat "$d/port")" \
        -U postgres -d "$db" "$@"
}

random_port() {
    # 20000..59999; /bin/sh has no $RANDOM.
    n=$(od -An -N2 -tu2 /dev/urandom | tr -d ' ')
    echo $((20000 + n % 40000))
}

server_up() { # DIR PORT
    as_pg "$PGBIN/pg_ctl" -D "$1/data" -l "$1/server.log" -w -t 60 \
        -o "-c listen_addresses=127.0.0.1 -c port=$2 \
-c unix_socket_directories=$1 -c max_connections=200 \
-c fsync=$(cat "$1/fsync")" start >/dev/null
}

start() {
    fsync=off
    if [ "${1:-}" = --durable ]; then
        fsync=on
        shift
    fi
    owner=${1:-}
    # /tmp when root: the unprivileged user must reach the directory.
    if [ -n "$RUNAS" ]; then base=/tmp; else base=${TMPDIR:-/tmp}; fi
    dir=$(mktemp -d "$base/gl-pg-XXXXXX")
    pw=$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')
    printf '%s\n' "$pw" >"$dir/password"
    printf 'postgres\n' >"$dir/superpw"
    echo "$fsync" >"$dir/fsync"
    [ -n "$RUNAS" ] && chown -R "$RUNAS" "$dir"
    # Trust on the socket in DIR (only DIR's owner and root reach it),
    # passwords (SCRAM) over TCP, as a deployed server would have.
    if ! as_pg "$PGBIN/initdb" -D "$dir/data" -U postgres --locale=C \
        -E UTF8 --auth-local=trust --auth-host=scram-sha-256 \
        --pwfile="$dir/superpw" >"$dir/initdb.log" 2>&1; then
        cat "$dir/initdb.log" >&2
        rm -rf "$dir"
        exit 1
    fi
    # A free port: try random ones until the server binds (no race between
    # probing a port and using it).
    tries=0
    while :; do
        port=$(random_port)
        if server_up "$dir" "$port" 2>/dev/null; then
            break
        fi
        tries=$((tries + 1))
        if [ $tries -ge 20 ]; then
            echo "pg-server.sh: postgres did not start:" >&2
            cat "$dir/server.log" >&2
            rm -rf "$dir"
            exit 1
        fi
    done
    echo "$port" >"$dir/port"
    psql_super "$dir" postgres \
        -c "CREATE ROLE $ROLE LOGIN PASSWORD '$pw'" \
        -c "CREATE DATABASE $DBNAME OWNER $ROLE" >/dev/null
    if [ -n "$owner" ]; then
        (
            while kill -0 "$owner" 2>/dev/null && [ -d "$dir/data" ]; do
                sleep 1
            done
            if [ -d "$dir/data" ]; then
                as_pg "$PGBIN/pg_ctl" -D "$dir/data" -m immediate stop
                rm -rf "$dir"
            fi
        ) </dev/null >/dev/null 2>&1 &
    fi
    echo "$dir"
    echo "$port"
    echo "postgresql://$ROLE:$pw@127.0.0.1:$port/$DBNAME"
}

check_dir() {
    if [ ! -f "${1:-}/port" ] || [ ! -d "$1/data" ]; then
        echo "pg-server.sh: '${1:-}' is not a server directory" >&2
        exit 2
    fi
}

cmd=${1:-}
[ $# -gt 0 ] && shift
case $cmd in
start)
    start "$@"
    ;;
stop)
    check_dir "${1:-}"
    as_pg "$PGBIN/pg_ctl" -D "$1/data" -m fast -w stop >/dev/null 2>&1 || :
    rm -rf "$1"
    ;;
halt)
    check_dir "${1:-}"
    as_pg "$PGBIN/pg_ctl" -D "$1/data" -m fast -w stop >/dev/null
    ;;
resume)
    check_dir "${1:-}"
    server_up "$1" "$(cat "$1/port")"
    ;;
createdb)
    check_dir "${1:-}"
    psql_super "$1" postgres -c "CREATE DATABASE $2 OWNER $ROLE" >/dev/null
    echo "postgresql://$ROLE:$(cat "$1/password")@127.0.0.1:$(cat "$1/port")/$2"
    ;;
sql)
    check_dir "${1:-}"
    psql_super "$1" "$2" -At -c "$3"
    ;;
*)
    sed -n '3,16p' "$0" | sed 's/^# \{0,1\}//' >&2
    exit 2
    ;;
esac
