"""End-to-end latency of `LLMOS.run` per mode, and the part of it beyond the simulation itself.

What it measures
    For each mode, >= 30 requests (default 60; --quick 30) through `LLMOS.run` on CPU, starter skills
    off, against the scripted Qiskit "LLM" on a local ScriptedLLMServer (official openai SDK over
    HTTP, no streaming). Per run: `r.execution_time_ms` (total) and, "beyond the simulation",
    total - `r.timings["execute"]` (dispatch, LLM call, verification, learning, ledger and history
    writes). Only runs that actually came back in the intended mode are counted; the mode mix is printed.

    CRYSTALLIZED  default engine: a GHZ trace is learned from 3 and 4 qubits (LEARNER, MIXED), replayed
                  until it has 5 verified uses and becomes a tool, then GHZ requests with 2..8 qubits and
                  varied shot counts call the tool.
    FOLLOWER      the same, in an engine with crystallize_uses so high that the trace never becomes a
                  tool: every request replays the stored program.
    MIXED         an engine with a follower threshold of 2.0 (no replay is ever close enough), asked for
                  basis states with a new bitstring each time: the LLM is asked with the nearest trace as
                  a worked example.
    LEARNER       an engine with follower and mixed thresholds of 2.0 (out of reach even after the
                  sentience layer shifts them), so nothing in memory is close enough: every request
                  (GHZ, W, Bernstein-Vazirani, Deutsch-Jozsa, ...) searches the memory and then asks
                  the LLM with the full LEARNER prompt (facts and found tools). Its traces still learn
                  and crystallize, so a few runs include writing and verifying a tool (counted apart).

    Warm-up runs (model loading, first Aer import) are made first and not counted.

    python benchmarks/mode_latency.py [--quick] [--runs N]

Targets: CRYSTALLIZED < 50 ms and FOLLOWER < 100 ms beyond the simulation (p50). A missed target is
printed, not an error.
"""
from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from llmos_jupyter import LLMOS, Mode  # noqa: E402
from llmos_jupyter.events import Crystallized  # noqa: E402
from llmos_jupyter.testing import ScriptedLLMServer  # noqa: E402
from llmos_jupyter.testing.qiskit_model import MODEL_NAME, respond  # noqa: E402

TARGETS = {"CRYSTALLIZED": 50.0, "FOLLOWER": 100.0}
WORDS = "zero one two three four five six seven eight nine".split()


def engine(srv: ScriptedLLMServer, home: Path, **kw) -> LLMOS:
    return LLMOS(home=home, provider="openai", model=MODEL_NAME, base_url=srv.openai_base_url, api_key="x",
                 starter_skills=False, stream=False, max_retries=0, **kw)


def ghz_requests(rng: random.Random, runs: int) -> list[str]:
    out = []
    for _ in range(runs):
        n = rng.randint(2, 8)
        count = WORDS[n] if rng.random() < 0.3 else str(n)
        shots = rng.choice(["", "", ", 500 shots", " with 2048 shots", " and run 100 shots"])
        out.append(rng.choice(["Create a GHZ state with {c} qubits", "Make a GHZ state on {c} qubits",
                               "Prepare a cat state on {c} qubits"]).format(c=count) + shots)
    return out


def learner_requests(rng: random.Random, runs: int) -> list[str]:
    forms = ["Create a GHZ state with {n} qubits", "Prepare a W state on {n} qubits",
             "Run BV with secret {b}", "Run Deutsch-Jozsa with a constant oracle on {n} qubits",
             "Deutsch-Jozsa algorithm with a balanced function on {n} qubits",
             "Put {n} qubits in an equal superposition", "Prepare the basis state |{b}>", "Create a Bell state circuit"]
    return [rng.choice(forms).format(n=rng.randint(2, 8), b="".join(rng.choice("01") for _ in range(rng.randint(3, 6))))
            for _ in range(runs)]


def bitstrings(rng: random.Random, count: int) -> list[str]:
    seen: list[str] = []
    while len(seen) < count:
        b = "".join(rng.choice("01") for _ in range(rng.randint(3, 8)))
        if b not in seen:
            seen.append(b)
    return seen


def collect(llmos: LLMOS, texts: list[str], want: Mode, samples: list, mix: Counter) -> None:
    crystallized: list[object] = []
    llmos.events.subscribe(crystallized.append, Crystallized)
    for text in texts:
        crystallized.clear()
        r = llmos.run(text)
        mix[(str(want), str(r.mode))] += 1
        if r.mode == want and not r.error and r.counts:
            total = r.execution_time_ms
            t = r.timings
            samples.append({"total": total, "beyond": total - t.get("execute", 0.0),
                            "dispatch": t.get("dispatch", 0.0), "llm": t.get("llm", 0.0),
                            "execute": t.get("execute", 0.0),
                            "other": total - sum(t.get(k, 0.0) for k in ("dispatch", "llm", "execute")),
                            "crystallized": bool(crystallized)})


def pct(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(round(q / 100 * (len(s) - 1))))]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="30 runs per mode")
    ap.add_argument("--runs", type=int, help="runs per mode (default 60; 30 with --quick)")
    ap.add_argument("--seed", type=int, default=5)
    args = ap.parse_args()
    runs = args.runs or (30 if args.quick else 60)
    rng = random.Random(args.seed)
    samples: dict[str, list] = {m: [] for m in ("CRYSTALLIZED", "FOLLOWER", "MIXED", "LEARNER")}
    mix: Counter = Counter()
    started = time.perf_counter()
    load_before = " / ".join(f"{x:.2f}" for x in os.getloadavg())

    with ScriptedLLMServer() as srv, tempfile.TemporaryDirectory(prefix="llmos-latency-") as tmp:
        srv.responder = respond
        tmp = Path(tmp)

        # Warm-up (not counted): the embedding model, Aer, the SDK, tiktoken.
        warm = engine(srv, tmp / "warm")
        for text in ("Create a GHZ state with 3 qubits", "Create a GHZ state with 3 qubits",
                     "Prepare the basis state |101>", "Prepare the basis state |110>"):
            warm.run(text)
        warm.close()

        # CRYSTALLIZED
        llmos = engine(srv, tmp / "crystallized")
        for text in ["Create a GHZ state with 3 qubits", "Create a GHZ state with 4 qubits"] + \
                ["Create a GHZ state with 5 qubits"] * 4:
            llmos.run(text)
        collect(llmos, ghz_requests(rng, runs), Mode.CRYSTALLIZED, samples["CRYSTALLIZED"], mix)
        llmos.close()
        print("  … CRYSTALLIZED measured", file=sys.stderr, flush=True)

        # FOLLOWER
        llmos = engine(srv, tmp / "follower", crystallize_uses=10 ** 9)
        for text in ("Create a GHZ state with 3 qubits", "Create a GHZ state with 4 qubits"):
            llmos.run(text)
        collect(llmos, ghz_requests(rng, runs), Mode.FOLLOWER, samples["FOLLOWER"], mix)
        llmos.close()
        print("  … FOLLOWER measured", file=sys.stderr, flush=True)

        # MIXED
        llmos = engine(srv, tmp / "mixed", follower_threshold=2.0)
        bits = bitstrings(rng, runs + 1)
        llmos.run(f"Prepare the basis state |{bits[0]}>")
        collect(llmos, [f"Prepare the basis state |{b}>" for b in bits[1:]], Mode.MIXED, samples["MIXED"], mix)
        llmos.close()
        print("  … MIXED measured", file=sys.stderr, flush=True)

        # LEARNER
        llmos = engine(srv, tmp / "learner", follower_threshold=2.0, mixed_threshold=2.0)
        collect(llmos, learner_requests(rng, runs), Mode.LEARNER, samples["LEARNER"], mix)
        llmos.close()
        print("  … LEARNER measured", file=sys.stderr, flush=True)

    print(f"## Latency per mode: {runs} requests per mode, CPU, scripted model on a local HTTP server "
          f"(openai SDK, no streaming); {time.perf_counter() - started:.0f} s in all\n")
    print(f"Machine: {os.cpu_count()} CPUs; load average {load_before} before, "
          f"{' / '.join(f'{x:.2f}' for x in os.getloadavg())} after (other work on the machine inflates these "
          "timings).\n")
    print("| mode | runs | total p50 ms | total p95 ms | beyond simulation p50 ms | beyond simulation p95 ms "
          "| target (beyond, p50) |")
    print("|---|---:|---:|---:|---:|---:|---|")
    for mode, rows in samples.items():
        if not rows:
            print(f"| {mode} | 0 | – | – | – | – | no run came back in this mode |")
            continue
        total = [r["total"] for r in rows]
        beyond = [r["beyond"] for r in rows]
        target = TARGETS.get(mode)
        verdict = (f"< {target:.0f} ms: {'met' if pct(beyond, 50) < target else 'NOT met'}" if target else "–")
        print(f"| {mode} | {len(rows)} | {pct(total, 50):.1f} | {pct(total, 95):.1f} | {pct(beyond, 50):.1f} | "
              f"{pct(beyond, 95):.1f} | {verdict} |")

    print("\n### Phases (p50 ms; `other` = total minus dispatch, llm and execute: verification, learning, "
          "crystallization, ledger and history writes)\n")
    print("| mode | dispatch | llm | execute (simulation) | other | runs that crystallized a tool "
          "| beyond simulation p95 without them |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for mode, rows in samples.items():
        if rows:
            cells = [f"{statistics.median(r[k] for r in rows):.1f}" for k in ("dispatch", "llm", "execute", "other")]
            plain = [r["beyond"] for r in rows if not r["crystallized"]]
            cells += [str(sum(r["crystallized"] for r in rows)), f"{pct(plain, 95):.1f}" if plain else "–"]
            print(f"| {mode} | " + " | ".join(cells) + " |")

    print("\n### Modes the measured requests came back in\n")
    print("| intended | actual | runs |")
    print("|---|---|---:|")
    for (want, got), count in sorted(mix.items()):
        print(f"| {want} | {got} | {count} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
