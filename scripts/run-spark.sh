#!/usr/bin/env bash
# Runs the Spark engine tests (tests/spark, Maven + JUnit 5, local-mode Spark with the Iceberg
# runtime) against a fresh serac.
#
# Builds nothing: the server binary is $SERAC_BIN or build/serac. Starts `serac serve` on a free
# port with an empty temporary data directory, runs the tests through Maven, stops the server with
# SIGTERM (it must exit 0 within 10 s), prints a "Tests run:" summary rebuilt from Surefire's XML
# reports, and exits with Maven's status (or 1 if the server did not stop cleanly while Maven
# passed). The first run downloads Spark and Iceberg from Maven Central (about 400 MB).
#
# Environment:
#   SPARK_TEST=Class[#method]  run only these tests (passed as -Dtest=...)
#   SPARK_MVN_ARGS="..."       extra Maven arguments
#   SERAC_BIN=path             server binary (default: build/serac)
# The server's stderr log is kept in tests/spark/target/serac-spark.log; Spark's own output in
# tests/spark/target/surefire-reports/*-output.txt.
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SUITE_DIR="$ROOT/tests/spark"
BIN="${SERAC_BIN:-$ROOT/build/serac}"
case "$BIN" in /*) ;; *) BIN="$ROOT/$BIN" ;; esac

if [ ! -x "$BIN" ]; then
    echo "run-spark: server binary not found: $BIN (build it first, or set SERAC_BIN)" >&2
    exit 2
fi
command -v mvn >/dev/null || { echo "run-spark: mvn not found" >&2; exit 2; }

mkdir -p "$SUITE_DIR/target"
rm -rf "$SUITE_DIR/target/surefire-reports"
LOG="$SUITE_DIR/target/serac-spark.log"
DATA="$(mktemp -d "${TMPDIR:-/tmp}/serac-spark-XXXXXX")"
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
            echo "run-spark: serac did not exit within 10 s of SIGTERM; killing it" >&2
            kill -KILL "$SERVER_PID" 2>/dev/null
            wait "$SERVER_PID" 2>/dev/null
            rc=1
        else
            wait "$SERVER_PID"
            rc=$?
            [ "$rc" -ne 0 ] && echo "run-spark: serac exited with code $rc after SIGTERM" >&2
        fi
    elif [ -n "$SERVER_PID" ]; then
        wait "$SERVER_PID" 2>/dev/null
        echo "run-spark: serac had already exited (code $?)" >&2
        rc=1
    fi
    SERVER_PID=""
    rm -rf "$DATA" "$OUT"
    return "$rc"
}
trap 'stop_server >/dev/null 2>&1' EXIT
trap 'exit 130' INT TERM

"$BIN" serve --host 127.0.0.1 --port 0 --data-dir "$DATA" --log-level info \
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
    echo "run-spark: serac did not become ready (url='$URL')" >&2
    echo "--- stdout ---" >&2; cat "$OUT" >&2
    echo "--- stderr tail ($LOG) ---" >&2; tail -n 40 "$LOG" >&2
    exit 1
fi
echo "run-spark: serac at $URL (data $DATA, log $LOG)"

MVN_ARGS=(-B -q test "-Dcatalog.uri=$URL" -Dcatalog.warehouse=default)
if [ -n "${SPARK_TEST:-}" ]; then
    MVN_ARGS+=("-Dtest=$SPARK_TEST" -Dsurefire.failIfNoSpecifiedTests=false)
fi
# shellcheck disable=SC2206
[ -n "${SPARK_MVN_ARGS:-}" ] && MVN_ARGS+=($SPARK_MVN_ARGS)

# Known failures (tests/known-failures.txt) are excluded by name and said out loud.
KNOWN="$(awk -v s=spark '$1 == s { print $2 }' "$ROOT/tests/known-failures.txt")"
if [ -n "$KNOWN" ]; then
    mkdir -p "$SUITE_DIR/target"
    printf '%s\n' $KNOWN | sed 's/^/**\//' >"$SUITE_DIR/target/known-failures.excludes"
    MVN_ARGS+=("-Dsurefire.excludesFile=$SUITE_DIR/target/known-failures.excludes")
    echo "known failures excluded (see tests/known-failures.txt): $KNOWN"
fi
(cd "$SUITE_DIR" && mvn "${MVN_ARGS[@]}")
MVN_RC=$?

# Surefire's own summary is an INFO line that -q hides; rebuild it from the XML reports.
python3 - "$SUITE_DIR/target/surefire-reports" <<'EOF'
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
                           f"{case.get('name')}: {msg[0][:300] if msg else ''}")
if bad:
    print("Spark test failures:")
    print("\n".join(bad))
print(f"Tests run: {tot['tests']}, Failures: {tot['failures']}, Errors: {tot['errors']}, "
      f"Skipped: {tot['skipped']}")
EOF

stop_server
STOP_RC=$?
trap - EXIT
if [ "$MVN_RC" -ne 0 ]; then
    exit "$MVN_RC"
fi
exit "$STOP_RC"
