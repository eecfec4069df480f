"""What a user waits for, per mode: `LLMOS.run` called to `Result` returned, in the sandboxed worker (the default).

What it measures
    For each mode, >= 30 requests (default 60; --quick 30) through `LLMOS.run` on CPU, starter skills off,
    against the scripted Qiskit "LLM" on a local ScriptedLLMServer (official openai SDK over HTTP, no
    streaming), programs run in the sandboxed worker. Per run: the wall time around `llmos.run(text)` (end to
    end), `r.timings["execute"]` (the worker's round trip: transpile, simulate, bring results back), and
    `r.timings["llm"]` (the model's own latency). Only runs that came back in the intended mode are counted;
    the mode mix is printed.

    CRYSTALLIZED  a GHZ trace is learned from 3 and 4 qubits (LEARNER, MIXED), replayed until it has 5 verified
                  uses and becomes a tool, then GHZ requests call the tool: 2..8 qubits at 1,024 shots (the
                  target row), then 12 and 20 qubits.
    FOLLOWER      the same, in an engine with crystallize_uses so high that the trace never becomes a tool:
                  every request replays the stored program.
    MIXED         a follower threshold of 2.0 (no replay is ever close enough), basis states with a new
                  bitstring each time: the LLM is asked with the nearest trace as a worked example.
    LEARNER       follower and mixed thresholds of 2.0, so every request (GHZ, W, Bernstein-Vazirani, ...)
                  asks the LLM with the full LEARNER prompt. A few runs include writing and verifying a tool.

    Then the transpile cache the worker uses (llmos_jupyter/tools/transpile_cache.py) is checked against
    Qiskit's own transpile on the corpus of llmos_jupyter/testing/transpile_corpus.py: identical results with
    and without it, and the time of each.

    Warm-up runs (model loading, the worker's start) are made first and not counted.

    python benchmarks/mode_latency.py [--quick] [--runs N] [--no-corpus]

Target: CRYSTALLIZED and FOLLOWER <= 25 ms end to end (p50) for circuits up to 8 qubits and 1,024 shots. A
missed target is printed, not an error.
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

TARGET_MS = 25.0  # CRYSTALLIZED and FOLLOWER, end to end p50, up to 8 qubits and 1,024 shots
WORDS = "zero one two three four five six seven eight nine".split()


def engine(srv: ScriptedLLMServer, home: Path, **kw) -> LLMOS:
    return LLMOS(home=home, provider="openai", model=MODEL_NAME, base_url=srv.openai_base_url, api_key="x",
                 starter_skills=False, stream=False, max_retries=0, **kw)


def ghz_requests(rng: random.Random, runs: int, sizes: tuple[int, ...]) -> list[str]:
    out = []
    for _ in range(runs):
        n = rng.choice(sizes)
        count = WORDS[n] if n < len(WORDS) and rng.random() < 0.3 else str(n)
        out.append(rng.choice(["Create a GHZ state with {c} qubits", "Make a GHZ state on {c} qubits",
                               "Prepare a cat state on {c} qubits"]).format(c=count))
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


def collect(llmos: LLMOS, texts: list[str], want: Mode, row: str, samples: dict, mix: Counter) -> None:
    crystallized: list[object] = []
    llmos.events.subscribe(crystallized.append, Crystallized)
    for text in texts:
        crystallized.clear()
        time.sleep(PAUSE[0])  # not counted: the gap between a user's cells
        started = time.perf_counter()
        r = llmos.run(text)
        total = (time.perf_counter() - started) * 1000
        mix[(row, str(r.mode))] += 1
        if r.mode == want and not r.error and r.counts:
            t = r.timings
            samples.setdefault(row, []).append({
                "total": total, "execute": t.get("execute", 0.0), "llm": t.get("llm", 0.0),
                "dispatch": t.get("dispatch", 0.0), "beyond_run": total - t.get("execute", 0.0),
                "beyond_llm": total - t.get("llm", 0.0), "crystallized": bool(crystallized)})


PAUSE = [0.25]  # seconds between requests (--pause): the worker forks and warms its next clean process then


def pct(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(round(q / 100 * (len(s) - 1))))]


def replay_rows(srv, tmp: Path, rng: random.Random, runs: int, samples: dict, mix: Counter, mode: Mode, **kw) -> None:
    """GHZ replays in `mode`: 2..8 qubits (the target row), then 12 and 20 qubits, each with `runs` requests."""
    llmos = engine(srv, tmp / str(mode).lower(), **kw)
    teach = ["Create a GHZ state with 3 qubits", "Create a GHZ state with 4 qubits"]
    if mode == Mode.CRYSTALLIZED:
        teach += ["Create a GHZ state with 5 qubits"] * 4
    for text in teach:
        llmos.run(text)
    for label, sizes in (("2-8", tuple(range(2, 9))), ("12", (12,)), ("20", (20,))):
        collect(llmos, ghz_requests(rng, runs, sizes), mode, f"{mode} {label} qubits", samples, mix)
    llmos.close()
    print(f"  … {mode} measured", file=sys.stderr, flush=True)


def corpus_check() -> list[str]:
    """Identical results with and without the worker's transpile cache on the corpus, and the time of each."""
    import qiskit

    from llmos_jupyter.testing import transpile_corpus
    from llmos_jupyter.tools import transpile_cache

    plain = qiskit.compiler.transpiler.transpile
    lines = ["| calls | circuits x calls | identical | Qiskit's transpile p50 ms | with the cache p50 ms |",
             "|---|---:|---:|---:|---:|"]
    corpus = transpile_corpus.circuits()
    with transpile_cache.installed():
        for kept, ways in (("kept (plain AerSimulator: default, backend=, levels 0/1/3, a method, an option)",
                            transpile_corpus.KEPT),
                           ("passed through (seed, coupling map, basis gates, noise, from_backend, a device, a list, "
                            "no backend)", tuple(w for w in transpile_corpus.calls() if w not in transpile_corpus.KEPT))):
            transpile_cache.clear()
            different = transpile_corpus.compare(plain, qiskit.transpile, ways=ways)
            pairs = sum(1 for w in ways for n, qc in corpus.items()
                        if not (w in ("device", "from_backend", "coupling map") and qc.num_qubits > 12))
            timed = {"plain": [], "cached": []}
            calls = transpile_corpus.calls()
            for way in ways:
                for name in ("ghz4", "ghz8", "rotations"):
                    for which, function in (("plain", plain), ("cached", qiskit.transpile)):
                        started = time.perf_counter()
                        try:
                            calls[way](function, corpus[name])
                        except Exception:  # noqa: BLE001 - a call Qiskit refuses is refused by both
                            pass
                        timed[which].append((time.perf_counter() - started) * 1000)
            lines.append(f"| {kept} | {pairs} | {pairs - len(different)} | {statistics.median(timed['plain']):.1f} | "
                         f"{statistics.median(timed['cached']):.1f} |")
            lines += [f"| differs: {d} | | | | |" for d in different]
    return lines


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="30 runs per row")
    ap.add_argument("--runs", type=int, help="runs per row (default 60; 30 with --quick)")
    ap.add_argument("--seed", type=int, default=5)
    ap.add_argument("--no-corpus", action="store_true", help="skip the transpile corpus check")
    ap.add_argument("--pause", type=float, default=0.25,
                    help="seconds between requests, not counted (default 0.25, as between a user's cells; 0: "
                         "back to back, so each replay also waits for the clean process forked after the last)")
    args = ap.parse_args()
    PAUSE[0] = max(0.0, args.pause)
    runs = args.runs or (30 if args.quick else 60)
    rng = random.Random(args.seed)
    samples: dict[str, list] = {}
    mix: Counter = Counter()
    started = time.perf_counter()
    load_before = " / ".join(f"{x:.2f}" for x in os.getloadavg())

    with ScriptedLLMServer() as srv, tempfile.TemporaryDirectory(prefix="llmos-latency-") as tmp:
        srv.responder = respond
        tmp = Path(tmp)

        # Warm-up (not counted): the embedding model, the worker, the SDK, tiktoken.
        warm = engine(srv, tmp / "warm")
        for text in ("Create a GHZ state with 3 qubits", "Create a GHZ state with 3 qubits",
                     "Prepare the basis state |101>", "Prepare the basis state |110>"):
            warm.run(text)
        warm.close()

        replay_rows(srv, tmp, rng, runs, samples, mix, Mode.CRYSTALLIZED)
        replay_rows(srv, tmp, rng, runs, samples, mix, Mode.FOLLOWER, crystallize_uses=10 ** 9)

        llmos = engine(srv, tmp / "mixed", follower_threshold=2.0)
        bits = bitstrings(rng, runs + 1)
        llmos.run(f"Prepare the basis state |{bits[0]}>")
        collect(llmos, [f"Prepare the basis state |{b}>" for b in bits[1:]], Mode.MIXED, "MIXED", samples, mix)
        llmos.close()
        print("  … MIXED measured", file=sys.stderr, flush=True)

        llmos = engine(srv, tmp / "learner", follower_threshold=2.0, mixed_threshold=2.0)
        collect(llmos, learner_requests(rng, runs), Mode.LEARNER, "LEARNER", samples, mix)
        llmos.close()
        print("  … LEARNER measured", file=sys.stderr, flush=True)

    print(f"## What the user waits for, per mode: `LLMOS.run` called to `Result` returned, sandboxed worker, CPU; "
          f"{runs} requests per row, {PAUSE[0]:g} s between requests (not counted), scripted model on a local HTTP "
          f"server (openai SDK, no streaming); {time.perf_counter() - started:.0f} s in all\n")
    print(f"Machine: {os.cpu_count()} CPUs; load average {load_before} before, "
          f"{' / '.join(f'{x:.2f}' for x in os.getloadavg())} after (other work on the machine inflates these "
          "timings).\n")
    print("| mode | runs | end to end p50 ms | end to end p95 ms | beyond the run p50 ms | beyond the model p50 ms "
          "| beyond the model p95 ms | target (end to end, p50) |")
    print("|---|---:|---:|---:|---:|---:|---:|---|")
    for row, rows in samples.items():
        total = [r["total"] for r in rows]
        beyond_run = [r["beyond_run"] for r in rows]
        beyond_llm = [r["beyond_llm"] for r in rows]
        target = "–"
        if row.endswith("2-8 qubits"):
            target = f"<= {TARGET_MS:.0f} ms: {'met' if pct(total, 50) <= TARGET_MS else 'NOT met'}"
        print(f"| {row} | {len(rows)} | {pct(total, 50):.1f} | {pct(total, 95):.1f} | {pct(beyond_run, 50):.1f} | "
              f"{pct(beyond_llm, 50):.1f} | {pct(beyond_llm, 95):.1f} | {target} |")

    print("\n### Phases (p50 ms; `execute` is the worker's round trip: transpile, simulate, results back; `other` = "
          "end to end minus dispatch, llm and execute: verification, learning, crystallization, ledger and history)\n")
    print("| mode | dispatch | llm | execute | other | runs that crystallized a tool |")
    print("|---|---:|---:|---:|---:|---:|")
    for row, rows in samples.items():
        cells = [f"{statistics.median(r[k] for r in rows):.1f}" for k in ("dispatch", "llm", "execute")]
        cells.append(f"{statistics.median(r['total'] - r['dispatch'] - r['llm'] - r['execute'] for r in rows):.1f}")
        cells.append(str(sum(r["crystallized"] for r in rows)))
        print(f"| {row} | " + " | ".join(cells) + " |")

    print("\n### Modes the measured requests came back in\n")
    print("| row | actual mode | runs |")
    print("|---|---|---:|")
    for (row, got), count in sorted(mix.items()):
        print(f"| {row} | {got} | {count} |")

    if not args.no_corpus:
        print("\n### The worker's transpile cache against Qiskit's own transpile (QPY bytes, name and layout of "
              "each result; each cached call made twice, a miss then a hit)\n")
        print("\n".join(corpus_check()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
