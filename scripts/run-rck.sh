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

# shellcheck source=lib/serac-run.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/serac-run.sh"

serac_run_init run-rck "$ROOT/tests/rck"
serac_run_use_store serac_rck
serac_run_start_server

MVN_ARGS=(-B -q test "-Dcatalog.uri=$URL" -Dcatalog.warehouse=default
          -Drck.requires-namespace-create=true -Drck.supports-serverside-retry=true
          -Drck.supports-names-with-dot=true)
if [ -n "${RCK_TEST:-}" ]; then
    MVN_ARGS+=("-Dtest=$RCK_TEST" -Dsurefire.failIfNoSpecifiedTests=false)
fi
# shellcheck disable=SC2206
[ -n "${RCK_MVN_ARGS:-}" ] && MVN_ARGS+=($RCK_MVN_ARGS)

serac_run_known_failures rck
serac_run_mvn
serac_run_summary "RCK failures:" 200
serac_run_finish
