#!/usr/bin/env bash
# Set everything up, then open JupyterLab on the quickstart notebook. Works offline.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
exec .venv/bin/jupyter lab notebooks/quickstart.ipynb "$@"
