"""Run a program in a namespace and capture what it did: output, traceback, Aer counts, and what it
produced (a last expression's value, the names it defined, figures: produced.py).

Counts come from the Aer jobs themselves: while the program runs, `AerJob.result`
is wrapped so every result it hands out is recorded. The primitives (SamplerV2)
go through the same jobs, so they are seen too.
"""
from __future__ import annotations

import contextlib
import io
import itertools
import linecache
import sys
import threading
import ast
import traceback
from dataclasses import dataclass, field
from typing import Any

from .produced import Produced, open_figures, produced, snapshot

_cell_numbers = itertools.count(1)
_patch_lock = threading.Lock()


@dataclass
class Execution:
    output: str = ""
    error: str | None = None  # formatted traceback
    error_type: str | None = None
    counts: dict[str, int] | None = None  # of the last Aer job that measured
    shots: int | None = None
    jobs: list[dict[str, Any]] = field(default_factory=list)  # one entry per Aer result seen
    produced: Produced = field(default_factory=Produced)
    value: Any = None  # the last expression's value, as a notebook cell would show it


class _Tee(io.TextIOBase):
    """Keep a copy of what the program prints and still show it live."""

    def __init__(self, *targets):
        self.targets = [t for t in targets if t is not None]

    def write(self, s: str) -> int:
        for t in self.targets:
            t.write(s)
        return len(s)

    def flush(self) -> None:
        for t in self.targets:
            with contextlib.suppress(Exception):
                t.flush()


@contextlib.contextmanager
def _record_aer_results(sink: list):
    from qiskit_aer.jobs import AerJob

    with _patch_lock:
        original = AerJob.result

        def result(self, *args, **kwargs):
            res = original(self, *args, **kwargs)
            sink.append(res)
            return res

        AerJob.result = result
        try:
            yield
        finally:
            AerJob.result = original


def _summaries(results: list) -> list[dict[str, Any]]:
    jobs = []
    for res in results:
        for index, exp in enumerate(getattr(res, "results", [])):
            try:
                counts = {str(k): int(v) for k, v in res.get_counts(index).items()}
            except Exception:  # noqa: BLE001 - an experiment without measurements has no counts
                counts = None
            if counts is not None and not any(counts.values()):
                counts = None  # Aer reports all-zero counts for a circuit that measured nothing
            jobs.append({"shots": getattr(exp, "shots", None), "counts": counts})
    return jobs


def run_code(code: str, namespace: dict[str, Any], *, echo: bool = False) -> Execution:
    """Execute `code` in `namespace`. With `echo`, printed output also reaches the real stdout."""
    filename = f"<llmos-cell-{next(_cell_numbers)}>"
    # Registering the source lets tracebacks show the offending lines.
    linecache.cache[filename] = (len(code), None, code.splitlines(True), filename)
    buffer = io.StringIO()
    out = _Tee(buffer, sys.stdout if echo else None)
    err = _Tee(buffer, sys.stderr if echo else None)
    results: list = []
    execution = Execution()
    try:
        body, last = _split_last_expression(code, filename)
    except SyntaxError as exc:
        execution.error = "".join(traceback.format_exception_only(type(exc), exc))
        execution.error_type = "SyntaxError"
        return execution
    namespace.setdefault("__name__", "__main__")
    before, figures_before = snapshot(namespace), open_figures()
    value = None
    try:
        with _record_aer_results(results), contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            exec(body, namespace)  # noqa: S102 - running the answer is the point
            if last is not None:
                value = eval(last, namespace)  # noqa: S307 - the program's own last expression
    except KeyboardInterrupt:
        execution.error = "KeyboardInterrupt: the program was interrupted."
        execution.error_type = "KeyboardInterrupt"
    except BaseException as exc:  # noqa: BLE001 - SystemExit from a program must not end the kernel
        tb = exc.__traceback__
        # Drop this function's own frame so the traceback starts in the user's program.
        if tb is not None and tb.tb_next is not None:
            tb = tb.tb_next
        execution.error = "".join(traceback.format_exception(type(exc), exc, tb))
        execution.error_type = type(exc).__name__
    execution.output = buffer.getvalue()
    execution.value = value
    execution.produced = produced(namespace, before, figures_before, value, last is not None)
    execution.jobs = _summaries(results)
    measured = [j for j in execution.jobs if j["counts"]]
    if measured:
        execution.counts = measured[-1]["counts"]
        execution.shots = measured[-1]["shots"] or sum(measured[-1]["counts"].values())
    return execution


def _split_last_expression(code: str, filename: str):
    """(the program without its last statement when that is an expression, that expression), compiled: a
    cell's last expression is its value, as in a notebook."""
    tree = ast.parse(code, filename)
    if tree.body and isinstance(tree.body[-1], ast.Expr) and not _is_call_of(tree.body[-1].value, "print"):
        last = ast.Expression(tree.body.pop().value)
        return _compile(tree, filename, "exec"), _compile(last, filename, "eval")
    return _compile(tree, filename, "exec"), None


def _compile(tree: ast.AST, filename: str, mode: str):
    # dont_inherit: this module's `from __future__ import annotations` must not change the program's meaning.
    return compile(tree, filename, mode, dont_inherit=True)


def _is_call_of(node: ast.AST, name: str) -> bool:
    return isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == name
