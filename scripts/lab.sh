#!/usr/bin/env bash
# Set everything up, then open JupyterLab on the quickstart notebook. Works offline. Extra arguments go to
# `jupyter lab` (e.g. --port 8890 --no-browser).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
# No "receive Jupyter news?" pop-up over the notebook and no update check (both go to the internet). These
# are defaults for this .venv only (overrides.json): a setting of your own still wins.
overrides=.venv/share/jupyter/lab/settings/overrides.json
if [ ! -f "$overrides" ]; then
  mkdir -p "$(dirname "$overrides")"
  echo '{"@jupyterlab/apputils-extension:notification": {"fetchNews": "false", "checkForUpdates": false}}' > "$overrides"
fi
flags=(--LabApp.news_url=None --LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate)
# Jupyter refuses to start as root without this (containers, CI machines).
if [ "$(id -u)" -eq 0 ]; then flags+=(--allow-root); fi
exec .venv/bin/jupyter lab "${flags[@]}" notebooks/quickstart.ipynb "$@"
