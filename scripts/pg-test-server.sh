#!/bin/sh
# pg-test-server.sh - a throwaway PostgreSQL 15 server for tests.
#
#   scripts/pg-test-server.sh [start]   start a server; prints
#                                        export SERAC_TEST_PG_URL=postgres://...
#                                        export SERAC_TEST_PG_DIR=<its directory>
#                                        so `eval "$(scripts/pg-test-server.sh)"` sets both
#   scripts/pg-test-server.sh stop DIR   stop the server started in DIR and remove DIR
#   scripts/pg-test-server.sh halt DIR   stop it but keep its data (for outage tests)
#   scripts/pg-test-server.sh resume DIR start a halted server again on the same port
#
# The server lives in a new directory under $TMPDIR (default /tmp), listens on a free port of
# 127.0.0.1 only, trusts every local connection (user "serac", database "serac_test") and runs
# with fsync off: it is for tests, never for data anyone wants to keep. PostgreSQL refuses to run
# as root, so when this script runs as root the server runs as the unprivileged user "serac-pg"
# (created if missing). PGBIN overrides where the PostgreSQL binaries are.
set -eu

PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
PG_USER=serac
PG_DB=serac_test
RUN_AS=serac-pg
MARKER=.serac-pg-test

die() {
    echo "pg-test-server: $*" >&2
    exit 1
}

is_root() {
    [ "$(id -u)" = 0 ]
}

# as_owner runs a command as the user that owns the server's files.
as_owner() {
    if is_root; then
        runuser -u "$RUN_AS" -- "$@"
    else
        "$@"
    fi
}

ensure_run_user() {
    is_root || return 0
    if ! id -u "$RUN_AS" >/dev/null 2>&1; then
        useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin \
            "$RUN_AS" || die "cannot create user $RUN_AS"
    fi
}

# random_port prints a port number in 20000..59999.
random_port() {
    n=$(od -An -N2 -tu2 /dev/urandom | tr -d ' ')
    echo $((20000 + n % 40000))
}

check_dir() {
    [ -n "${1:-}" ] || die "usage: $0 stop|halt|resume DIR"
    [ -f "$1/$MARKER" ] && [ -f "$1/data/PG_VERSION" ] || die "$1 is not a test server directory"
}

pg_start() {
    dir=$1
    port=$2
    (cd "$dir" && as_owner "$PGBIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 30 \
        -o "-p $port -k $dir" start >/dev/null)
}

start() {
    [ -x "$PGBIN/initdb" ] || die "no PostgreSQL binaries in $PGBIN (apt-get install postgresql)"
    ensure_run_user
    dir=$(mktemp -d "${TMPDIR:-/tmp}/serac-pg.XXXXXX")
    touch "$dir/$MARKER"
    if is_root; then
        chown -R "$RUN_AS" "$dir"
        chmod 700 "$dir"
        runuser -u "$RUN_AS" -- test -w "$dir" ||
            die "$RUN_AS cannot write $dir: point TMPDIR at a directory it can reach"
    fi
    (cd "$dir" && as_owner "$PGBIN/initdb" -D "$dir/data" -A trust -U "$PG_USER" -E UTF8 \
        --no-locale -N >"$dir/initdb.log" 2>&1) || {
        cat "$dir/initdb.log" >&2
        rm -rf "$dir"
        die "initdb failed"
    }
    cat >>"$dir/data/postgresql.conf" <<EOF
listen_addresses = '127.0.0.1'
unix_socket_directories = '$dir'
fsync = off
synchronous_commit = off
full_page_writes = off
max_connections = 200
EOF
    tries=0
    while :; do
        port=$(random_port)
        if pg_start "$dir" "$port" 2>/dev/null; then
            break
        fi
        tries=$((tries + 1))
        if [ $tries -ge 8 ]; then
            cat "$dir/server.log" >&2 || true
            rm -rf "$dir"
            die "the server did not start"
        fi
    done
    echo "$port" >"$dir/port"
    (cd "$dir" && as_owner "$PGBIN/createdb" -h "$dir" -p "$port" -U "$PG_USER" "$PG_DB") || {
        stop "$dir"
        die "createdb failed"
    }
    echo "export SERAC_TEST_PG_URL=postgres://$PG_USER@127.0.0.1:$port/$PG_DB"
    echo "export SERAC_TEST_PG_DIR=$dir"
}

halt() {
    check_dir "$1"
    (cd "$1" && as_owner "$PGBIN/pg_ctl" -D "$1/data" -m fast -w stop >/dev/null)
}

resume() {
    check_dir "$1"
    pg_start "$1" "$(cat "$1/port")"
}

stop() {
    check_dir "$1"
    if [ -f "$1/data/postmaster.pid" ]; then
        (cd "$1" && as_owner "$PGBIN/pg_ctl" -D "$1/data" -m immediate -w stop >/dev/null) || true
    fi
    rm -rf "$1"
}

cmd=${1:-start}
case "$cmd" in
start) start ;;
stop | halt | resume)
    [ $# -ge 2 ] || die "usage: $0 $cmd DIR"
    "$cmd" "$2"
    ;;
*) die "usage: $0 [start] | stop DIR | halt DIR | resume DIR" ;;
esac
