"""A newcomer's first answer: a fresh Jupyter kernel, `%load_ext llmos_jupyter`, then one `%%llmos` cell.

Each run starts a real kernel (jupyter_client + ipykernel, as JupyterLab does) with no API key, so the
request is one a user without a key gets at zero tokens (a starter skill). Rows:

- `new home`: the first kernel on a home that does not exist yet (the very first cell after set-up);
- `existing home`: a later kernel on the same home (every day after).

Columns: `%load_ext` (target ≤ 1 s), the first cell from execute to idle (target ≤ 10 s on a quiet 2-core
machine), and the mode it answered in. p50 and max over the runs.

    python benchmarks/first_request.py [--runs 5] [--request "Create a Bell state circuit"]
"""
from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

from jupyter_client.manager import start_new_kernel

KEYS = ("ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN", "OPENAI_API_KEY", "ANTHROPIC_BASE_URL", "OPENAI_BASE_URL")


def timed(client, code: str, timeout: float = 600) -> tuple[float, list[str]]:
    """Seconds from execute to the kernel's idle, and the text of what the cell showed."""
    started = time.perf_counter()
    msg_id = client.execute(code)
    shown: list[str] = []
    while True:
        msg = client.get_iopub_msg(timeout=timeout)
        if msg["parent_header"].get("msg_id") != msg_id:
            continue
        kind, content = msg["msg_type"], msg["content"]
        if kind == "stream":
            shown.append(content["text"])
        elif kind in ("display_data", "execute_result", "update_display_data"):
            shown.append(content["data"].get("text/plain", ""))
        elif kind == "error":
            raise RuntimeError("\n".join(content["traceback"]))
        elif kind == "status" and content["execution_state"] == "idle":
            return time.perf_counter() - started, shown


def one_kernel(home: Path, request: str, cwd: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in KEYS}
    env.update(HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
    km, client = start_new_kernel(kernel_name="python3", env=env, cwd=str(cwd))
    try:
        load, _ = timed(client, "%load_ext llmos_jupyter")
        timed(client, f"%config LLMOS.home = {str(home)!r}")
        first, shown = timed(client, f"%%llmos\n{request}")
        mode = next((line.split(" · ")[0] for line in reversed(shown) if " · tokens in " in line), "?")
        return {"load_ext": load, "first": first, "mode": mode}
    finally:
        client.stop_channels()
        km.shutdown_kernel(now=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--request", default="Create a Bell state circuit")
    args = ap.parse_args()
    rows = {"new home": [], "existing home": []}
    with tempfile.TemporaryDirectory(prefix="llmos-first-") as tmp:
        tmp = Path(tmp)
        for i in range(args.runs):
            home = tmp / f"home{i}"
            rows["new home"].append(one_kernel(home, args.request, tmp))
            rows["existing home"].append(one_kernel(home, args.request, tmp))
            print(f"run {i + 1}/{args.runs}: " + ", ".join(
                f"{k} {v[-1]['first']:.1f} s ({v[-1]['mode']})" for k, v in rows.items()), flush=True)
    print(f"\nrequest: {args.request!r}; no API key; {args.runs} fresh kernels each\n")
    print("| home | %load_ext p50 s | first cell p50 s | first cell max s | modes |")
    print("|---|---:|---:|---:|---|")
    for name, runs in rows.items():
        loads, firsts = [r["load_ext"] for r in runs], [r["first"] for r in runs]
        modes = ", ".join(sorted({r["mode"] for r in runs}))
        print(f"| {name} | {statistics.median(loads):.2f} | {statistics.median(firsts):.1f} | {max(firsts):.1f} "
              f"| {modes} |")


if __name__ == "__main__":
    main()
