#!/bin/sh
# fake-gcs-server.sh - a throwaway Google Cloud Storage emulator (fsouza/fake-gcs-server) for tests.
#
#   scripts/fake-gcs-server.sh install      build the pinned emulator into .cache/go-bin (once)
#   scripts/fake-gcs-server.sh [start] [DIR] install if needed, start an in-memory emulator on a
#                                            free port of 127.0.0.1 over plain HTTP; prints
#                                              export SERAC_TEST_GCS_ENDPOINT=http://127.0.0.1:PORT
#                                              export SERAC_TEST_GCS_DIR=<its directory>
#                                            so `eval "$(scripts/fake-gcs-server.sh)"` sets both
#   scripts/fake-gcs-server.sh stop DIR     stop the emulator started in DIR and remove DIR
#
# DIR (default: a new directory under $TMPDIR, default /tmp) receives the emulator's log, its pid
# and its url. The emulator keeps objects in memory only and checks no credentials: it is for
# tests. It speaks the JSON API (/storage/v1, /upload/storage/v1, /batch/storage/v1), which is
# what io/gcs.c uses. Building it needs Go (1.22 or newer) and the Go module proxy.
set -eu

VERSION=v1.56.1
MODULE=github.com/fsouza/fake-gcs-server
MARKER=.serac-gcs-test

die() {
    echo "fake-gcs-server: $*" >&2
    exit 1
}

root=$(cd "$(dirname "$0")/.." && pwd)
GOBIN_DIR=${SERAC_GO_BIN:-$root/.cache/go-bin}
BIN=$GOBIN_DIR/fake-gcs-server
STAMP=$GOBIN_DIR/fake-gcs-server.version

install() {
    if [ -x "$BIN" ] && [ "$(cat "$STAMP" 2>/dev/null)" = "$VERSION" ]; then
        return 0
    fi
    command -v go >/dev/null 2>&1 || die "go is not installed (apt-get install golang, or go.dev/dl)"
    mkdir -p "$GOBIN_DIR"
    echo "fake-gcs-server: building $MODULE@$VERSION into $GOBIN_DIR" >&2
    GOBIN=$GOBIN_DIR go install "$MODULE@$VERSION" >&2 ||
        die "go install $MODULE@$VERSION failed"
    echo "$VERSION" >"$STAMP"
}

# free_port prints a TCP port of 127.0.0.1 that nothing listens on right now.
free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# answers URL says whether the emulator at URL answers a bucket listing.
answers() {
    curl -fsS -o /dev/null --max-time 2 "$1/storage/v1/b" 2>/dev/null
}

start() {
    install
    if [ -n "${1:-}" ]; then
        dir=$1
        mkdir -p "$dir"
    else
        dir=$(mktemp -d "${TMPDIR:-/tmp}/serac-gcs.XXXXXX")
    fi
    touch "$dir/$MARKER"
    tries=0
    while :; do
        port=$(free_port)
        url=http://127.0.0.1:$port
        # -external-url and -public-host make the upload and media links the emulator returns
        # point back at this address; -backend memory keeps nothing on disk.
        "$BIN" -scheme http -host 127.0.0.1 -port "$port" -backend memory \
            -external-url "$url" -public-host "127.0.0.1:$port" -log-level warn \
            >"$dir/server.log" 2>&1 &
        pid=$!
        echo "$pid" >"$dir/pid"
        n=0
        while [ $n -lt 100 ]; do
            if answers "$url"; then
                echo "$url" >"$dir/url"
                echo "export SERAC_TEST_GCS_ENDPOINT=$url"
                echo "export SERAC_TEST_GCS_DIR=$dir"
                return 0
            fi
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
            n=$((n + 1))
        done
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
        tries=$((tries + 1))
        if [ $tries -ge 5 ]; then
            cat "$dir/server.log" >&2 || true
            die "the emulator did not start (log above)"
        fi
    done
}

stop() {
    [ -n "${1:-}" ] || die "usage: $0 stop DIR"
    [ -f "$1/$MARKER" ] || die "$1 is not an emulator directory"
    if [ -f "$1/pid" ]; then
        pid=$(cat "$1/pid")
        if kill "$pid" 2>/dev/null; then
            n=0
            while kill -0 "$pid" 2>/dev/null && [ $n -lt 50 ]; do
                sleep 0.1
                n=$((n + 1))
            done
            kill -9 "$pid" 2>/dev/null || true
        fi
    fi
    rm -rf "$1"
}

cmd=${1:-start}
case "$cmd" in
install) install ;;
start) start "${2:-}" ;;
stop) stop "${2:-}" ;;
*) die "usage: $0 install | [start] [DIR] | stop DIR" ;;
esac
