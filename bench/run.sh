#!/usr/bin/env bash
# run.sh - `make bench`: builds serac in release mode, prepares the tools (bench/setup.sh) and
# runs the benchmark suite (bench/bench.py), which writes bench/results/<date>-<machine>.md.
#
# Settings (environment): BENCH_QUICK=1 for 3 s runs while developing; BENCH_SERVERS,
# BENCH_WORKLOADS, BENCH_DURATION, BENCH_WARMUP, BENCH_SKIP_LARGE, BENCH_SERAC_ARGS, BENCH_PG_TCP (see
# bench/bench.py); BENCH_OUT for the scratch directory (default /tmp/serac-bench, emptied first);
# SERAC_BIN to benchmark a serac binary built elsewhere instead of building build-release;
# BENCH_SERAC_COMMIT=<rev> to build that commit (git archive into the scratch directory, so
# uncommitted changes in the work tree stay out) instead of the work tree.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
export BENCH_OUT=${BENCH_OUT:-/tmp/serac-bench}

scripts/install-deps.sh
bash bench/setup.sh "$BENCH_OUT"
# shellcheck source=/dev/null
. "$BENCH_OUT/env.sh"

if [ -n "${BENCH_SERAC_COMMIT:-}" ]; then
    rev=$(git rev-parse --short "$BENCH_SERAC_COMMIT")
    src="$BENCH_OUT/serac-src-$rev"
    if [ ! -x "$src/build-release/serac" ]; then
        rm -rf "$src" && mkdir -p "$src"
        git archive "$rev" | tar -x -C "$src"
        cmake -S "$src" -B "$src/build-release" -DCMAKE_BUILD_TYPE=Release -DSERAC_TESTS=OFF >/dev/null
        cmake --build "$src/build-release" -j2
    fi
    export SERAC_BIN="$src/build-release/serac"
    export SERAC_VERSION="commit $(git log -1 --format='%h %cd' --date=short "$rev")"
elif [ -z "${SERAC_BIN:-}" ]; then
    cmake -S "$ROOT" -B "$ROOT/build-release" -DCMAKE_BUILD_TYPE=Release -DSERAC_TESTS=OFF >/dev/null
    cmake --build "$ROOT/build-release" -j2
    export SERAC_BIN="$ROOT/build-release/serac"
fi

# 10,000 client connections and as many on the server: each process needs > 10,000 descriptors.
hard=$(ulimit -Hn)
if [ "$hard" = unlimited ] || [ "$hard" -ge 65536 ]; then ulimit -n 65536; else ulimit -n "$hard"; fi
if [ "$(ulimit -n)" -lt 10240 ]; then
    echo "bench: open files limit $(ulimit -n) is below 10,240: the 10,000-connection run will fail" >&2
fi

# leftovers of an earlier run (its data, logs and PostgreSQL) go first
for d in "$BENCH_OUT"/serac-pg.*; do
    [ -d "$d" ] && scripts/pg-test-server.sh stop "$d" || true
done
find "$BENCH_OUT" -mindepth 1 -maxdepth 1 ! -name loadgen ! -name reference.classpath ! -name env.sh \
    ! -name 'serac-src-*' -exec rm -rf {} +

exec python3 bench/bench.py
