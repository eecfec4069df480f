"""Run each model's program apart from the others and observe what it computed (behaviour.py).

Every program runs in the sandboxed worker (pipeline/runners.py WorkerRunner), each in a session of its own,
so one program's names never reach another's; the guard (tools/guard.py) reads each first and its findings
travel with the run (the worker, which has no keys and no network, is restarted after a flagged program so
nothing it patched reaches the next). A program that raises, times out or produces nothing is left out of
the weighing by the pipeline and named in the failures.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any, Protocol, Sequence

from .behaviour import Behaviour, script_behaviour


class Runner(Protocol):
    def run(self, code: str, namespace: dict[str, Any], session: str | None = None, *, clean: bool = False) -> Any: ...

    def restart(self) -> None: ...


@dataclass
class ProgramRun:
    label: str
    code: str
    session: str
    error: str | None = None
    output: str = ""
    counts: dict[str, int] | None = None
    behaviour: Behaviour = field(default_factory=Behaviour)
    findings: tuple[str, ...] = ()  # what the guard said about it (it still ran, in the worker)

    @property
    def ok(self) -> bool:
        return self.error is None and bool(self.behaviour)

    def problem(self) -> str:
        """Why it is left out, in a sentence."""
        if self.error is not None:
            last = [line for line in self.error.strip().splitlines() if line.strip()]
            return f"its program failed: {last[-1] if last else self.error}"
        return ("its program ran but produced nothing to compare (no counts, statevector, operator, circuit or "
                "value): have it run the circuit or return its result")

    def to_dict(self) -> dict[str, Any]:
        return {"model": self.label, "ok": self.ok, "error": self.error, "counts": self.counts,
                "kinds": self.behaviour.kinds(), "guard": list(self.findings), "session": self.session}


def run_apart(programs: Sequence[tuple[str, str]], runner: Runner, *, run_id: str | None = None) -> list[ProgramRun]:
    """Run each (label, code) in its own worker session; returns one ProgramRun per program, in order."""
    from ..tools.guard import check

    run_id = run_id or uuid.uuid4().hex[:12]
    out = []
    for i, (label, code) in enumerate(programs):
        verdict = check(code)
        findings = () if verdict.ok else tuple(str(f) for f in verdict.findings)
        session = f"consensus-{run_id}-{i}"
        namespace: dict[str, Any] = {}
        ran = runner.run(code, namespace, session=session, clean=True)  # a process of its own, ended after
        behaviour = Behaviour()
        if ran.error is None:
            try:
                behaviour = script_behaviour(ran.counts, namespace, ran.value)
            except Exception as exc:  # noqa: BLE001 - a value we cannot read is this program's failure, not the run's
                ran_error = f"{type(exc).__name__}: {exc}"
                out.append(ProgramRun(label, code, session, error=ran_error, output=ran.output, findings=findings))
                continue
        out.append(ProgramRun(label, code, session, error=ran.error, output=ran.output, counts=ran.counts,
                              behaviour=behaviour, findings=findings))
    return out
