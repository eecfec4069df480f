"""A newcomer's first hour: help that is help, cells without library chatter, and scripts/lab.sh starting
JupyterLab without pop-ups or a refusal to run as root."""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from IPython.utils.capture import capture_output

ROOT = Path(__file__).resolve().parents[1]
# What libraries print while loading models: their progress bars and notes. None of it belongs in a cell.
CHATTER = ("Loading weights", "it/s]", "de-quantizing", "RLIMIT_NPROC", "Warning", "warn(")


@pytest.mark.parametrize("flag", ["--help", "-h", "help"])
def test_help_on_the_line_magic_prints_usage_and_asks_no_model(shell, server, flag):
    before = shell.user_ns.get("_llmos")  # another test's cell may have left one: it must stay as it was
    with capture_output() as cap:
        shell.run_line_magic("llmos", flag)
    assert "%%llmos [--provider NAME]" in cap.stdout and "%llmos status" in cap.stdout
    assert not server.requests and shell.user_ns.get("_llmos") is before


@pytest.mark.parametrize("flag", ["--help", "-h"])
def test_help_on_the_cell_magic_prints_usage_and_asks_no_model(shell, server, flag):
    with capture_output() as cap:
        shell.run_cell_magic("llmos", flag, "Create a Bell state circuit")
    assert "%%llmos [--provider NAME]" in cap.stdout
    assert not server.requests


def test_a_fresh_kernels_first_cell_shows_no_library_output(tmp_path):
    """A fresh interpreter (the models load for the first time there), no API key, starter skills on: the
    first cell loads the embedding model, starts the worker and replays a skill. Everything it printed,
    stdout and stderr, is ours: the answer, and no bars, load notes or notices that change nothing."""
    probe = (
        "from IPython.core.interactiveshell import InteractiveShell\n"
        "ip = InteractiveShell.instance()\n"
        "ip.run_line_magic('load_ext', 'llmos_jupyter')\n"
        f"ip.run_line_magic('config', {'LLMOS.home = ' + repr(str(tmp_path / 'home'))!r})\n"
        "ip.run_cell_magic('llmos', '', 'Create a Bell state circuit')\n"
        "print('MODE', ip.user_ns['_llmos'].mode)\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.endswith(("_API_KEY", "_BASE_URL", "AUTH_TOKEN"))}
    env.update(HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env, cwd=tmp_path,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    assert "MODE FOLLOWER" in done.stdout or "MODE CRYSTALLIZED" in done.stdout
    said = done.stdout + done.stderr
    assert not [c for c in CHATTER if c in said], said
    assert done.stderr == ""


@pytest.mark.slow
def test_loading_the_local_model_prints_nothing():
    """The GGUF de-quantizing bars are transformers' own (tqdm drawn past its switch): held back too."""
    code = "from llmos_jupyter.localmodel.weights import load\ntokenizer, model = load()\nprint('loaded', type(model).__name__)"
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("loaded ") and done.stderr == "", done.stderr


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=5) as r:
        return json.loads(r.read())


def test_lab_script_starts_without_the_news_prompt_and_as_root(tmp_path):
    """scripts/lab.sh as a user runs it (as root too, as in containers): JupyterLab starts, and the settings
    the page reads say no news prompt and no update check, while the user's own settings folder stays as it was."""
    if not (ROOT / ".venv" / "bin" / "jupyter").exists():
        pytest.skip("no .venv with JupyterLab: run bash scripts/setup.sh")
    port = _free_port()
    user_settings = tmp_path / "user-settings"
    env = {**os.environ, "JUPYTER_CONFIG_DIR": str(tmp_path / "config"), "JUPYTER_RUNTIME_DIR": str(tmp_path / "rt"),
           "JUPYTERLAB_SETTINGS_DIR": str(user_settings), "JUPYTERLAB_WORKSPACES_DIR": str(tmp_path / "ws")}
    log = (tmp_path / "lab.log").open("w")
    proc = subprocess.Popen(["bash", str(ROOT / "scripts" / "lab.sh"), "--no-browser", f"--port={port}",
                             "--ServerApp.port_retries=0", "--IdentityProvider.token=", "--ServerApp.ip=127.0.0.1"],
                            env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            assert proc.poll() is None, (tmp_path / "lab.log").read_text()[-3000:]
            try:
                _get(f"{base}/api/status")
                break
            except OSError:
                assert time.monotonic() < deadline, "lab.sh did not start JupyterLab in 120 s"
                time.sleep(0.5)
        notification = _get(f"{base}/lab/api/settings/@jupyterlab/apputils-extension:notification")
        # The page reads the schema's defaults, which lab.sh's overrides set, under the user's own settings.
        defaults = {k: v.get("default") for k, v in notification["schema"]["properties"].items()}
        assert defaults["fetchNews"] == "false" and defaults["checkForUpdates"] is False
        assert notification["settings"] == {}
        assert _get(f"{base}/lab/api/news")["news"] == []
        assert not user_settings.exists() or not any(user_settings.rglob("*.jupyterlab-settings"))
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
        log.close()


def test_memory_listing_keeps_its_columns_in_line(shell):
    """Ids and rebind lists longer than any fixed width (the starter skills' own) still line up."""
    shell.run_line_magic("config", "LLMOS.starter_skills = True")  # their ids are longer than any fixed width
    with capture_output() as cap:
        shell.run_line_magic("llmos", "memory")
    header, *rows = cap.stdout.rstrip("\n").split("\n")
    assert len(rows) >= 13 and any(len(r.split()[0]) > 24 for r in rows)
    title_at = header.index("title / tool")
    for row in rows:  # every title starts under its header, right after the padding
        assert row[title_at - 2:title_at] == "  " and row[title_at] != " ", row
