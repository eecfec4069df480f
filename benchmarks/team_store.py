"""A team's store under load: PostgreSQL with pgvector (a real server from the pgserver wheel) beside SQLite.

What it measures, each printed as a table
    1. Many kernels, one store: P processes x R requests through `LLMOS.run` (the scripted OpenAI-format server
       answers LEARNER calls over real HTTP; programs run on Aer in the kernel, execution = "kernel", so the
       store is what is measured). Afterwards: every request the kernels made has exactly one ledger row
       (nothing lost, nothing twice), the tokens the ledger billed equal the tokens the kernels' Results billed,
       every trace is one program (no duplicate shapes), and the uses and misses the store counted equal the
       learn and replay events the kernels reported.
    2. Following: two kernels (processes) on one store. One stores K verified traces (TraceStore.add, one
       transaction each); the other dispatches each trace's request in a loop until its decision replays that
       trace. Time from the writer's commit to the reader's decision, per backend.
    3. kill -9 of a writer mid-transaction: a process writes transactions of (a billed call, its request row, one
       more use of a trace) and logs each id after its commit; it is killed with SIGKILL at a random moment, K
       times. Afterwards every logged id is in the store, and calls == requests == uses (no half transaction).
    4. Dispatch overhead (normalize + embed + lookup + choose) at 10,000 and 100,000 traces, PostgreSQL (HNSW in
       SQL) vs SQLite (in-memory matrix), on the same synthetic traces and requests as
       benchmarks/dispatch_overhead.py; and whether both chose the same mode and trace for every request.

    python benchmarks/team_store.py [--quick] [--processes P] [--requests R] [--sizes 10000,100000]
"""
from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import random
import signal
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def pct(values, q):
    s = sorted(values)
    return s[min(len(s) - 1, int(round(q / 100 * (len(s) - 1))))] if s else float("nan")


# -- 1. many kernels ------------------------------------------------------------------------------------------
def team_requests(rng: random.Random, n: int) -> list[str]:
    """What a group asks of the scripted model's families, with new sizes, bits and shots."""
    out = []
    for _ in range(n):
        k, bits = rng.randint(2, 6), "".join(rng.choice("01") for _ in range(rng.randint(2, 5)))
        shots = rng.choice(["", "", f" with {rng.choice([256, 512, 2048])} shots"])
        out.append(rng.choice([f"Create a GHZ state with {k} qubits", f"Prepare a W state on {k} qubits",
                               "Prepare a Bell state", f"Prepare the basis state |{bits}>",
                               f"Create a uniform superposition over {k} qubits",
                               f"Run Bernstein-Vazirani with secret {bits}"]) + shots)
    return out


def kernel(url: str, home: str, member: str, base_url: str, requests: list[str], out: str) -> None:
    from llmos_jupyter import LLMOS

    llmos = LLMOS(home=home, store=url, member=member, provider="openai", base_url=base_url, api_key="test-key",
                  stream=False, execution="kernel", starter_skills=False, max_retries=0)
    ids, billed, events, modes, errors = [], 0, 0, {}, 0
    for text in requests:
        r = llmos.run(text)
        ids.append(r.request_id)
        billed += r.tokens.input + r.tokens.output
        modes[str(r.mode)] = modes.get(str(r.mode), 0) + 1
        errors += r.error is not None
        # What the store must have counted: an answer learned (a use), a replay run (a use or a miss), and a
        # replay that missed before the answer that replaced it was learned.
        events += bool(r.why.get("learned")) + bool(r.why.get("fallback"))
        events += str(r.mode) in ("FOLLOWER", "CRYSTALLIZED") and r.executed
    llmos.close()
    Path(out).write_text(json.dumps({"ids": ids, "billed": billed, "events": events, "modes": modes,
                                     "errors": errors}))


def many_kernels(url: str, processes: int, requests: int, tmp: Path) -> None:
    from llmos_jupyter.store import open_store
    from llmos_jupyter.testing import ScriptedLLMServer
    from llmos_jupyter.testing.qiskit_model import respond

    ctx = mp.get_context("spawn")
    with ScriptedLLMServer() as server:
        server.responder = respond
        rng = random.Random(7)
        started = time.perf_counter()
        jobs = [ctx.Process(target=kernel, args=(url, str(tmp / f"k{p}"), f"member{p}", server.openai_base_url,
                                                 team_requests(rng, requests), str(tmp / f"k{p}.json")))
                for p in range(processes)]
        for job in jobs:
            job.start()
        for job in jobs:
            job.join()
        wall = time.perf_counter() - started
    reports = [json.loads((tmp / f"k{p}.json").read_text()) for p in range(processes)]
    store = open_store(url, tmp)
    ids = [i for r in reports for i in r["ids"]]
    rows = store.query("SELECT id, member FROM requests")
    stored = [r["id"] for r in rows]
    billed = store.query("SELECT COALESCE(SUM(input_tokens + output_tokens), 0) FROM llm_calls")[0][0]
    traces = store.query("SELECT COUNT(*), COUNT(DISTINCT shape), COALESCE(SUM(uses + misses), 0) FROM traces")[0]
    per_member = dict(store.query("SELECT member, COUNT(*) FROM requests GROUP BY member"))
    store.close()
    modes: dict[str, int] = {}
    for r in reports:
        for m, c in r["modes"].items():
            modes[m] = modes.get(m, 0) + c
    print(f"### 1. {processes} kernels x {requests} requests on one {store.kind} store ({wall:.0f} s wall, "
          f"{len(ids) / wall:.1f} requests/s)\n")
    print("| check | kernels reported | store holds | |")
    print("|---|---:|---:|---|")
    lost, twice = len(set(ids) - set(stored)), len(stored) - len(set(stored))
    print(f"| requests (one ledger row each) | {len(ids):,} | {len(stored):,} | lost {lost}, twice {twice} |")
    print(f"| requests per member | {', '.join(str(len(r['ids'])) for r in reports)} | "
          f"{', '.join(str(per_member.get(f'member{p}', 0)) for p in range(processes))} | |")
    total_billed = sum(r["billed"] for r in reports)
    print(f"| tokens billed | {total_billed:,} | {int(billed):,} | {'equal' if total_billed == billed else 'DIFFER'} |")
    events = sum(r["events"] for r in reports)
    print(f"| learn + replay events (uses + misses) | {events:,} | {int(traces[2]):,} | "
          f"{'equal' if events == traces[2] else 'DIFFER'} |")
    print(f"| traces / distinct programs | | {traces[0]} / {traces[1]} | "
          f"{'no duplicate' if traces[0] == traces[1] else 'DUPLICATES'} |")
    print(f"| errors in results | {sum(r['errors'] for r in reports)} | | |")
    print(f"\nModes: {', '.join(f'{m} {c}' for m, c in sorted(modes.items()))}\n")


# -- 2. following ---------------------------------------------------------------------------------------------
def follower(url: str, home: str, texts: list[str], ready, out: str) -> None:
    """The reading kernel: dispatches request i until it replays the trace learned from it."""
    from llmos_jupyter import LLMOS
    from llmos_jupyter.text.normalize import normalize

    llmos = LLMOS(home=home, store=url, member="reader", provider="openai", base_url="http://127.0.0.1:9/v1",
                  api_key="x", stream=False, starter_skills=False)
    llmos.memory.ready()
    llmos.memory.embedder.encode([normalize(t).key for t in texts])  # embeddings cached: the lookup is measured
    llmos.dispatcher.choose(normalize("warm up"))
    ready.set()
    seen = []
    for i, text in enumerate(texts):
        n = normalize(text)
        while True:
            decision = llmos.dispatcher.choose(n)
            if decision.trace is not None and decision.trace.request == n.text and decision.mode.name in (
                    "FOLLOWER", "CRYSTALLIZED"):
                seen.append(time.time())
                break
    llmos.close()
    Path(out).write_text(json.dumps(seen))


def following(url: str, kind: str, skills: int, tmp: Path) -> list[float]:
    from dispatch_overhead import distinct_templates

    from llmos_jupyter.pipeline.dispatcher import request_values
    from llmos_jupyter.text.normalize import normalize
    from llmos_jupyter.memory.embed import Embedder
    from llmos_jupyter.memory.learn import learn
    from llmos_jupyter.memory.traces import TraceStore
    from llmos_jupyter.store import open_store
    from llmos_jupyter.testing.qiskit_model import program

    texts = [t for t in distinct_templates(random.Random(3), skills * 20) if program(t)][:skills]
    ctx = mp.get_context("spawn")
    ready = ctx.Event()
    tmp.mkdir(parents=True, exist_ok=True)
    out = tmp / f"follow-{kind}.json"
    reader = ctx.Process(target=follower, args=(url, str(tmp / "reader"), texts, ready, str(out)))
    reader.start()
    store = open_store(url, tmp)
    embedder = Embedder()
    embedder.encode([normalize(t).key for t in texts])
    traces = TraceStore(store, embedder, "writer")
    ready.wait(300)
    committed = []
    for i, text in enumerate(texts):
        time.sleep(random.uniform(0.05, 0.15))
        n = normalize(text)
        code = program(text) + f"skill_{i} = {i}\n"  # a program of its own per skill: never merged into another
        learn(traces, n, request_values(n), code, None, origin="learner", billed_tokens=400)
        committed.append(time.time())  # learn returns after its transaction committed
    reader.join(300)
    store.close()
    seen = json.loads(out.read_text())
    return [(s - c) * 1000 for s, c in zip(seen, committed)]


# -- 3. kill -9 -----------------------------------------------------------------------------------------------
def writer(url: str, home: str, log: str) -> None:
    from llmos_jupyter.store import open_store

    store = open_store(url, home)
    with open(log, "a") as f:
        i = 0
        while True:
            rid = f"{os.getpid()}-{i}"
            with store.transaction() as cur:
                cur.execute("INSERT INTO llm_calls (request_id, ts, provider, model, input_tokens, output_tokens,"
                            " cache_read_tokens, cache_write_tokens, usage_reported, member) VALUES"
                            " (?, ?, 'openai', 'm', 10, 5, 0, 0, 1, 'writer')", (rid, time.time()))
                cur.execute("INSERT INTO requests (id, ts, request, mode, ok, member) VALUES"
                            " (?, ?, 'r', 'LEARNER', 1, 'writer')", (rid, time.time()))
                cur.select_for_update("SELECT uses FROM traces WHERE id = 'killed'")
                cur.execute("UPDATE traces SET uses = uses + 1 WHERE id = 'killed'")
            f.write(rid + "\n")
            f.flush()
            os.fsync(f.fileno())
            i += 1


def kill_nine(url: str, kind: str, kills: int, tmp: Path) -> dict:
    from llmos_jupyter.store import open_store

    store = open_store(url, tmp)
    with store.transaction() as cur:
        cur.execute("INSERT INTO traces (id, created, updated, origin, title, request, template, signature, code,"
                    " bound, shape, generalized, defaults, examples, checks) VALUES ('killed', 0, 0, 'learner', 't',"
                    " 'r', 'r', '[]', 'print(1)', '[]', 'killed', '[]', '{}', '[]', '[]')")
    ctx = mp.get_context("spawn")
    tmp.mkdir(parents=True, exist_ok=True)
    log = tmp / f"kill-{kind}.log"
    rng = random.Random(5)
    for _ in range(kills):
        job = ctx.Process(target=writer, args=(url, str(tmp / "writer"), str(log)))
        job.start()
        while not log.exists() or log.stat().st_size == 0:
            time.sleep(0.05)
        time.sleep(rng.uniform(0.3, 1.5))
        os.kill(job.pid, signal.SIGKILL)
        job.join()
    logged = set(log.read_text().split())
    calls = {r[0] for r in store.query("SELECT request_id FROM llm_calls WHERE member = 'writer'")}
    requests = {r[0] for r in store.query("SELECT id FROM requests WHERE member = 'writer'")}
    uses = store.query("SELECT uses FROM traces WHERE id = 'killed'")[0][0]
    store.close()
    return {"logged": len(logged), "calls": len(calls), "requests": len(requests), "uses": uses,
            "lost": len(logged - calls), "half": len(calls ^ requests) + abs(len(calls) - uses),
            "unlogged": len(calls - logged)}


# -- 4. dispatch overhead -------------------------------------------------------------------------------------
def dispatch(url: str, sizes: list[int], n_requests: int, templates: int, tmp: Path, kind: str):
    from dispatch_overhead import NOVEL, Filler, request

    from llmos_jupyter import LLMOS
    from llmos_jupyter.text.normalize import normalize

    rng = random.Random(11)  # the same seed for both stores: the same traces, vectors and requests
    llmos = LLMOS(home=tmp / f"dispatch-{kind}", store=url, provider="openai", base_url="http://127.0.0.1:9/v1",
                  api_key="x", starter_skills=False, stream=False)
    out = []
    try:
        llmos.memory.ready()
        embedder = llmos.memory.embedder
        filler = Filler(llmos, embedder, rng, templates)
        requests = [rng.choice(NOVEL).format(n=rng.randint(2, 9), k=rng.randint(2, 9))
                    if rng.random() < 0.15 else request(rng) for _ in range(n_requests)]
        embedder.encode([normalize(t).key for t in requests])
        for size in sizes:
            fill_s = filler.fill(size)
            llmos.dispatcher.choose(normalize("warm up the index"))
            times, chosen = [], []
            for text in requests:
                t = time.perf_counter()
                decision = llmos.dispatcher.choose(normalize(text))
                times.append((time.perf_counter() - t) * 1000)
                chosen.append((str(decision.mode), decision.trace.id if decision.trace else None))
            out.append((size, fill_s, times, chosen))
            print(f"  … {kind}: {size:,} traces measured", file=sys.stderr, flush=True)
    finally:
        llmos.close()
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="2 processes x 40 requests, 1,000 and 10,000 traces")
    ap.add_argument("--processes", type=int)
    ap.add_argument("--requests", type=int)
    ap.add_argument("--sizes", help="trace counts for the dispatch overhead, e.g. 10000,100000")
    ap.add_argument("--skip", default="", help="sections to leave out, e.g. 1,4")
    args = ap.parse_args()
    processes = args.processes or (2 if args.quick else 4)
    requests = args.requests or (40 if args.quick else 500)
    sizes = [int(s) for s in args.sizes.split(",")] if args.sizes else ([1_000, 10_000] if args.quick
                                                                       else [10_000, 100_000])
    skip = set(args.skip.split(",")) - {""}
    import warnings

    warnings.simplefilter("ignore")  # pgserver's platformdirs warns where XDG_RUNTIME_DIR is unset
    import pgserver
    import psycopg

    load = " / ".join(f"{x:.2f}" for x in os.getloadavg())
    with tempfile.TemporaryDirectory(prefix="llmos-team-") as tmp_name:
        tmp = Path(tmp_name)
        server = pgserver.get_server(tmp / "pg", cleanup_mode="stop")
        admin = server.get_uri()

        def database(name: str) -> str:
            with psycopg.connect(admin, autocommit=True) as conn:
                conn.execute(f"CREATE DATABASE {name}")
            return admin.replace("/postgres?", f"/{name}?")

        def sqlite(name: str) -> str:
            return f"sqlite://{tmp / name / 'llmos.db'}"

        try:
            print(f"## Team store: PostgreSQL 16.2 + pgvector 0.6.2 (pgserver, Unix socket) and SQLite, "
                  f"{os.cpu_count()} CPUs, load average {load} at the start\n")
            if "1" not in skip:
                many_kernels(database("many"), processes, requests, tmp / "many")
            if "2" not in skip:
                print("### 2. A skill one kernel stores, seen by another kernel's next dispatch (ms from commit)\n")
                print("| store | skills | p50 ms | p95 ms | max ms |")
                print("|---|---:|---:|---:|---:|")
                for kind, url in (("postgresql", database("follow")), ("sqlite", sqlite("follow"))):
                    lag = following(url, kind, 20 if not args.quick else 8, tmp / f"follow-{kind}")
                    print(f"| {kind} | {len(lag)} | {pct(lag, 50):.1f} | {pct(lag, 95):.1f} | {max(lag):.1f} |")
                print()
            if "3" not in skip:
                print("### 3. kill -9 of a writer mid-transaction\n")
                print("| store | kills | transactions logged as committed | in the store | committed but lost "
                      "| half-written | committed, killed before its log line |")
                print("|---|---:|---:|---:|---:|---:|---:|")
                for kind, url in (("postgresql", database("killed")), ("sqlite", sqlite("killed"))):
                    kills = 3 if args.quick else 10
                    r = kill_nine(url, kind, kills, tmp / f"kill-{kind}")
                    print(f"| {kind} | {kills} | {r['logged']:,} | {r['calls']:,} | {r['lost']} | {r['half']} | "
                          f"{r['unlogged']} |")
                print()
            if "4" not in skip:
                n_requests, templates = (200, 1000) if args.quick else (240, 2000)
                pg = dispatch(database("dispatch"), sizes, n_requests, templates, tmp, "postgresql")
                lite = dispatch(sqlite("dispatch"), sizes, n_requests, templates, tmp, "sqlite")
                print(f"### 4. Dispatch overhead (normalize + lookup + choose; embeddings cached), {n_requests} "
                      "requests per size, same traces and requests in both stores\n")
                print("| traces | PostgreSQL p50 ms | p95 ms | SQLite p50 ms | p95 ms | same mode | same trace "
                      "| fill s (PG / SQLite) |")
                print("|---:|---:|---:|---:|---:|---:|---:|---|")
                for (size, pfill, ptimes, pchosen), (_, lfill, ltimes, lchosen) in zip(pg, lite):
                    same_mode = sum(a[0] == b[0] for a, b in zip(pchosen, lchosen))
                    same_trace = sum(a == b for a, b in zip(pchosen, lchosen))
                    print(f"| {size:,} | {pct(ptimes, 50):.2f} | {pct(ptimes, 95):.2f} | {pct(ltimes, 50):.2f} | "
                          f"{pct(ltimes, 95):.2f} | {same_mode}/{len(pchosen)} | {same_trace}/{len(pchosen)} | "
                          f"{pfill:.0f} / {lfill:.0f} |")
                print()
        finally:
            server.cleanup()
    print(f"Load average at the end: {' / '.join(f'{x:.2f}' for x in os.getloadavg())} (2 CPUs shared with other "
          "work inflate these timings).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
