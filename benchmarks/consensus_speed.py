"""Speed of the consensus ground state: time per ensemble, and batched throughput CPU vs GPU.

Table 1: one ensemble at a time (weigh), against the seed's scipy proof of concept
(`minimize` SLSQP on s.D.s from the uniform start, distances included in both). The PoC solves a
different, simpler problem (no entropy, one start, no annealing): it is the baseline the issue names.
Table 2: weigh_batch throughput (ensembles per second) for B ensembles solved as one tensor, on the
CPU and, when --device cuda (or auto on a GPU machine), on the GPU too.

    python benchmarks/consensus_speed.py [--device cpu|cuda|auto] [--threads 1] [--repeats 3]
"""
from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from llmos_jupyter.consensus import ConsensusEngine
from llmos_jupyter.consensus.synthetic import ensemble


def seed_poc(E: np.ndarray) -> np.ndarray:
    from scipy.optimize import minimize

    D = 1.0 - E @ E.T
    n = len(E)
    r = minimize(lambda w: np.sum(w @ D @ w.T), x0=np.ones(n) / n, bounds=[(0, 1)] * n,
                 constraints={"type": "eq", "fun": lambda x: np.sum(x) - 1})
    return r.x


def batch(rng, b: int, n: int) -> np.ndarray:
    h = n // 2 + 1
    a = (n - h) // 2
    return np.stack([ensemble(rng, h, a, n - h - a).embeddings for _ in range(b)])


def timed(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--device", default="auto")
    ap.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--sizes", default="4,8,16,32,64")
    ap.add_argument("--batches", default=None, help="comma-separated B values (default: 1,16,64,256 on CPU, "
                                                    "up to 4096 on CUDA)")
    ap.add_argument("--batch-sizes", default="8,16,64", help="N values for the throughput table")
    ap.add_argument("--cpu-max-work", type=float, default=3e6,
                    help="skip CPU batch rows with B*N^2 above this (they take minutes on a small CPU)")
    args = ap.parse_args()
    import torch

    torch.set_num_threads(args.threads)
    device = ConsensusEngine(device=args.device).device
    devices = ["cpu"] + ([device] if device != "cpu" else [])
    engines = {d: ConsensusEngine(device=d, seed=0) for d in devices}
    rng = np.random.default_rng(0)
    gpu = torch.cuda.get_device_name(0) if device.startswith("cuda") else "none"
    print(f"torch {torch.__version__}, CPU threads {args.threads}, GPU: {gpu}; schedule "
          f"{engines['cpu'].schedule.steps} steps x {engines['cpu'].schedule.replicas} replicas\n")
    warm = batch(rng, 2, 8)
    seed_poc(warm[0])  # warm-up: scipy import, CUDA context, kernels, first-call overheads
    for eng in engines.values():
        eng.weigh_batch(warm)

    print("### One ensemble at a time (median of repeats)\n")
    columns = ["N", "seed PoC SLSQP ms"] + [f"weigh ms ({d})" for d in devices]
    print("| " + " | ".join(columns) + " |")
    print("|" + "---:|" * len(columns))
    for n in [int(x) for x in args.sizes.split(",")]:
        E = batch(rng, 1, n)[0]
        poc = timed(lambda: seed_poc(E), args.repeats) * 1000
        ours = [timed(lambda: engines[d].weigh(E), args.repeats) * 1000 for d in devices]
        print(f"| {n} | {poc:.1f} | " + " | ".join(f"{t:.1f}" for t in ours) + " |")

    default_b = "1,16,64,256" if device == "cpu" else "1,16,64,256,1024,4096"
    bs = [int(x) for x in (args.batches or default_b).split(",")]
    print("\n### Batched throughput: weigh_batch, ensembles per second (median of repeats)\n")
    columns = ["N", "B"] + [f"{d} ens/s" for d in devices] + (["GPU / CPU"] if len(devices) > 1 else [])
    print("| " + " | ".join(columns) + " |")
    print("|" + "---:|" * len(columns))
    for n in [int(x) for x in args.batch_sizes.split(",")]:
        for b in bs:
            X = batch(rng, b, n)
            rates = []
            for d in devices:
                if d == "cpu" and b * n * n > args.cpu_max_work:
                    rates.append(None)
                    continue
                rates.append(b / timed(lambda: engines[d].weigh_batch(X), args.repeats))
            cells = [str(n), str(b)] + ["-" if r is None else f"{r:,.1f}" for r in rates]
            if len(devices) > 1:
                cells.append("-" if rates[0] is None else f"{rates[1] / rates[0]:.1f}x")
            print("| " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
