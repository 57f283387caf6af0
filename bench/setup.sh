#!/usr/bin/env bash
# setup.sh - installs and prepares what the benchmark needs besides serac's own build packages
# (scripts/install-deps.sh). Idempotent: a second run installs nothing and reuses what it built.
#
#   bench/setup.sh OUT     prepares OUT (default /tmp/serac-bench) and writes OUT/env.sh:
#     LOADGEN_BIN         bench/loadgen built with Go
#     REF_CLASSPATH_FILE  the classpath of the Iceberg reference REST server (bench/ref-server)
#     NESSIE_JAR, NESSIE_JAVA  Nessie's runner jar and a Java >= 21 to run it, when one is
#                         installed (BENCH_NESSIE=0 skips Nessie); empty otherwise
#
# Debian packages: wrk (the HTTP load generator), golang-go when no Go is installed, maven and a
# JDK when missing. Maven artifacts come from Maven Central into ~/.m2 (pinned versions).
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
OUT=${1:-${BENCH_OUT:-/tmp/serac-bench}}
NESSIE_VERSION=0.99.0   # the newest nessie-quarkus runner jar published on Maven Central
mkdir -p "$OUT"

say() { echo "bench/setup: $*" >&2; }

SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
apt_install() {
    local missing=()
    for p in "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    say "installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

apt_install wrk util-linux procps
command -v go >/dev/null 2>&1 || [ -x /usr/local/go/bin/go ] || apt_install golang-go
command -v mvn >/dev/null 2>&1 || apt_install maven
command -v java >/dev/null 2>&1 || apt_install openjdk-17-jdk-headless
GO=$(command -v go || echo /usr/local/go/bin/go)

# the commit load generator
LOADGEN_BIN="$OUT/loadgen"
if [ ! -x "$LOADGEN_BIN" ] || [ -n "$(find "$HERE/loadgen" -newer "$LOADGEN_BIN" -name '*.go' -o -newer "$LOADGEN_BIN" -name go.mod)" ]; then
    say "building loadgen"
    (cd "$HERE/loadgen" && GOTOOLCHAIN=local GOFLAGS=-mod=mod "$GO" build -o "$LOADGEN_BIN" .)
fi

# the reference server's classpath (downloads the pinned jars once)
REF_CLASSPATH_FILE="$OUT/reference.classpath"
if [ ! -s "$REF_CLASSPATH_FILE" ] || [ "$HERE/ref-server/pom.xml" -nt "$REF_CLASSPATH_FILE" ]; then
    say "resolving the Iceberg reference server's jars (Maven)"
    mvn -B -q -f "$HERE/ref-server/pom.xml" dependency:build-classpath \
        -Dmdep.outputFile="$REF_CLASSPATH_FILE" -Dmdep.includeScope=runtime >&2
fi

# Nessie: its runner jar needs Java 21 or newer (class files of version 65)
NESSIE_JAR="" NESSIE_JAVA=""
if [ "${BENCH_NESSIE:-1}" = 1 ]; then
    for j in $(command -v java) /usr/lib/jvm/*/bin/java; do
        [ -x "$j" ] || continue
        major=$("$j" -version 2>&1 | sed -n 's/.*version "\([0-9]*\).*/\1/p' | head -1)
        if [ -n "$major" ] && [ "$major" -ge 21 ]; then NESSIE_JAVA=$j; break; fi
    done
    if [ -n "$NESSIE_JAVA" ]; then
        jar="$HOME/.m2/repository/org/projectnessie/nessie/nessie-quarkus/$NESSIE_VERSION/nessie-quarkus-$NESSIE_VERSION-runner.jar"
        if [ ! -s "$jar" ]; then
            say "fetching nessie-quarkus $NESSIE_VERSION (runner jar, about 245 MB)"
            mvn -B -q dependency:get -Dtransitive=false \
                -Dartifact="org.projectnessie.nessie:nessie-quarkus:$NESSIE_VERSION:jar:runner" >&2 || true
        fi
        [ -s "$jar" ] && NESSIE_JAR=$jar || NESSIE_JAVA=""
    else
        say "no Java 21 or newer: Nessie is skipped"
    fi
fi

cat >"$OUT/env.sh" <<ENV
export LOADGEN_BIN='$LOADGEN_BIN'
export REF_CLASSPATH_FILE='$REF_CLASSPATH_FILE'
export NESSIE_JAR='$NESSIE_JAR'
export NESSIE_JAVA='$NESSIE_JAVA'
ENV
say "ready ($OUT/env.sh)"
