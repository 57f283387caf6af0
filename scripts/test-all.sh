#!/usr/bin/env bash
# Runs serac's test suites and prints a summary line per suite plus a total.
# Usage: scripts/test-all.sh [SUITE ...] (default: all), SUITE one of
#   format unit asan fuzz api pyiceberg rck spark duckdb s3 api-s3 gcs api-pg pyiceberg-pg rck-pg
#   multinode deploy
# The -pg suites are the same runs on PostgreSQL (SERAC_TEST_STORE=postgres); unit and asan start
# a throwaway PostgreSQL (scripts/pg-test-server.sh) so the PostgreSQL store's unit tests run.
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
JOBS=${JOBS:-2}
SUITES=("$@")
[ ${#SUITES[@]} -eq 0 ] && SUITES=(format unit asan fuzz api pyiceberg rck spark duckdb s3 api-s3 gcs
                                   api-pg pyiceberg-pg rck-pg multinode deploy)
RESULTS=()
TOTAL_PASS=0
TOTAL_FAIL=0
mkdir -p "$ROOT/build-logs"

note() { printf '\n=== %s ===\n' "$*"; }
record() { # suite passed failed
  RESULTS+=("$(printf '%-12s %5d passed, %d failed' "$1" "$2" "$3")")
  TOTAL_PASS=$((TOTAL_PASS + $2)); TOTAL_FAIL=$((TOTAL_FAIL + $3))
}

build_tree() { # dir extra-cmake-args...
  local dir=$1; shift
  cmake -S . -B "$dir" -DSERAC_WERROR=ON "$@" >"$ROOT/build-logs/cmake-$(basename "$dir").log" 2>&1 &&
    cmake --build "$dir" -j "$JOBS" 2>&1 | grep -E 'error|warning|Error' ; return "${PIPESTATUS[0]}"
}

PG_DIR=""
pg_stop() {
  [ -n "$PG_DIR" ] && { sh scripts/pg-test-server.sh stop "$PG_DIR" || echo "could not stop PostgreSQL in $PG_DIR"; }
  PG_DIR=""; unset SERAC_TEST_PG_URL
}
pg_start() { # exports SERAC_TEST_PG_URL for a fresh throwaway PostgreSQL
  local out; out=$(python3 tests/lib/pg_server.py start) || return 1
  export SERAC_TEST_PG_URL; SERAC_TEST_PG_URL=$(echo "$out" | sed -n 1p); PG_DIR=$(echo "$out" | sed -n 2p)
  echo "PostgreSQL for the store tests: $SERAC_TEST_PG_URL"
}

MOTO_DIR=""; GCS_DIR=""
stores_stop() {
  [ -n "$MOTO_DIR" ] && sh scripts/moto-server.sh stop "$MOTO_DIR" >/dev/null 2>&1
  [ -n "$GCS_DIR" ] && sh scripts/fake-gcs-server.sh stop "$GCS_DIR" >/dev/null 2>&1
  MOTO_DIR=""; GCS_DIR=""; unset SERAC_TEST_S3_ENDPOINT SERAC_TEST_GCS_ENDPOINT SERAC_TEST_GCS_DIR
}
trap 'pg_stop; stores_stop' EXIT
stores_start() { # exports SERAC_TEST_S3_ENDPOINT (moto) and SERAC_TEST_GCS_ENDPOINT (fake-gcs-server)
  MOTO_DIR=$(mktemp -d "${TMPDIR:-/tmp}/serac-moto.XXXXXX")
  eval "$(sh scripts/moto-server.sh start "$MOTO_DIR")" || return 1
  local g; g=$(sh scripts/fake-gcs-server.sh start) || return 1
  eval "$g"; GCS_DIR=$SERAC_TEST_GCS_DIR
  echo "S3 (moto) for the store tests: $SERAC_TEST_S3_ENDPOINT; GCS emulator: $SERAC_TEST_GCS_ENDPOINT"
}

ctest_suite() { # name dir (with a throwaway PostgreSQL, moto and GCS emulator, so their tests run too)
  local name=$1 dir=$2 out
  pg_start || { echo "could not start PostgreSQL (scripts/pg-test-server.sh)"; record "$name" 0 1; return; }
  stores_start || { echo "could not start moto or fake-gcs-server"; pg_stop; stores_stop; record "$name" 0 1; return; }
  out=$(cd "$dir" && ctest --output-on-failure 2>&1); local rc=$?
  pg_stop; stores_stop
  echo "$out" | tail -n 40
  local line; line=$(echo "$out" | grep -E 'tests passed, [0-9]+ tests failed out of' | tail -1)
  local total failed
  total=$(echo "$line" | sed -E 's/.*out of ([0-9]+).*/\1/'); failed=$(echo "$line" | sed -E 's/.* ([0-9]+) tests failed.*/\1/')
  [ -z "$total" ] && { record "$name" 0 1; return; }
  record "$name" $((total - failed)) "$failed"
  [ $rc -eq 0 ] || true
}

pytest_suite() { # name args...
  local name=$1; shift
  pytest_run "$name" -m pytest -q -p no:cacheprovider "$@"
}

pytest_run() { # name python-args... (a pytest run, or a script that runs pytest)
  local name=$1; shift
  local out; out=$("$ROOT/.venv/bin/python" "$@" 2>&1); local rc=$?
  echo "$out" | tail -n 60
  local line; line=$(echo "$out" | grep -E '^(=+ )?[0-9]+ (passed|failed)|no tests ran|[0-9]+ (passed|failed|error)' | tail -1)
  local p f e
  p=$(echo "$line" | grep -oE '[0-9]+ passed' | grep -oE '[0-9]+'); f=$(echo "$line" | grep -oE '[0-9]+ failed' | grep -oE '[0-9]+')
  e=$(echo "$line" | grep -oE '[0-9]+ error' | grep -oE '[0-9]+')
  p=${p:-0}; f=$(( ${f:-0} + ${e:-0} ))
  [ $rc -ne 0 ] && [ "$f" -eq 0 ] && f=1
  record "$name" "$p" "$f"
}

for suite in "${SUITES[@]}"; do
  case $suite in
    format)
      note "formatting (clang-format-14 --dry-run, .clang-format)"
      bad=0; total=0
      for f in $(git ls-files 'src/*.[ch]' 'tests/unit/*.[ch]' 'tests/fuzz/*.[ch]'); do
        total=$((total + 1))
        clang-format-14 --dry-run --Werror "$f" >/dev/null 2>&1 || { bad=$((bad + 1)); echo "not formatted: $f"; }
      done
      record format $((total - bad)) "$bad" ;;
    unit)
      note "unit tests (ctest)"
      if build_tree build -DCMAKE_BUILD_TYPE=RelWithDebInfo; then ctest_suite unit build; else record unit 0 1; fi ;;
    asan)
      note "unit tests under ASan+UBSan (ctest)"
      if build_tree build-asan -DCMAKE_BUILD_TYPE=Debug -DSERAC_SANITIZE=ON; then
        ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 ctest_suite asan build-asan
      else record asan 0 1; fi ;;
    fuzz)
      note "fuzzers (libFuzzer, ${FUZZ_SECONDS:-20} s each)"
      if CC=clang-14 build_tree build-fuzz -DCMAKE_BUILD_TYPE=Debug -DSERAC_FUZZ=ON -DSERAC_TESTS=OFF -DSERAC_SANITIZE=ON; then
        fp=0; ff=0
        for f in build-fuzz/fuzz_*; do
          [ -x "$f" ] || continue
          corpus="tests/fuzz/corpus/$(basename "$f")"; mkdir -p "$corpus"
          work=$(mktemp -d)
          if "$f" -max_total_time="${FUZZ_SECONDS:-20}" -rss_limit_mb=2048 -artifact_prefix="$work/" "$work" "$corpus" >"build-logs/$(basename "$f").log" 2>&1; then
            fp=$((fp + 1)); echo "$(basename "$f"): $(grep -E '^#[0-9]+.*DONE|Done [0-9]+ runs' "build-logs/$(basename "$f").log" | tail -1)"
          else
            ff=$((ff + 1)); echo "$(basename "$f") FAILED:"; tail -n 30 "build-logs/$(basename "$f").log"
          fi
          rm -rf "$work"
        done
        record fuzz "$fp" "$ff"
      else record fuzz 0 1; fi ;;
    deploy)
      note "deployment manifests and Dockerfile (pytest)"; pytest_suite deploy tests/deploy ;;
    api|pyiceberg|rck|spark|duckdb|s3|api-s3|gcs|api-pg|pyiceberg-pg|rck-pg|multinode)
      [ -x build/serac ] || build_tree build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
      case $suite in
        api) note "API tests (pytest)"; pytest_suite api tests/api ;;
        pyiceberg) note "PyIceberg scenario (pytest)"; pytest_suite pyiceberg tests/pyiceberg ;;
        api-pg) note "API tests on PostgreSQL (pytest)"; SERAC_TEST_STORE=postgres pytest_suite api-pg tests/api ;;
        pyiceberg-pg)
          note "PyIceberg scenario on PostgreSQL (pytest)"
          SERAC_TEST_STORE=postgres pytest_suite pyiceberg-pg tests/pyiceberg ;;
        multinode) note "three nodes on one PostgreSQL: torture test (pytest)"; pytest_suite multinode tests/multinode ;;
        duckdb) note "DuckDB iceberg extension (pytest)"; pytest_suite duckdb tests/duckdb ;;
        s3) note "S3 warehouses on moto: PyIceberg, vending, remote signing, management, faults (pytest)"
            pytest_suite s3 tests/s3 ;;
        api-s3) note "API tests with the default warehouse on S3 (moto) (pytest)"
            pytest_run api-s3 tests/s3/api_on_s3.py ;;
        gcs) note "GCS warehouse on fake-gcs-server (pytest)"; pytest_suite gcs tests/gcs ;;
        rck|rck-pg)
          if [ "$suite" = rck-pg ]; then
            note "Iceberg REST Compatibility Kit on PostgreSQL (Maven Surefire)"
            out=$(SERAC_TEST_STORE=postgres scripts/run-rck.sh 2>&1); rc=$?
          else
            note "Iceberg REST Compatibility Kit (Maven Surefire)"
            out=$(scripts/run-rck.sh 2>&1); rc=$?
          fi
          echo "$out" | grep -vE '^\[INFO\] Download|^Download' | tail -n 60
          line=$(echo "$out" | grep -E 'Tests run: [0-9]+, Failures: [0-9]+, Errors: [0-9]+' | tail -1)
          t=$(echo "$line" | sed -E 's/.*Tests run: ([0-9]+).*/\1/'); fl=$(echo "$line" | sed -E 's/.*Failures: ([0-9]+).*/\1/')
          er=$(echo "$line" | sed -E 's/.*Errors: ([0-9]+).*/\1/'); sk=$(echo "$line" | sed -E 's/.*Skipped: ([0-9]+).*/\1/')
          if [ -z "$line" ]; then record "$suite" 0 1; else
            bad=$((fl + er)); [ $rc -ne 0 ] && [ $bad -eq 0 ] && bad=1
            record "$suite" $((t - fl - er - sk)) "$bad"; fi ;;
        spark)
          note "Spark + Iceberg runtime (Maven Surefire)"
          out=$(scripts/run-spark.sh 2>&1); rc=$?
          echo "$out" | grep -vE '^\[INFO\] Download|^Download' | tail -n 60
          line=$(echo "$out" | grep -E 'Tests run: [0-9]+, Failures: [0-9]+, Errors: [0-9]+' | tail -1)
          t=$(echo "$line" | sed -E 's/.*Tests run: ([0-9]+).*/\1/'); fl=$(echo "$line" | sed -E 's/.*Failures: ([0-9]+).*/\1/')
          er=$(echo "$line" | sed -E 's/.*Errors: ([0-9]+).*/\1/'); sk=$(echo "$line" | sed -E 's/.*Skipped: ([0-9]+).*/\1/')
          if [ -z "$line" ]; then record spark 0 1; else
            bad=$((fl + er)); [ $rc -ne 0 ] && [ $bad -eq 0 ] && bad=1
            record spark $((t - fl - er - sk)) "$bad"; fi ;;
      esac ;;
    *) echo "unknown suite $suite" >&2; exit 2 ;;
  esac
done

note "summary"
for r in "${RESULTS[@]}"; do echo "$r"; done
echo "total: $TOTAL_PASS passed, $TOTAL_FAIL failed"
[ "$TOTAL_FAIL" -eq 0 ]
