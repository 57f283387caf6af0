#!/bin/sh
# moto-server.sh - a throwaway moto server (S3 and STS) for tests.
#
#   scripts/moto-server.sh start DIR   start moto on a free port of 127.0.0.1; writes DIR/url,
#                                      DIR/pid and DIR/server.log, and prints
#                                      export SERAC_TEST_S3_ENDPOINT=http://127.0.0.1:PORT
#                                      so `eval "$(scripts/moto-server.sh start DIR)"` sets it
#   scripts/moto-server.sh stop DIR    stop the server started in DIR (the directory stays)
#
# moto keeps everything in memory: buckets vanish when it stops. It accepts any access key and,
# unless told otherwise, does not check signatures (tests that need a refused signature turn
# authentication on through moto's own API; see tests/unit/test_s3.c). MOTO_SERVER overrides the
# program (default: the moto_server of the project's .venv, installed from tests/requirements.txt).
set -eu

ROOT=$(cd "$(dirname "$0")/.." && pwd)
MOTO_SERVER=${MOTO_SERVER:-$ROOT/.venv/bin/moto_server}
PYTHON=${PYTHON:-$ROOT/.venv/bin/python}

die() {
    echo "moto-server: $*" >&2
    exit 1
}

# free_port prints a loopback port that nothing listened on a moment ago.
free_port() {
    "$PYTHON" -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()'
}

# answers says whether the server at $1 answers HTTP at all.
answers() {
    curl -s -o /dev/null --max-time 2 "$1/moto-api/" 2>/dev/null
}

alive() {
    [ -f "$1/pid" ] && kill -0 "$(cat "$1/pid")" 2>/dev/null
}

start() {
    dir=$1
    [ -x "$MOTO_SERVER" ] || die "no $MOTO_SERVER (scripts/setup-venv.sh installs moto[server])"
    mkdir -p "$dir"
    dir=$(cd "$dir" && pwd)
    if alive "$dir"; then
        die "a server started from $dir is still running (pid $(cat "$dir/pid"))"
    fi
    tries=0
    while :; do
        port=$(free_port)
        url=http://127.0.0.1:$port
        "$MOTO_SERVER" -H 127.0.0.1 -p "$port" >"$dir/server.log" 2>&1 &
        echo $! >"$dir/pid"
        waited=0
        while alive "$dir" && ! answers "$url" && [ $waited -lt 300 ]; do
            sleep 0.1
            waited=$((waited + 1))
        done
        if alive "$dir" && answers "$url"; then
            break
        fi
        # Lost the port to someone else, or moto failed: stop what is left and try again.
        kill "$(cat "$dir/pid")" 2>/dev/null || true
        rm -f "$dir/pid"
        tries=$((tries + 1))
        if [ $tries -ge 3 ]; then
            cat "$dir/server.log" >&2 || true
            die "moto did not start"
        fi
    done
    echo "$url" >"$dir/url"
    echo "export SERAC_TEST_S3_ENDPOINT=$url"
}

stop() {
    dir=$1
    [ -f "$dir/pid" ] || die "$dir has no pid file: no server was started there"
    pid=$(cat "$dir/pid")
    if kill "$pid" 2>/dev/null; then
        waited=0
        while kill -0 "$pid" 2>/dev/null && [ $waited -lt 50 ]; do
            sleep 0.1
            waited=$((waited + 1))
        done
        kill -9 "$pid" 2>/dev/null || true
    fi
    rm -f "$dir/pid" "$dir/url"
}

cmd=${1:-}
case "$cmd" in
start | stop)
    [ $# -ge 2 ] || die "usage: $0 $cmd DIR"
    "$cmd" "$2"
    ;;
*) die "usage: $0 start DIR | stop DIR" ;;
esac
