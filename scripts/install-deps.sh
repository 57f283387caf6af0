#!/usr/bin/env bash
# Installs the Debian 12 packages serac needs to build and test. Idempotent:
# does nothing when every package is already installed.
set -euo pipefail

PACKAGES=(
  build-essential cmake pkg-config git curl ca-certificates
  libmicrohttpd-dev libjansson-dev libsqlite3-dev zlib1g-dev libssl-dev libcurl4-openssl-dev
  libzstd-dev libpq-dev libcmocka-dev
  clang-14 libclang-rt-14-dev clang-format-14
  python3 python3-venv python3-pip
  postgresql sqlite3
  openjdk-17-jdk-headless maven
)
if [ "${SERAC_MINIMAL_DEPS:-0}" = 1 ]; then
  # Enough to build and run the server only.
  PACKAGES=(build-essential cmake pkg-config libmicrohttpd-dev libjansson-dev libsqlite3-dev
            zlib1g-dev libzstd-dev libpq-dev libssl-dev libcurl4-openssl-dev libcmocka-dev)
fi

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "install-deps: installing ${missing[*]}" >&2
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
