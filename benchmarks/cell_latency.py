"""What a `%%llmos` cell costs in a real IPython shell, from the cell run to its outputs made, for replays.

What it measures
    A real `IPython.core.interactiveshell.InteractiveShell` with `%load_ext llmos_jupyter`, starter skills off,
    against the scripted Qiskit "LLM" on a local ScriptedLLMServer (official openai SDK over HTTP, no streaming);
    programs run in the sandboxed worker (the default). Each cell is `ip.run_cell_magic("llmos", "", text)` under
    IPython's `capture_output`, which takes every display the cell makes as a notebook front end would receive it:
    the time covers the request and building the cell's outputs (code, printed output, the plotly histogram, the
    metadata line), not a browser drawing them.

    CRYSTALLIZED  a GHZ trace is taught (3 and 4 qubits, then 5 qubits until it has 5 verified uses and becomes a
                  tool), then GHZ cells with 2..8 qubits at 1,024 shots, then 12 and 20 qubits.
    FOLLOWER      the same with `%config LLMOS.crystallize_uses = 1000000000`: every cell replays the program.

    Only cells whose result (`_llmos`) came back in the intended mode are counted.

    python benchmarks/cell_latency.py [--runs N]   (default 40 per row)

No target of its own: the table puts the cell beside the `LLMOS.run` inside it, so what building the outputs adds
reads off directly (benchmarks/mode_latency.py holds the <= 25 ms target for `LLMOS.run`).
"""
from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from llmos_jupyter import Mode  # noqa: E402
from llmos_jupyter.testing import ScriptedLLMServer  # noqa: E402
from llmos_jupyter.testing.qiskit_model import respond  # noqa: E402
from mode_latency import ghz_requests, pct  # noqa: E402 - the same requests and percentiles as the engine-level table


def main() -> int:
    from IPython.core.interactiveshell import InteractiveShell
    from IPython.utils.capture import capture_output

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=40)
    ap.add_argument("--seed", type=int, default=5)
    ap.add_argument("--pause", type=float, default=0.25,
                    help="seconds between cells, not counted (0: back to back; see mode_latency.py --pause)")
    args = ap.parse_args()
    rng = random.Random(args.seed)
    rows: dict[str, list[tuple[float, float, int]]] = {}
    load_before = " / ".join(f"{x:.2f}" for x in os.getloadavg())

    def cell(ip, text: str):
        time.sleep(args.pause)  # not counted: the gap between a user's cells
        started = time.perf_counter()
        with capture_output() as captured:
            ip.run_cell_magic("llmos", "", text)
        return (time.perf_counter() - started) * 1000, ip.user_ns.get("_llmos"), len(captured.outputs)

    with ScriptedLLMServer() as srv, tempfile.TemporaryDirectory(prefix="llmos-cells-") as tmp:
        srv.responder = respond
        ip = InteractiveShell.instance()
        ip.run_line_magic("load_ext", "llmos_jupyter")
        for line in ("LLMOS.provider = 'openai'", f"LLMOS.base_url = {srv.openai_base_url!r}", "LLMOS.max_retries = 0",
                     "LLMOS.starter_skills = False", "LLMOS.stream = False"):
            ip.run_line_magic("config", line)
        for mode, uses in ((Mode.CRYSTALLIZED, 5), (Mode.FOLLOWER, 10 ** 9)):
            ip.run_line_magic("config", f"LLMOS.home = {str(Path(tmp) / str(mode).lower())!r}")
            ip.run_line_magic("config", f"LLMOS.crystallize_uses = {uses}")
            for text in ["Create a GHZ state with 3 qubits", "Create a GHZ state with 4 qubits"] + \
                    ["Create a GHZ state with 5 qubits"] * 5:
                cell(ip, text)
            for label, sizes in (("2-8", tuple(range(2, 9))), ("12", (12,)), ("20", (20,))):
                for text in ghz_requests(rng, args.runs, sizes):
                    ms, result, outputs = cell(ip, text)
                    if result is not None and result.mode == mode and not result.error and result.counts:
                        rows.setdefault(f"{mode} {label} qubits", []).append((ms, result.execution_time_ms, outputs))
            print(f"  … {mode} measured", file=sys.stderr, flush=True)

    print(f"## `%%llmos` cells in a real IPython shell (outputs captured as a front end receives them), sandboxed "
          f"worker, CPU; {args.runs} cells per row, {args.pause:g} s between cells (not counted)\n")
    print(f"Machine: {os.cpu_count()} CPUs; load average {load_before} before, "
          f"{' / '.join(f'{x:.2f}' for x in os.getloadavg())} after.\n")
    print("| mode | cells | cell p50 ms | cell p95 ms | LLMOS.run inside p50 ms | outputs per cell |")
    print("|---|---:|---:|---:|---:|---:|")
    for row, values in rows.items():
        cells = [v[0] for v in values]
        inside = [v[1] for v in values]
        print(f"| {row} | {len(values)} | {pct(cells, 50):.1f} | {pct(cells, 95):.1f} | {pct(inside, 50):.1f} | "
              f"{pct([v[2] for v in values], 50)} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
