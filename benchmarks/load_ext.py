"""How long `%load_ext llmos_jupyter` takes in a fresh IPython, and what it imports.

Target: under a second. Each row is a fresh interpreter; IPython's own start-up is
measured apart and not counted.

    python benchmarks/load_ext.py [runs]
"""
import json
import statistics
import subprocess
import sys

PROBE = r"""
import json, sys, time
from IPython.core.interactiveshell import InteractiveShell
ip = InteractiveShell.instance()
t = time.perf_counter()
ip.run_line_magic("load_ext", "llmos_jupyter")
elapsed = time.perf_counter() - t
heavy = [m for m in ("qiskit", "qiskit_aer", "torch", "transformers", "sentence_transformers",
                     "anthropic", "openai", "plotly", "numpy") if m in sys.modules]
print(json.dumps({"seconds": elapsed, "heavy": heavy}))
"""


def main(runs: int = 5) -> None:
    rows = []
    for _ in range(runs):
        out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, check=True).stdout
        rows.append(json.loads(out.strip().splitlines()[-1]))
    times = [r["seconds"] * 1000 for r in rows]
    print("| runs | median ms | max ms | heavy modules imported |")
    print("|---:|---:|---:|---|")
    print(f"| {runs} | {statistics.median(times):.1f} | {max(times):.1f} | {sorted(set(sum((r['heavy'] for r in rows), []))) or 'none'} |")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 5)
