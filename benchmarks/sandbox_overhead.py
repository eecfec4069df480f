"""What running a program in the sandboxed worker costs over running it in the kernel.

What it measures
    in-process   `run_code(code, namespace)` in this process (what `execution = "kernel"` does);
    worker       `Sandbox.run(code)` on a warm worker: the request over the pipe, run_code in the worker,
                 names and values converted (QPY, .npy, JSON) and sent back, decoded here.
    Programs: a replay-sized Bell run (2 qubits, 1,024 shots, counts as the last value), the same Bell run
    also returning its circuit (QPY both ways), a 12-qubit statevector coming back as an array (64 KiB),
    and a no-op (`1 + 1`: the protocol alone). Each is run `--runs` times after `--warm` unmeasured runs,
    the two modes alternating; p50/p95 per mode and the added p50 (worker - in-process) are printed.
    Worker start: the time from Sandbox() to ready (confinement, preloading Qiskit/Aer/numpy, a warm-up
    circuit), over `--starts` fresh workers, and the first run after start.

    Process per run (issue #23): every program runs in a child forked from the worker's warm template. A
    session's program runs in that session's own child, kept between runs; a clean run (a verified replay, a
    tool check) gets a new child from the template (a spare is forked ahead, between requests), which ends
    with its reply. The Bell run in the session's child and as a clean run, alternating: the difference is
    what a clean process costs a replay.

    python benchmarks/sandbox_overhead.py [--runs N] [--warm N] [--starts N]

Target: <= 20 ms added at p50 for the replay-sized Bell run. A missed target is printed, not an error.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from llmos_jupyter.sandbox import Sandbox  # noqa: E402
from llmos_jupyter.tools.qiskit_exec import run_code  # noqa: E402

BELL = """\
from qiskit import QuantumCircuit, transpile
from qiskit_aer import AerSimulator

qc = QuantumCircuit(2)
qc.h(0)
qc.cx(0, 1)
qc.measure_all()
sim = AerSimulator()
counts = sim.run(transpile(qc, sim), shots=1024).result().get_counts()
"""
PROGRAMS = {
    "bell (replay-sized)": BELL + "counts\n",
    "bell + circuit back": BELL + "qc\n",
    "12-qubit statevector": ("from qiskit import QuantumCircuit\nfrom qiskit.quantum_info import Statevector\n"
                             "qc = QuantumCircuit(12)\nqc.h(range(12))\nstate = Statevector(qc).data\n"),
    "no-op": "1 + 1\n",
}
TARGET_MS = 20.0


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def timed(fns, runs: int, warm: int) -> list[list[float]]:
    """Each function's samples, the functions alternating run by run, so that a busy neighbour on a shared
    machine slows both modes alike instead of whichever happened to be running."""
    for _ in range(warm):
        for fn in fns:
            fn()
    out: list[list[float]] = [[] for _ in fns]
    for index in range(runs):
        order = list(enumerate(fns))
        if index % 2:
            order.reverse()
        for slot, fn in order:
            started = time.perf_counter()
            fn()
            out[slot].append((time.perf_counter() - started) * 1000)
    return out


CROSSING = """
from qiskit import QuantumCircuit
class Point:
    def __init__(self, x):
        self.x = x
    def norm2(self):
        return self.x * self.x
p = Point(3)
def apply(oracle):
    qc = QuantumCircuit(2)
    oracle(qc)
    return qc.size()
"""


def _oracle(qc):
    qc.cx(0, 1)


def _crossings(box: Sandbox, runs: int, warm: int) -> list[tuple[str, list[float]]]:
    """A method call on a proxy (two requests: the bound method by handle, then its call) and a kernel
    function passed to a worker function (shipped as source, then called there)."""
    ns = box.run(CROSSING, session="crossing").namespace
    point, apply = ns["p"], ns["apply"]
    method, shipped = timed([lambda: point.norm2(), lambda: apply(_oracle)], runs, warm)
    return [("proxy method call (p.norm2())", method), ("kernel function passed in (apply(oracle))", shipped)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=60)
    parser.add_argument("--warm", type=int, default=5)
    parser.add_argument("--starts", type=int, default=3)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="llmos-bench-") as root:
        outputs = Path(root) / "llmos-outputs"
        rows = []
        with Sandbox(outputs=outputs) as box:
            box.pid  # started and ready before anything is timed
            for name, code in PROGRAMS.items():
                def in_kernel(code=code):
                    e = run_code(code, {})
                    assert e.error is None, e.error

                def in_worker(code=code):
                    r = box.run(code, session="bench")
                    assert r.error is None, r.error

                kernel, worker = timed([in_kernel, in_worker], args.runs, args.warm)
                rows.append((name, kernel, worker))
            crossings = _crossings(box, args.runs, args.warm)
            bell = PROGRAMS["bell (replay-sized)"]
            template, forked = timed([lambda: box.run(bell, session="bench"), lambda: box.run(bell, clean=True)],
                                     args.runs, args.warm)
            protections = box.protections

        starts, firsts = [], []
        for _ in range(args.starts):
            started = time.perf_counter()
            with Sandbox(outputs=outputs) as fresh:
                fresh.pid
                starts.append((time.perf_counter() - started) * 1000)
                started = time.perf_counter()
                fresh.run(PROGRAMS["bell (replay-sized)"])
                firsts.append((time.perf_counter() - started) * 1000)

    load = ", ".join(f"{x:.1f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "unknown"
    print(f"## Sandbox overhead ({args.runs} runs each, alternating, after {args.warm} warm-up runs; "
          f"{os.cpu_count()} CPUs, load average {load})\n")
    print("| program | in-process p50 | in-process p95 | worker p50 | worker p95 | added p50 |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, kernel, worker in rows:
        added = statistics.median(worker) - statistics.median(kernel)
        print(f"| {name} | {statistics.median(kernel):.1f} ms | {percentile(kernel, 0.95):.1f} ms | "
              f"{statistics.median(worker):.1f} ms | {percentile(worker, 0.95):.1f} ms | {added:+.1f} ms |")
    print(f"\n## Crossing the boundary by handle and by source ({args.runs} runs each)\n")
    print("| crossing | p50 | p95 |")
    print("|---|---:|---:|")
    for name, samples in crossings:
        print(f"| {name} | {statistics.median(samples):.2f} ms | {percentile(samples, 0.95):.2f} ms |")
    print(f"\n## Process per run: the Bell run in its session's process and in a clean one ({args.runs} runs)\n")
    print("| | p50 | p95 |")
    print("|---|---:|---:|")
    print(f"| in the session's own process (kept) | {statistics.median(template):.1f} ms | {percentile(template, 0.95):.1f} ms |")
    print(f"| in a clean process (a replay) | {statistics.median(forked):.1f} ms | {percentile(forked, 0.95):.1f} ms |")
    print(f"| added by the clean process, p50 | {statistics.median(forked) - statistics.median(template):+.1f} ms | |")
    print(f"\n## Worker start ({args.starts} fresh workers)\n")
    print("| | p50 | max |")
    print("|---|---:|---:|")
    print(f"| Sandbox() to ready (confine, preload, warm-up circuit) | {statistics.median(starts):.0f} ms | "
          f"{max(starts):.0f} ms |")
    print(f"| first Bell run after ready | {statistics.median(firsts):.1f} ms | {max(firsts):.1f} ms |")
    in_force = {k: v for k, v in protections.items() if k in ("network", "filesystem", "syscalls", "capabilities",
                                                              "no_new_privs", "audit_hook")}
    print(f"\nProtections in force: {in_force}")
    bell = next(r for r in rows if r[0].startswith("bell (replay"))
    added = statistics.median(bell[2]) - statistics.median(bell[1])
    verdict = "met" if added <= TARGET_MS else "MISSED"
    print(f"\nTarget (<= {TARGET_MS:g} ms added at p50 for the replay-sized Bell run): {verdict} ({added:+.1f} ms).")


if __name__ == "__main__":
    main()
