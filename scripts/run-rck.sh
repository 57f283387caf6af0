#!/usr/bin/env bash
# Runs the Apache Iceberg REST Compatibility Kit (tests/rck, Maven) against a fresh serac.
#
# Builds nothing: the server binary is $SERAC_BIN or build/serac. Starts `serac serve` on a free
# port with an empty temporary data directory, runs the kit through Maven, stops the server with
# SIGTERM (it must exit 0 within 10 s), and exits with Maven's status (or 1 if the server did not
# stop cleanly while Maven passed).
#
# Environment:
#   RCK_TEST=Class[#method]   run only these tests (passed as -Dtest=...)
#   RCK_MVN_ARGS="..."        extra Maven arguments
#   SERAC_BIN=path            server binary (default: build/serac)
#   SERAC_TEST_STORE=postgres run serac on PostgreSQL: a throwaway server from
#                             scripts/pg-test-server.sh with a fresh database, stopped at exit
# The server's stderr log is kept in tests/rck/target/serac-rck.log.
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
RCK_DIR="$ROOT/tests/rck"
BIN="${SERAC_BIN:-$ROOT/build/serac}"
case "$BIN" in /*) ;; *) BIN="$ROOT/$BIN" ;; esac

if [ ! -x "$BIN" ]; then
    echo "run-rck: server binary not found: $BIN (build it first, or set SERAC_BIN)" >&2
    exit 2
fi
command -v mvn >/dev/null || { echo "run-rck: mvn not found" >&2; exit 2; }

mkdir -p "$RCK_DIR/target"
rm -rf "$RCK_DIR/target/surefire-reports"
LOG="$RCK_DIR/target/serac-rck.log"
DATA="$(mktemp -d "${TMPDIR:-/tmp}/serac-rck-XXXXXX")"
OUT="$DATA.stdout"
SERVER_PID=""

stop_server() {
    local rc=0
    if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
        kill -TERM "$SERVER_PID"
        local waited=0
        while kill -0 "$SERVER_PID" 2>/dev/null && [ "$waited" -lt 100 ]; do
            sleep 0.1
            waited=$((waited + 1))
        done
        if kill -0 "$SERVER_PID" 2>/dev/null; then
            echo "run-rck: serac did not exit within 10 s of SIGTERM; killing it" >&2
            kill -KILL "$SERVER_PID" 2>/dev/null
            wait "$SERVER_PID" 2>/dev/null
            rc=1
        else
            wait "$SERVER_PID"
            rc=$?
            [ "$rc" -ne 0 ] && echo "run-rck: serac exited with code $rc after SIGTERM" >&2
        fi
    elif [ -n "$SERVER_PID" ]; then
        wait "$SERVER_PID" 2>/dev/null
        echo "run-rck: serac had already exited (code $?)" >&2
        rc=1
    fi
    SERVER_PID=""
    rm -rf "$DATA" "$OUT"
    return "$rc"
}
PG_DIR=""
stop_pg() {
    if [ -n "$PG_DIR" ]; then
        sh "$ROOT/scripts/pg-test-server.sh" stop "$PG_DIR" ||
            echo "run-rck: could not stop PostgreSQL in $PG_DIR" >&2
        PG_DIR=""
    fi
}
trap 'stop_server >/dev/null 2>&1; stop_pg' EXIT
trap 'exit 130' INT TERM

STORE_ARGS=()
case "${SERAC_TEST_STORE:-sqlite}" in
    sqlite | "") ;;
    postgres)
        PG_OUT="$(python3 "$ROOT/tests/lib/pg_server.py" start)" || {
            echo "run-rck: could not start PostgreSQL (scripts/pg-test-server.sh)" >&2
            exit 1
        }
        PG_URL="$(printf '%s\n' "$PG_OUT" | sed -n 1p)"
        PG_DIR="$(printf '%s\n' "$PG_OUT" | sed -n 2p)"
        STORE="$(python3 "$ROOT/tests/lib/pg_server.py" createdb "$PG_URL" serac_rck)" || exit 1
        STORE_ARGS=(--store "$STORE")
        echo "run-rck: store $STORE"
        ;;
    *) echo "run-rck: SERAC_TEST_STORE=$SERAC_TEST_STORE: expected sqlite or postgres" >&2; exit 2 ;;
esac

"$BIN" serve --host 127.0.0.1 --port 0 --data-dir "$DATA" --log-level info "${STORE_ARGS[@]}" \
    >"$OUT" 2>"$LOG" </dev/null &
SERVER_PID=$!

URL=""
for _ in $(seq 1 200); do
    URL="$(grep -o -m1 'listening on https\?://[^[:space:]]*' "$OUT" 2>/dev/null | sed 's/^listening on //')"
    [ -n "$URL" ] && break
    kill -0 "$SERVER_PID" 2>/dev/null || break
    sleep 0.1
done
URL="${URL%/}"
ready=0
if [ -n "$URL" ]; then
    for _ in $(seq 1 200); do
        if curl -fsS -o /dev/null "$URL/health/ready" 2>/dev/null; then ready=1; break; fi
        kill -0 "$SERVER_PID" 2>/dev/null || break
        sleep 0.1
    done
fi
if [ "$ready" != 1 ]; then
    echo "run-rck: serac did not become ready (url='$URL')" >&2
    echo "--- stdout ---" >&2; cat "$OUT" >&2
    echo "--- stderr tail ($LOG) ---" >&2; tail -n 40 "$LOG" >&2
    exit 1
fi
echo "run-rck: serac at $URL (data $DATA, log $LOG)"

MVN_ARGS=(-B -q test "-Dcatalog.uri=$URL" -Dcatalog.warehouse=default
          -Drck.requires-namespace-create=true -Drck.supports-serverside-retry=true
          -Drck.supports-names-with-dot=true)
if [ -n "${RCK_TEST:-}" ]; then
    MVN_ARGS+=("-Dtest=$RCK_TEST" -Dsurefire.failIfNoSpecifiedTests=false)
fi
# shellcheck disable=SC2206
[ -n "${RCK_MVN_ARGS:-}" ] && MVN_ARGS+=($RCK_MVN_ARGS)

# Known failures (tests/known-failures.txt) are excluded by name and said out loud.
KNOWN="$(awk -v s=rck '$1 == s { print $2 }' "$ROOT/tests/known-failures.txt")"
if [ -n "$KNOWN" ]; then
    mkdir -p "$RCK_DIR/target"
    printf '%s\n' $KNOWN | sed 's/^/**\//' >"$RCK_DIR/target/known-failures.excludes"
    MVN_ARGS+=("-Dsurefire.excludesFile=$RCK_DIR/target/known-failures.excludes")
    echo "known failures excluded (see tests/known-failures.txt): $KNOWN"
fi
(cd "$RCK_DIR" && mvn "${MVN_ARGS[@]}")
MVN_RC=$?

# Surefire's own summary is an INFO line that -q hides; rebuild it from the XML reports.
python3 - "$RCK_DIR/target/surefire-reports" <<'EOF'
import glob, os, sys
import xml.etree.ElementTree as ET
d = sys.argv[1]
tot = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
bad = []
for f in sorted(glob.glob(os.path.join(d, "TEST-*.xml"))):
    root = ET.parse(f).getroot()
    for k in tot:
        tot[k] += int(root.get(k, 0))
    for case in root.iter("testcase"):
        for kind in ("failure", "error"):
            el = case.find(kind)
            if el is not None:
                msg = (el.get("message") or "").strip().splitlines()
                bad.append(f"  {kind.upper()}: {case.get('classname', '').rsplit('.', 1)[-1]}."
                           f"{case.get('name')}: {msg[0][:200] if msg else ''}")
if bad:
    print("RCK failures:")
    print("\n".join(bad))
print(f"Tests run: {tot['tests']}, Failures: {tot['failures']}, Errors: {tot['errors']}, "
      f"Skipped: {tot['skipped']}")
EOF

stop_server
STOP_RC=$?
stop_pg
trap - EXIT
if [ "$MVN_RC" -ne 0 ]; then
    exit "$MVN_RC"
fi
exit "$STOP_RC"
