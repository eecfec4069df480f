"""Stage 5, execute: run the program where the runner says (the sandboxed worker, or the kernel when the
user chose it) and capture what it produced."""
from __future__ import annotations

import time
from typing import Any

from ..events import EventBus, Executed, ExecutionStarted, Status
from .records import Answer, Run
from .runners import KernelRunner, WorkerRunner


def still_running(seconds: float) -> str:
    return (f"Still running ({seconds:.0f} s). To stop it, interrupt the kernel (the \u25a0 button, or "
            "Kernel > Interrupt).")


def run_saying_so(runner: KernelRunner | WorkerRunner, code: str, namespace: dict[str, Any], request_id: str,
                  events: EventBus, *, bounded: bool, clean: bool = False):
    """runner.run, publishing a Status line while a long run goes on and an empty one (the line goes) after."""
    said: list[float] = []

    def on_still_running(seconds: float) -> None:
        said.append(seconds)
        events.publish(Status(request_id, still_running(seconds)))

    try:
        return runner.run(code, namespace, bounded=bounded, on_still_running=on_still_running, clean=clean)
    finally:
        if said:
            events.publish(Status(request_id, ""))


def execute(answer: Answer, namespace: dict[str, Any], request_id: str, events: EventBus,
            runner: KernelRunner | WorkerRunner, *, bounded: bool = True, clean: bool = False) -> Run:
    """`bounded`: a replay keeps the runner's timeout; the cell's own new program (False) runs until it finishes
    or the user interrupts it, with a Status line saying it is still running. `clean`: a verified replay runs in
    a clean process of the worker's, never beside what earlier programs changed."""
    events.publish(ExecutionStarted(request_id))
    started = time.perf_counter()
    ran = run_saying_so(runner, f"{answer.setup}\n\n{answer.code}" if answer.setup else answer.code, namespace,
                        request_id, events, bounded=bounded, clean=clean)
    ms = (time.perf_counter() - started) * 1000
    events.publish(Executed(request_id, ran.output, ran.error, ran.counts))
    protections = {**ran.protections, **({"left_in_worker": list(ran.left_behind)} if ran.left_behind else {})}
    return Run(executed=True, output=ran.output, error=ran.error, counts=ran.counts, shots=ran.shots, ms=ms,
               produced=ran.produced, value=ran.value, figures=ran.figures, saved=ran.saved, protections=protections,
               notice="\n".join(ran.notices) or None)


def not_run(reason: str) -> Run:
    return Run(executed=False, notice=reason)
