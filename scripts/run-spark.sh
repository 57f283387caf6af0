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
# SERAC_TEST_STORE is not used: the Spark tests always run on the default SQLite store. A moto
# server (scripts/moto-server.sh) is started for the vended-credentials tests.
# The server's stderr log is kept in tests/spark/target/serac-spark.log; Spark's own output in
# tests/spark/target/surefire-reports/*-output.txt.
set -uo pipefail

# shellcheck source=lib/serac-run.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/serac-run.sh"

serac_run_init run-spark "$ROOT/tests/spark"
# moto (S3 + STS) for VendedCredentialsS3Test: Spark gets its S3 keys only from serac.
MOTO_DIR=$(mktemp -d "${TMPDIR:-/tmp}/serac-spark-moto.XXXXXX")
eval "$(sh "$ROOT/scripts/moto-server.sh" start "$MOTO_DIR")" || { echo "run-spark: moto did not start" >&2; exit 1; }
export SERAC_TEST_S3_ENDPOINT
serac_run_start_server

MVN_ARGS=(-B -q test "-Dcatalog.uri=$URL" -Dcatalog.warehouse=default)
if [ -n "${SPARK_TEST:-}" ]; then
    MVN_ARGS+=("-Dtest=$SPARK_TEST" -Dsurefire.failIfNoSpecifiedTests=false)
fi
# shellcheck disable=SC2206
[ -n "${SPARK_MVN_ARGS:-}" ] && MVN_ARGS+=($SPARK_MVN_ARGS)

serac_run_known_failures spark
serac_run_mvn
serac_run_summary "Spark test failures:" 300
sh "$ROOT/scripts/moto-server.sh" stop "$MOTO_DIR" >/dev/null 2>&1
rm -rf "$MOTO_DIR"
serac_run_finish
