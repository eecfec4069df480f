"""Stage 5, execute: run the program where the runner says (the sandboxed worker, or the kernel when the
user chose it) and capture what it produced."""
from __future__ import annotations

import time
from typing import Any

from ..events import EventBus, Executed, ExecutionStarted
from .records import Answer, Run
from .runners import KernelRunner, WorkerRunner


def execute(answer: Answer, namespace: dict[str, Any], request_id: str, events: EventBus,
            runner: KernelRunner | WorkerRunner) -> Run:
    events.publish(ExecutionStarted(request_id))
    started = time.perf_counter()
    ran = runner.run(f"{answer.setup}\n\n{answer.code}" if answer.setup else answer.code, namespace)
    ms = (time.perf_counter() - started) * 1000
    events.publish(Executed(request_id, ran.output, ran.error, ran.counts))
    protections = {**ran.protections, **({"left_in_worker": list(ran.left_behind)} if ran.left_behind else {})}
    return Run(executed=True, output=ran.output, error=ran.error, counts=ran.counts, shots=ran.shots, ms=ms,
               produced=ran.produced, value=ran.value, figures=ran.figures, saved=ran.saved, protections=protections,
               notice="\n".join(ran.notices) or None)


def not_run(reason: str) -> Run:
    return Run(executed=False, notice=reason)
