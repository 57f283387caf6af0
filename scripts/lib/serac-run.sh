# serac-run.sh - shared parts of the Maven suite runners (scripts/run-rck.sh, run-spark.sh).
#
# Sourced, not executed. A runner calls, in order:
#   serac_run_init NAME SUITE_DIR      NAME prefixes messages ("run-rck"); checks the binary
#                                      ($SERAC_BIN or build/serac) and mvn, clears old reports,
#                                      makes a temporary data directory, installs the exit traps
#   serac_run_use_store DBNAME         optional: honour SERAC_TEST_STORE (sqlite or postgres)
#   serac_run_start_server             starts `serac serve`, waits for its URL and /health/ready
#   serac_run_known_failures SUITE     excludes that suite's tests/known-failures.txt entries
#   serac_run_mvn                      runs Maven in SUITE_DIR with MVN_ARGS
#   serac_run_summary HEADER MSGLEN    prints the "Tests run:" line rebuilt from Surefire's XML
#   serac_run_finish                   stops everything and exits with the run's status
#
# Globals it sets for the runner: ROOT, BIN, SUITE_DIR, LOG, DATA, OUT, URL, STORE_ARGS,
# MVN_ARGS (the runner fills it between serac_run_start_server and serac_run_mvn), MVN_RC.

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
SERAC_RUN_NAME=""
SERVER_PID=""
PG_DIR=""
STORE_ARGS=()
MVN_ARGS=()
MVN_RC=0

# serac_run_init NAME SUITE_DIR: checks the binary and mvn (exit 2 if missing), prepares the
# suite's target directory, the server's log path and an empty data directory, and installs the
# traps that stop the server and PostgreSQL on exit.
serac_run_init() {
    SERAC_RUN_NAME="$1"
    SUITE_DIR="$2"
    BIN="${SERAC_BIN:-$ROOT/build/serac}"
    case "$BIN" in /*) ;; *) BIN="$ROOT/$BIN" ;; esac

    if [ ! -x "$BIN" ]; then
        echo "$SERAC_RUN_NAME: server binary not found: $BIN (build it first, or set SERAC_BIN)" >&2
        exit 2
    fi
    command -v mvn >/dev/null || { echo "$SERAC_RUN_NAME: mvn not found" >&2; exit 2; }

    mkdir -p "$SUITE_DIR/target"
    rm -rf "$SUITE_DIR/target/surefire-reports"
    LOG="$SUITE_DIR/target/serac-${SERAC_RUN_NAME#run-}.log"
    DATA="$(mktemp -d "${TMPDIR:-/tmp}/serac-${SERAC_RUN_NAME#run-}-XXXXXX")"
    OUT="$DATA.stdout"
    trap 'stop_server >/dev/null 2>&1; stop_pg' EXIT
    trap 'exit 130' INT TERM
}

# stop_server: SIGTERMs the server, waits up to 10 s, and removes its data directory. Returns 0
# only if the server was running and exited 0; otherwise 1 (or the server's exit code).
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
            echo "$SERAC_RUN_NAME: serac did not exit within 10 s of SIGTERM; killing it" >&2
            kill -KILL "$SERVER_PID" 2>/dev/null
            wait "$SERVER_PID" 2>/dev/null
            rc=1
        else
            wait "$SERVER_PID"
            rc=$?
            [ "$rc" -ne 0 ] && echo "$SERAC_RUN_NAME: serac exited with code $rc after SIGTERM" >&2
        fi
    elif [ -n "$SERVER_PID" ]; then
        wait "$SERVER_PID" 2>/dev/null
        echo "$SERAC_RUN_NAME: serac had already exited (code $?)" >&2
        rc=1
    fi
    SERVER_PID=""
    rm -rf "$DATA" "$OUT"
    return "$rc"
}

# stop_pg: stops the throwaway PostgreSQL started by serac_run_use_store, if any.
stop_pg() {
    if [ -n "$PG_DIR" ]; then
        sh "$ROOT/scripts/pg-test-server.sh" stop "$PG_DIR" ||
            echo "$SERAC_RUN_NAME: could not stop PostgreSQL in $PG_DIR" >&2
        PG_DIR=""
    fi
}

# serac_run_use_store DBNAME: with SERAC_TEST_STORE=postgres, starts a throwaway PostgreSQL
# (scripts/pg-test-server.sh via tests/lib/pg_server.py), creates database DBNAME in it and sets
# STORE_ARGS to serac's --store option; with sqlite or unset does nothing; else exits 2.
serac_run_use_store() {
    local pg_out pg_url store
    case "${SERAC_TEST_STORE:-sqlite}" in
        sqlite | "") ;;
        postgres)
            pg_out="$(python3 "$ROOT/tests/lib/pg_server.py" start)" || {
                echo "$SERAC_RUN_NAME: could not start PostgreSQL (scripts/pg-test-server.sh)" >&2
                exit 1
            }
            pg_url="$(printf '%s\n' "$pg_out" | sed -n 1p)"
            PG_DIR="$(printf '%s\n' "$pg_out" | sed -n 2p)"
            store="$(python3 "$ROOT/tests/lib/pg_server.py" createdb "$pg_url" "$1")" || exit 1
            STORE_ARGS=(--store "$store")
            echo "$SERAC_RUN_NAME: store $store"
            ;;
        *)
            echo "$SERAC_RUN_NAME: SERAC_TEST_STORE=$SERAC_TEST_STORE:" \
                 "expected sqlite or postgres" >&2
            exit 2
            ;;
    esac
}

# serac_run_start_server: starts `serac serve` on a free port of 127.0.0.1 with the data
# directory and STORE_ARGS, and waits (20 s each) for its "listening on" URL and /health/ready.
# Sets URL; on failure prints the server's output and exits 1.
serac_run_start_server() {
    "$BIN" serve --host 127.0.0.1 --port 0 --data-dir "$DATA" --log-level info \
        ${STORE_ARGS[@]+"${STORE_ARGS[@]}"} >"$OUT" 2>"$LOG" </dev/null &
    SERVER_PID=$!

    URL=""
    for _ in $(seq 1 200); do
        URL="$(grep -o -m1 'listening on https\?://[^[:space:]]*' "$OUT" 2>/dev/null |
               sed 's/^listening on //')"
        [ -n "$URL" ] && break
        kill -0 "$SERVER_PID" 2>/dev/null || break
        sleep 0.1
    done
    URL="${URL%/}"
    local ready=0
    if [ -n "$URL" ]; then
        for _ in $(seq 1 200); do
            if curl -fsS -o /dev/null "$URL/health/ready" 2>/dev/null; then ready=1; break; fi
            kill -0 "$SERVER_PID" 2>/dev/null || break
            sleep 0.1
        done
    fi
    if [ "$ready" != 1 ]; then
        echo "$SERAC_RUN_NAME: serac did not become ready (url='$URL')" >&2
        echo "--- stdout ---" >&2; cat "$OUT" >&2
        echo "--- stderr tail ($LOG) ---" >&2; tail -n 40 "$LOG" >&2
        exit 1
    fi
    echo "$SERAC_RUN_NAME: serac at $URL (data $DATA, log $LOG)"
}

# serac_run_known_failures SUITE: excludes the tests tests/known-failures.txt lists for SUITE
# (Class#method) from the Maven run, and says which.
serac_run_known_failures() {
    local known
    known="$(awk -v s="$1" '$1 == s { print $2 }' "$ROOT/tests/known-failures.txt")"
    if [ -n "$known" ]; then
        mkdir -p "$SUITE_DIR/target"
        # shellcheck disable=SC2086
        printf '%s\n' $known | sed 's/^/**\//' >"$SUITE_DIR/target/known-failures.excludes"
        MVN_ARGS+=("-Dsurefire.excludesFile=$SUITE_DIR/target/known-failures.excludes")
        echo "known failures excluded (see tests/known-failures.txt): $known"
    fi
}

# serac_run_mvn: runs Maven with MVN_ARGS in SUITE_DIR; sets MVN_RC to its exit status.
serac_run_mvn() {
    (cd "$SUITE_DIR" && mvn "${MVN_ARGS[@]}")
    MVN_RC=$?
}

# serac_run_summary HEADER MSGLEN: Surefire's own summary is an INFO line that -q hides; rebuilds
# it from the XML reports as "Tests run: N, Failures: F, Errors: E, Skipped: S" (scripts/test-all.sh
# parses it), preceded by HEADER and one line per failed test (message cut to MSGLEN characters).
serac_run_summary() {
    python3 - "$SUITE_DIR/target/surefire-reports" "$1" "$2" <<'EOF'
import glob, os, sys
import xml.etree.ElementTree as ET
d, header, msglen = sys.argv[1], sys.argv[2], int(sys.argv[3])
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
                           f"{case.get('name')}: {msg[0][:msglen] if msg else ''}")
if bad:
    print(header)
    print("\n".join(bad))
print(f"Tests run: {tot['tests']}, Failures: {tot['failures']}, Errors: {tot['errors']}, "
      f"Skipped: {tot['skipped']}")
EOF
}

# serac_run_finish: stops the server and PostgreSQL, then exits with Maven's status, or with 1
# if the server did not stop cleanly while Maven passed.
serac_run_finish() {
    local stop_rc
    stop_server
    stop_rc=$?
    stop_pg
    trap - EXIT
    if [ "$MVN_RC" -ne 0 ]; then
        exit "$MVN_RC"
    fi
    exit "$stop_rc"
}
