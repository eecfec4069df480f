"""Where a program runs: the sandboxed worker (llmos_jupyter.sandbox) or the user's kernel (--trust,
`execution = "kernel"`). Both take the code and the user's namespace, put what the program defined into
that namespace, and report what it did."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

IN_KERNEL = {"where": "kernel", "process": False,
             "note": "ran in your kernel, beside your API keys (--trust or execution = 'kernel')"}


@dataclass
class Ran:
    """What a runner reports of one run."""
    output: str = ""
    error: str | None = None
    counts: dict[str, int] | None = None
    shots: int | None = None
    produced: dict[str, Any] = field(default_factory=dict)
    value: Any = None
    figures: tuple[bytes, ...] = ()
    left_behind: tuple[str, ...] = ()
    protections: dict[str, Any] = field(default_factory=dict)
    notices: tuple[str, ...] = ()


class KernelRunner:
    where = "kernel"

    def start(self) -> None:
        """Nothing to start: programs run in the kernel's own process."""

    def run(self, code: str, namespace: dict[str, Any], session: str | None = None) -> Ran:
        from ..tools.qiskit_exec import run_code  # imports qiskit-aer on first use

        e = run_code(code, namespace)
        return Ran(e.output, e.error, e.counts, e.shots, e.produced.to_json(), e.value, protections=IN_KERNEL)


class WorkerRunner:
    """The sandboxed worker, started on first use and kept warm; one session per kernel, so names defined
    by one cell are there for the next, as in a notebook."""
    where = "worker"

    def __init__(self, *, protect: tuple[Path, ...], outputs: Path, timeout: float):
        self._options = {"protect": protect, "outputs": outputs, "timeout": timeout}
        self._box = None
        self._told: set[str] = set()

    def _sandbox(self):
        if self._box is None:
            from ..sandbox import Sandbox

            self._box = Sandbox(**self._options)
        return self._box

    def start(self) -> None:
        """Start the worker in the background (the first request starts it while the memory loads)."""
        self._sandbox().start()

    def run(self, code: str, namespace: dict[str, Any], session: str | None = None) -> Ran:
        """`session`: a namespace of the worker's own ("user" by default: the cells' shared one)."""
        r = self._sandbox().run(code, session=session or "user")
        namespace.update(r.namespace)
        fresh = tuple(n for n in self._box.notices if n not in self._told)  # each degradation said once
        self._told.update(fresh)
        return Ran(r.output, r.error, r.counts, r.shots, r.produced, r.value, tuple(r.figures), tuple(r.left_behind),
                   {"where": "worker", **r.protections}, fresh)

    def restart(self) -> None:
        """A fresh worker: after a program the guard flagged, so whatever it patched in the worker's libraries
        cannot reach later runs (the names earlier cells defined there go with it)."""
        if self._box is not None:
            self._box.restart()

    def close(self) -> None:
        if self._box is not None:
            self._box.close()
            self._box = None
