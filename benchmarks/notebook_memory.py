"""Peak memory of a demo notebook run top to bottom: its kernel plus every process the kernel started (the
sandboxed worker: its template and the children programs run in), in PSS where readable, sampled every 50 ms.
Binder gives a notebook about 2 GB; keep a margin under it.

    python benchmarks/notebook_memory.py [notebooks/quickstart.ipynb ...] [--with-skipped]

`--with-skipped` also runs cells tagged nbval-skip (the quickstart's local-model cell, about a minute).
"""
from __future__ import annotations

import argparse
import os
import threading
import time
from pathlib import Path

import nbformat
import psutil
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
KEYS = ("ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN", "OPENAI_API_KEY", "ANTHROPIC_BASE_URL", "OPENAI_BASE_URL")


def _memory(proc: psutil.Process) -> int:
    """PSS where it can be read (the worker's programs run in children forked from one template, and the pages
    they share are counted once among them), else RSS (which counts a shared page in every process)."""
    try:
        return proc.memory_full_info().pss
    except (psutil.AccessDenied, AttributeError):
        return proc.memory_info().rss


def tree_rss(pid: int) -> tuple[int, int]:
    """(the kernel's memory, that of everything it started) in bytes."""
    try:
        proc = psutil.Process(pid)
        own = _memory(proc)
        children = 0
        for child in proc.children(recursive=True):
            try:
                children += _memory(child)
            except psutil.Error:
                continue  # a clean run's process that ended between the listing and the reading
        return own, children
    except psutil.Error:
        return 0, 0


def run(path: Path, with_skipped: bool) -> dict:
    nb = nbformat.read(path, as_version=4)
    if not with_skipped:
        nb.cells = [c for c in nb.cells if "nbval-skip" not in c.metadata.get("tags", [])]
    for key in KEYS:
        os.environ.pop(key, None)
    os.environ.update(HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
    client = NotebookClient(nb, timeout=900, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}})
    peak = {"kernel": 0, "children": 0, "total": 0}
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            km = client.km
            pid = getattr(getattr(km, "provisioner", None), "pid", None) if km else None
            if pid:
                own, children = tree_rss(pid)
                peak["kernel"], peak["children"] = max(peak["kernel"], own), max(peak["children"], children)
                peak["total"] = max(peak["total"], own + children)
            time.sleep(0.05)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    started = time.perf_counter()
    try:
        client.execute()
    finally:
        stop.set()
        sampler.join()
    return {**peak, "seconds": time.perf_counter() - started, "cells": len(nb.cells)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("notebooks", nargs="*", type=Path, default=[ROOT / "notebooks" / "quickstart.ipynb"])
    ap.add_argument("--with-skipped", action="store_true")
    args = ap.parse_args()
    mb = 1 / 2**20
    print("| notebook | cells | kernel peak MB | worker(s) peak MB | together peak MB | seconds |")
    print("|---|---:|---:|---:|---:|---:|")
    for path in args.notebooks:
        r = run(path.resolve(), args.with_skipped)
        print(f"| {path.name}{' (all cells)' if args.with_skipped else ''} | {r['cells']} | {r['kernel'] * mb:.0f} "
              f"| {r['children'] * mb:.0f} | {r['total'] * mb:.0f} | {r['seconds']:.0f} |", flush=True)


if __name__ == "__main__":
    main()
