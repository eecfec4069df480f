"""Four processes (kernels) sharing one home, N requests each: nothing lost, nothing doubled.

    python benchmarks/concurrency.py [--requests 500] [--processes 4]

Each process runs `llmos_jupyter.testing.concurrency_worker` (GHZ requests over 2-5 qubits, so
traces are learned, generalized and replayed concurrently) against one scripted LLM server with a
fixed bill of 100 + 10 tokens per call. Prints the totals the ledger and memory hold against what
the server saw.
"""
import argparse
import json
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from llmos_jupyter import LLMOS
from llmos_jupyter.testing import ScriptedLLMServer
from llmos_jupyter.testing.qiskit_model import respond


def fixed(req):
    reply = respond(req)
    reply.input_tokens, reply.output_tokens = 100, 10
    return reply


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--requests", type=int, default=500)
    ap.add_argument("--processes", type=int, default=4)
    args = ap.parse_args()
    home = Path(tempfile.mkdtemp(prefix="llmos-concurrency-"))
    LLMOS(home=home, starter_skills=False).close()
    with ScriptedLLMServer() as srv:
        srv.responder = fixed
        started = time.perf_counter()
        procs = [subprocess.Popen([sys.executable, "-m", "llmos_jupyter.testing.concurrency_worker", str(home),
                                   srv.openai_base_url, str(w), str(args.requests)], stdout=subprocess.PIPE,
                                  text=True) for w in range(args.processes)]
        reports = [json.loads(p.communicate()[0].strip().splitlines()[-1]) for p in procs]
        elapsed = time.perf_counter() - started
        served = len(srv.requests)
    db = sqlite3.connect(home / "llmos.db")
    requests = db.execute("SELECT COUNT(*) FROM requests").fetchone()[0]
    calls, tin, tout = db.execute("SELECT COUNT(*), SUM(input_tokens), SUM(output_tokens) FROM llm_calls").fetchone()
    doubled = db.execute("SELECT COUNT(*) FROM (SELECT shape FROM traces GROUP BY shape HAVING COUNT(*) > 1)").fetchone()[0]
    uses = db.execute("SELECT SUM(uses) FROM traces").fetchone()[0]
    modes: dict[str, int] = {}
    for r in reports:
        for k, v in r["modes"].items():
            modes[k] = modes.get(k, 0) + v
    errors = sum(len(r["errors"]) for r in reports)
    print(f"| processes | requests each | requests in ledger | LLM calls served / in ledger | billed tokens "
          f"(expected) | traces stored twice | verified uses / answers | errors | wall s |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    print(f"| {args.processes} | {args.requests} | {requests} | {served} / {calls} | {tin + tout:,} "
          f"({110 * served:,}) | {doubled} | {uses} / {sum(modes.values())} | {errors} | {elapsed:.0f} |")
    print("\nmodes:", json.dumps(modes))


if __name__ == "__main__":
    main()
