"""Dispatch overhead on CPU (normalize + embed + lookup + choose) with 1,000, 10,000 and 100,000 traces.

What it measures
    The engine's own dispatcher (`LLMOS(...).dispatcher`, with its thresholds and limits) on a home
    filled with synthetic traces, timing exactly what `LLMOS.run` counts as "dispatch":
    `normalize(text)` followed by `dispatcher.choose(normalized)`. Each size is measured over the
    same >= 200 varied requests (realistic requests with new slot values and wordings, some of them
    outside everything stored), twice:

    cold    the request's template has never been embedded: a fresh `Embedder` (same loaded model,
            empty cache) for every request, so the MiniLM forward pass is inside the timing;
    cached  the same requests again with a warm embedding cache (a repeat or a slot-value change).

    The breakdown (p50 per phase) comes from timing proxies around the dispatcher's collaborators:
    `embedder.one`, `traces.search` (the vectorized lookup), `traces.any` ("count") and `traces.get`; "bind"
    is the rest of `choose` (slot binding, decision). The last column times `TraceStore.add_alias` (what
    every verified LLM answer costs the store), with its embedding cached; the next two what another kernel's
    change costs this one: one alias added elsewhere (the index appends the rows it has not seen) and a full
    index load (what a deletion elsewhere, `forget`, costs). A third pass repeats the cold one with numpy's
    BLAS limited to one thread (threadpoolctl), because on a small CPU the BLAS threads of the lookup
    and torch's OpenMP threads of the embedding spin against each other.

How the stores are filled
    A grammar of ~30 circuit families x verbs x modifiers gives a few thousand distinct request
    templates; their keys are encoded once with the real model. Every synthetic trace takes one of
    those templates (1 alias, or 2 for every fifth trace) with its vector perturbed by Gaussian noise
    (sigma uniform in [0, 0.03] per dimension) and renormalized to a unit vector (cosine to the
    original from 1.0 down to about 0.87), so near neighbours are plentiful and the choose loop walks
    many candidates above the FOLLOWER threshold (trace reads and slot binding included). Rows go
    straight into the `traces` and `aliases` tables with executemany in one transaction per fill
    (TraceStore.add_many would run the model on every alias), and `memory_version` is bumped so the
    index reloads; the one-off index load after each fill is reported apart. Sizes are reached
    incrementally in one home.

    python benchmarks/dispatch_overhead.py [--quick] [--requests N] [--templates N] [--seed S]

Target: p50 <= 30 ms at 10,000 traces. A missed target is printed, not an error.
"""
from __future__ import annotations

import argparse
import os
import json
import random
import statistics
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from llmos_jupyter import LLMOS  # noqa: E402
from llmos_jupyter.text.normalize import normalize  # noqa: E402
from llmos_jupyter.memory.embed import Embedder  # noqa: E402
from llmos_jupyter.memory.templates import bindings_of  # noqa: E402
from llmos_jupyter.memory.traces import _COLUMNS, Trace, _trace_to_row  # noqa: E402

WORDS = "zero one two three four five six seven eight nine ten".split()
FAMILIES = [
    "Bell state", "GHZ state on {n} qubits", "W state on {n} qubits", "uniform superposition over {n} qubits",
    "basis state |{b}>", "QFT on {n} qubits", "inverse QFT of the state {b}", "Grover search for the marked state {b}",
    "Bernstein-Vazirani circuit with secret {b}", "Deutsch-Jozsa circuit with a balanced oracle on {n} qubits",
    "Deutsch-Jozsa circuit with a constant oracle on {n} qubits", "teleportation of |1> from Alice to Bob",
    "VQE ansatz with {k} layers on {n} qubits", "QAOA for maxcut on a {k}-node ring",
    "quantum phase estimation of a T gate with {n} counting qubits", "swap test between two single-qubit states",
    "random Clifford circuit on {n} qubits", "Toffoli truth table", "quantum half adder",
    "bit-flip error correction code on {n} data qubits", "Ising model time evolution on {n} qubits",
    "H2 ground state energy estimate with VQE", "Simon's algorithm with secret {b}",
    "quantum walk on a cycle of {k} nodes", "RealAmplitudes ansatz with {k} reps on {n} qubits",
    "EfficientSU2 circuit on {n} qubits", "statevector of a GHZ state on {n} qubits",
    "density matrix of a Bell state", "controlled rotation RY on {n} qubits", "phase flip code",
]
VERBS = ["Create a", "Prepare a", "Build a", "Make a", "Run a", "Simulate a", "Implement a", "Show a",
         "Write Qiskit code for a", "Give me a"]
MODIFIERS = ["", " and measure it", " with depolarizing noise", " with readout error",
             " on the statevector simulator", " and draw the circuit", " and plot a histogram",
             " transpiled for fake_brisbane", " with a barrier before measurement", " with mid-circuit measurement",
             " and compute the fidelity", " using the Sampler primitive", " with amplitude damping",
             " and report the circuit depth", " with {s} shots"]
NOVEL = [  # requests unlike anything stored
    "Explain decoherence in one paragraph", "What is the T1 time of a superconducting qubit?",
    "Solve a 2x2 linear system with HHL", "Factor 15 with Shor's algorithm", "Estimate the energy of LiH",
    "Benchmark randomized benchmarking on {n} qubits", "Compare two quantum kernels for a toy dataset",
    "Train a quantum neural network classifier on {k} samples", "Show the Bloch sphere of |+>",
    "Compute the von Neumann entropy of half of a {n}-qubit GHZ state",
]


def request(rng: random.Random, family: str | None = None) -> str:
    """A natural request with concrete slot values (digits or words)."""
    n = rng.randint(2, 9)
    values = {"n": WORDS[n] if rng.random() < 0.3 else str(n),
              "b": "".join(rng.choice("01") for _ in range(rng.randint(2, 7))),
              "k": str(rng.randint(2, 6)), "s": str(rng.choice([100, 500, 1000, 2048, 4096]))}
    family = family or rng.choice(FAMILIES)
    return (rng.choice(VERBS) + " " + family + rng.choice(MODIFIERS)).format(**values)


def distinct_templates(rng: random.Random, want: int) -> list[str]:
    """Up to `want` requests whose normalized keys are all different."""
    keys: dict[str, str] = {}
    combos = [(v, f, m) for v in VERBS for f in FAMILIES for m in MODIFIERS]
    rng.shuffle(combos)
    for verb, fam, mod in combos:
        text = (verb + " " + fam + mod).format(n=str(rng.randint(2, 9)), b="101", k="3", s="1000")
        key = normalize(text).key
        if key not in keys:
            keys[key] = text
        if len(keys) >= want:
            break
    return list(keys.values())


PROGRAM = """from qiskit import QuantumCircuit, transpile
from qiskit_aer import AerSimulator

n = {n}
qc = QuantumCircuit(n)
qc.h(0)
for q in range(n - 1):
    qc.cx(q, q + 1)
qc.measure_all()

sim = AerSimulator()
counts = sim.run(transpile(qc, sim), shots=SLOT_shots_0).result().get_counts()
print(counts)
"""


class Filler:
    """Writes synthetic traces and aliases straight into the store, in one transaction per call."""

    def __init__(self, llmos: LLMOS, embedder: Embedder, rng: random.Random, n_templates: int):
        self.llmos = llmos
        self.rng = rng
        self.np_rng = np.random.default_rng(rng.randint(0, 2 ** 31))
        texts = distinct_templates(rng, n_templates)
        self.norms = [normalize(t) for t in texts]
        t = time.perf_counter()
        self.vectors = embedder.encode([n.key for n in self.norms])
        self.encode_s = time.perf_counter() - t
        self.count = 0
        self.aliases = 0

    def _vector(self, i: int) -> np.ndarray:
        sigma = self.rng.uniform(0.0, 0.03)  # cosine to the template's own vector from 1.0 down to about 0.87
        v = self.vectors[i] + self.np_rng.normal(0, sigma, self.vectors.shape[1]).astype(np.float32)
        return (v / np.linalg.norm(v)).astype(np.float32)

    def fill(self, target: int) -> float:
        started = time.perf_counter()
        traces, aliases = [], []
        now = time.time()
        while self.count < target:
            i = self.rng.randrange(len(self.norms))
            n = self.norms[i]
            values = bindings_of(n.slots)
            values.setdefault("SLOT_shots_0", 1024)
            bound = tuple(sorted(values))
            tid = f"syn{self.count:07d}"
            trace = Trace(
                id=tid, origin="learner", title=n.text[:120], request=n.text, template=n.template,
                signature=n.signature, code=PROGRAM.format(n=self.rng.randint(2, 9)), bound=bound,
                shape=f"synthetic-{tid}",
                generalized=bound if self.rng.random() < 0.5 else ("SLOT_shots_0",),
                defaults={}, examples=[values], checks=("ghz_support",), baseline_tokens=450,
                uses=self.rng.randint(1, 9), tool_name=f"tool_{tid}" if self.rng.random() < 0.1 else None,
                created=now, updated=now)
            traces.append(_trace_to_row(trace))
            terms = json.dumps(sorted(n.terms))
            for a in range(2 if self.count % 5 == 0 else 1):
                j = i if a == 0 else self.rng.randrange(len(self.norms))
                aliases.append((tid, self.norms[j].key + ("" if a == 0 else f" ({tid})"),
                                terms if a == 0 else json.dumps(sorted(self.norms[j].terms)),
                                self._vector(j)))
            self.count += 1
        self.aliases += len(aliases)
        store = self.llmos.store
        with store.transaction() as cur:
            cur.executemany(f"INSERT INTO traces ({', '.join(_COLUMNS)}) VALUES ({', '.join('?' * len(_COLUMNS))})",
                            traces)
            cur.executemany("INSERT INTO aliases (trace_id, template, terms, embedding) VALUES (?,?,?,?)",
                            [(*a[:3], store.vector(a[3])) for a in aliases])
            cur.execute("UPDATE meta SET value = value + 1 WHERE key = 'memory_version'")
        return time.perf_counter() - started


class Timed:
    """A proxy that times calls to some methods of the object it wraps."""

    def __init__(self, target, names: tuple[str, ...]):
        self._target = target
        self._names = names
        self.spent: Counter = Counter()

    def __getattr__(self, name):
        attr = getattr(self._target, name)
        if name not in self._names:
            return attr

        def timed(*args, **kwargs):
            t = time.perf_counter()
            try:
                return attr(*args, **kwargs)
            finally:
                self.spent[name] += (time.perf_counter() - t) * 1000

        return timed


def add_alias_ms(llmos: LLMOS, filler: Filler, times: int = 5) -> list[float]:
    """What learning one more alias costs at this size (the engine does this after every verified
    LLM answer): its embedding is cached here, so this is the store write plus the in-memory index update."""
    traces = llmos.memory.traces
    out = []
    for k in range(times):
        n = filler.norms[k]
        key = f"{n.key} (alias {filler.count}-{k})"
        llmos.memory.embedder.one(key)
        t = time.perf_counter()
        traces.add_alias("syn0000000", key, n.terms)
        out.append((time.perf_counter() - t) * 1000)
    traces.search(llmos.memory.embedder.one("index load"), k=8)
    return out


def catch_up_ms(llmos: LLMOS, filler: Filler, times: int = 5) -> tuple[list[float], float]:
    """What this kernel's next lookup spends catching up after another kernel learned one alias (the row is
    written through SQL, as that kernel would, outside the timing); and a full index load by a fresh
    TraceStore, which is what a deletion elsewhere (`forget`, an old home re-keyed) costs instead."""
    from llmos_jupyter.memory.traces import TraceStore

    traces = llmos.memory.traces
    probe = llmos.memory.embedder.one("index load")
    traces.search(probe, k=8)
    out = []
    for k in range(times):
        with llmos.store.transaction() as cur:
            cur.execute("INSERT INTO aliases (trace_id, template, terms, embedding) VALUES (?,?,?,?)",
                        ("syn0000000", f"another kernel's alias {filler.count}-{k}", "[]",
                         llmos.store.vector(filler._vector(k))))
            cur.execute("UPDATE meta SET value = value + 1 WHERE key = 'memory_version'")
        t = time.perf_counter()
        traces.search(probe, k=8)
        out.append((time.perf_counter() - t) * 1000)
    fresh = TraceStore(llmos.store, llmos.memory.embedder)
    t = time.perf_counter()
    fresh.search(probe, k=8)
    return out, time.perf_counter() - t


def pct(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(round(q / 100 * (len(s) - 1))))]


def measure(llmos: LLMOS, requests: list[str], *, cold: bool) -> tuple[list[float], dict[str, list[float]], Counter]:
    dispatcher = llmos.dispatcher
    real_traces, real_embedder = dispatcher.traces, dispatcher.embedder
    traces = Timed(real_traces, ("search", "any", "get"))
    totals: list[float] = []
    phases: dict[str, list[float]] = defaultdict(list)
    modes: Counter = Counter()
    try:
        dispatcher.traces = traces
        if not cold:  # the cached pass: every request's template is already in the embedding cache
            real_embedder.encode([normalize(text).key for text in requests])
        warm = Timed(real_embedder, ("one",))
        for text in requests:
            embedder = Timed(Embedder(), ("one",)) if cold else warm
            dispatcher.embedder = embedder
            traces.spent.clear()
            embedder.spent.clear()
            t = time.perf_counter()
            n = normalize(text)
            t_norm = time.perf_counter()
            decision = dispatcher.choose(n)
            end = time.perf_counter()
            total = (end - t) * 1000
            totals.append(total)
            modes[str(decision.mode)] += 1
            phases["normalize"].append((t_norm - t) * 1000)
            phases["embed"].append(embedder.spent["one"])
            phases["search"].append(traces.spent["search"])
            phases["count"].append(traces.spent["any"])
            phases["get"].append(traces.spent["get"])
            phases["bind"].append((end - t_norm) * 1000 - sum(
                (embedder.spent["one"], traces.spent["search"], traces.spent["any"], traces.spent["get"])))
    finally:
        dispatcher.traces, dispatcher.embedder = real_traces, real_embedder
    return totals, phases, modes


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="1,000 and 10,000 traces, 200 requests, 1,000 templates")
    ap.add_argument("--requests", type=int, help="requests measured per size (default 240; 200 with --quick)")
    ap.add_argument("--templates", type=int, help="distinct templates encoded for the fill (default 2,000; "
                    "1,000 with --quick)")
    ap.add_argument("--seed", type=int, default=11)
    args = ap.parse_args()
    sizes = [1_000, 10_000] if args.quick else [1_000, 10_000, 100_000]
    args.requests = args.requests or (200 if args.quick else 240)
    args.templates = args.templates or (1000 if args.quick else 2000)
    rng = random.Random(args.seed)
    load_before = " / ".join(f"{x:.2f}" for x in os.getloadavg())

    with tempfile.TemporaryDirectory(prefix="llmos-dispatch-") as tmp:
        llmos = LLMOS(home=Path(tmp) / "home", provider="openai", base_url="http://127.0.0.1:9/v1", api_key="x",
                      starter_skills=False, stream=False)
        try:
            llmos.memory.ready()
            embedder = llmos.memory.embedder
            embedder.one("warm up the embedding model")
            filler = Filler(llmos, embedder, rng, args.templates)
            requests = [rng.choice(NOVEL).format(n=rng.randint(2, 9), k=rng.randint(2, 9))
                        if rng.random() < 0.15 else request(rng) for _ in range(args.requests)]
            warmups = [request(rng) for _ in range(10)]
            print(f"## Dispatch overhead (normalize + embed + lookup + choose), CPU, {args.requests} requests "
                  f"per size ({len(set(requests))} distinct, {len({normalize(r).key for r in requests})} distinct "
                  f"templates)\n")
            print(f"Fill: {len(filler.norms)} distinct templates encoded with the real model in "
                  f"{filler.encode_s:.1f} s; every trace takes one (every fifth gets a second alias), its vector "
                  "perturbed (N(0, σ) per dimension, σ uniform in [0, 0.03], renormalized); rows inserted with "
                  "executemany into "
                  "`traces` and `aliases` in one transaction per size, `memory_version` bumped. Cold = a fresh "
                  "embedding cache for every request; cached = the same requests again.\n")
            rows = []
            for size in sizes:
                fill_s = filler.fill(size)
                t = time.perf_counter()
                llmos.memory.traces.search(embedder.one("index load"), k=8)  # reloads the index from SQLite
                load_s = time.perf_counter() - t
                measure(llmos, warmups, cold=False)
                cold, cold_phases, modes = measure(llmos, requests, cold=True)
                cached, cached_phases, _ = measure(llmos, requests, cold=False)
                with threadpool_limits(limits=1, user_api="blas"):
                    one_blas, _, _ = measure(llmos, requests, cold=True)
                learn_ms = add_alias_ms(llmos, filler)
                catch_ms, full_s = catch_up_ms(llmos, filler)
                rows.append((size, filler.aliases, fill_s, load_s, cold, cold_phases, cached, cached_phases, modes,
                             one_blas, learn_ms, catch_ms, full_s))
                print(f"  … {size:,} traces measured", file=sys.stderr, flush=True)
        finally:
            llmos.close()

    print(f"Machine: {os.cpu_count()} CPUs; load average {load_before} before, "
          f"{' / '.join(f'{x:.2f}' for x in os.getloadavg())} after (other work on the machine inflates these "
          "timings).\n")
    print("| traces | aliases | cold p50 ms | cold p95 ms | cached p50 ms | cached p95 ms "
          "| cold p50 / p95, numpy BLAS 1 thread | fill s | index load s | modes chosen |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    for size, aliases, fill_s, load_s, cold, _, cached, _, modes, one_blas, *_ in rows:
        mix = ", ".join(f"{m} {c}" for m, c in sorted(modes.items()))
        print(f"| {size:,} | {aliases:,} | {pct(cold, 50):.1f} | {pct(cold, 95):.1f} | {pct(cached, 50):.1f} | "
              f"{pct(cached, 95):.1f} | {pct(one_blas, 50):.1f} / {pct(one_blas, 95):.1f} | {fill_s:.1f} | "
              f"{load_s:.2f} | {mix} |")

    print("\n### Where the time goes (p50 ms per phase; cold / cached)\n")
    print("| traces | normalize | embed | search (lookup) | count | get | bind + decide "
          "| learning one alias (add_alias, cached embed) | catching up on another kernel's alias "
          "| full index load (after a deletion elsewhere) |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for size, _, _, _, _, cp, _, kp, _, _, learn_ms, catch_ms, full_s in rows:
        cells = [f"{statistics.median(cp[p]):.2f} / {statistics.median(kp[p]):.2f}"
                 for p in ("normalize", "embed", "search", "count", "get", "bind")]
        print(f"| {size:,} | " + " | ".join(cells) + f" | {statistics.median(learn_ms):.1f} | "
              f"{statistics.median(catch_ms):.1f} ms | {full_s:.2f} s |")

    at10k = next((r for r in rows if r[0] == 10_000), None)
    if at10k:
        p50 = pct(at10k[4], 50)
        print(f"\nTarget p50 ≤ 30 ms at 10,000 traces (cold embed): {'met' if p50 <= 30 else 'NOT met'} "
              f"({p50:.1f} ms; cached {pct(at10k[6], 50):.1f} ms).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
