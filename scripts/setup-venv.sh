#!/usr/bin/env bash
# Creates .venv at the repository root and installs tests/requirements.txt into it.
# Idempotent: .venv/.requirements.sha256 holds the hash of the requirements file that was
# installed; nothing is reinstalled until that file changes. Prints the venv path on success.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${SERAC_VENV:-$ROOT/.venv}"
REQ="$ROOT/tests/requirements.txt"
STAMP="$VENV/.requirements.sha256"
PYTHON="${PYTHON:-python3}"

want="$(sha256sum "$REQ" | cut -d' ' -f1)"
if [ -x "$VENV/bin/python" ] && [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want" ]; then
    echo "$VENV"
    exit 0
fi

if [ ! -x "$VENV/bin/python" ]; then
    echo "setup-venv: creating $VENV" >&2
    "$PYTHON" -m venv "$VENV"
fi
rm -f "$STAMP"
echo "setup-venv: installing $REQ" >&2
"$VENV/bin/python" -m pip install -q --disable-pip-version-check --upgrade pip >&2
"$VENV/bin/python" -m pip install -q --disable-pip-version-check -r "$REQ" >&2
echo "$want" > "$STAMP"
echo "$VENV"
